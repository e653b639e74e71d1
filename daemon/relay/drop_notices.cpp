#include "drop_notices.hpp"

#include <fmt/format.h>

namespace zrelay {

std::string_view drop_reason_name(std::size_t reason) noexcept {
    return reason == drain_deadline ? std::string_view("drain_deadline")
                                    : to_string(static_cast<invalid_reason>(reason));
}

std::optional<drop_notices::notice> drop_notices::due(const drop_totals &totals,
                                                      clock::time_point now) const noexcept {
    for (std::size_t r = 0; r < drop_reason_count; ++r) {
        if (totals[r] <= _notified[r])
            continue;
        if (_last[r] && now - *_last[r] < _interval)
            continue;
        return notice{r, totals[r] - _notified[r], totals[r]};
    }
    return std::nullopt;
}

void drop_notices::sent(const notice &n, clock::time_point now) noexcept {
    _notified[n.reason] = n.total;
    _last[n.reason] = now;
}

std::string drop_notices::content(const notice &n) {
    return fmt::format(R"({{"reason":"{}","count":{},"total":{}}})", drop_reason_name(n.reason),
                       n.count, n.total);
}

} // namespace zrelay
