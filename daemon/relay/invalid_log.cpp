#include "invalid_log.hpp"

#include <spdlog/spdlog.h>

#include "log_event.hpp"

namespace zrelay {

namespace {

void write(const log_tally<invalid_reason_count>::line &l) {
    spdlog::warn("{}", log_event("dropped invalid messages")
                           .add("reason", to_string(static_cast<invalid_reason>(l.kind)))
                           .add("count", l.count)
                           .add("bytes", l.bytes)
                           .str());
}

} // namespace

void invalid_log::add(invalid_reason reason, std::uint64_t bytes) {
    if (auto l = _tally.add(static_cast<std::size_t>(reason), bytes))
        write(*l);
}

void invalid_log::flush_due() {
    _tally.flush_due(write);
}

void invalid_log::flush_all() {
    _tally.flush_all(write);
}

} // namespace zrelay
