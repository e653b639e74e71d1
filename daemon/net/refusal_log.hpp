// refusal_log: the log's account of refused clients, one line per side and reason per second at
// most, whose counts add up exactly to zrelay_auth_failures_total (log_tally.hpp says how). One
// per thread that refuses: the authenticator's and the handshake watch's.
#pragma once

#include <string_view>

#include "handshake_refusal.hpp"
#include "log_event.hpp"
#include "log_tally.hpp"

namespace zrelay {

class refusal_log {
public:
    // `check`: who refuses, a field of each line ("auth", "handshake").
    explicit refusal_log(std::string_view check) : _check(check) {}

    // Counts one refused client. If its side and reason have had no line for a second, writes
    // one, to which `describe(log_event &)` adds the fields naming this client.
    template <class Describe>
    void add(relay_side side, refusal_reason reason, Describe &&describe) {
        if (auto l = _tally.add(kind(side, reason))) {
            log_event event = start(*l);
            describe(event);
            write(event);
        }
    }
    // Writes what was held back for a second or more: when the owner is idle.
    void flush_due();
    // Writes everything held back: when the owner stops.
    void flush_all();

private:
    using tally = log_tally<relay_side_count * refusal_reason_count>;
    static std::size_t kind(relay_side side, refusal_reason reason) noexcept {
        return static_cast<std::size_t>(side) * refusal_reason_count +
               static_cast<std::size_t>(reason);
    }
    [[nodiscard]] log_event start(const tally::line &l) const;
    static void write(const log_event &event);

    std::string_view _check;
    tally _tally;
};

} // namespace zrelay
