#include "refusal_log.hpp"

#include <spdlog/spdlog.h>

namespace zrelay {

log_event refusal_log::start(const tally::line &l) const {
    log_event event("refused clients");
    event.add("check", _check)
        .add("side", to_string(static_cast<relay_side>(l.kind / refusal_reason_count)))
        .add("reason", to_string(static_cast<refusal_reason>(l.kind % refusal_reason_count)))
        .add("count", l.count);
    return event;
}

void refusal_log::write(const log_event &event) {
    spdlog::warn("{}", event.str());
}

void refusal_log::flush_due() {
    _tally.flush_due([this](const tally::line &l) { write(start(l)); });
}

void refusal_log::flush_all() {
    _tally.flush_all([this](const tally::line &l) { write(start(l)); });
}

} // namespace zrelay
