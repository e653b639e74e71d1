// invalid_log: the log's account of refused messages, one line per reason per second at most,
// whose counts add up exactly to zrelay_messages_invalid_total (log_tally.hpp says how). One per
// thread that refuses: the receiver and each validator.
#pragma once

#include <cstdint>

#include "invalid_reason.hpp"
#include "log_tally.hpp"

namespace zrelay {

class invalid_log {
public:
    // Counts one refused message; writes a line if its reason has not had one for a second.
    void add(invalid_reason reason, std::uint64_t bytes);
    // Writes what was held back for a second or more: when the owner is idle.
    void flush_due();
    // Writes everything held back: when the owner stops.
    void flush_all();

private:
    log_tally<invalid_reason_count> _tally;
};

} // namespace zrelay
