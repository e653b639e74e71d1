// drop_notices: when to tell subscribers what the relay dropped, and in what words.
//
// The relay publishes a DataMessage on drops_topic ("$zrelay/drops") for each reason it dropped
// messages for: every invalid_reason, and drain_deadline (messages still in flight when the
// shutdown drain ran out of time). A notice carries the count since the previous notice for
// its reason and the total since start, and goes out at most once per reason per interval
// (1 s), so a flood of bad input costs subscribers one message a second per reason, not one
// per bad message. Drops by zmq itself (nodrop: false, a subscriber past its SNDHWM) happen
// inside the XPUB where the relay cannot see them: subscribers find those as sequence gaps.
//
// Pure bookkeeping, no sockets and no clock of its own, so it is tested by itself; one owner
// thread (the publisher's).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "envelope.hpp"

namespace zrelay {

// Indices 1..invalid_reason_count-1 are the invalid_reasons; index 0 (invalid_reason::none,
// which is never a drop) stands for drain_deadline.
inline constexpr std::size_t drop_reason_count = invalid_reason_count;
inline constexpr std::size_t drain_deadline = 0;
using drop_totals = std::array<std::uint64_t, drop_reason_count>;

// "malformed", ..., "drain_deadline".
std::string_view drop_reason_name(std::size_t reason) noexcept;

class drop_notices {
public:
    using clock = std::chrono::steady_clock;

    explicit drop_notices(clock::duration interval = std::chrono::seconds(1))
        : _interval(interval) {}

    struct notice {
        std::size_t reason;
        std::uint64_t count; // dropped since the previous notice for this reason
        std::uint64_t total; // dropped since start
    };

    // The next notice due at `now` given the running totals, if any; the caller publishes it
    // and calls sent() (a notice that could not be sent stays due, its count growing).
    [[nodiscard]] std::optional<notice> due(const drop_totals &totals,
                                            clock::time_point now) const noexcept;
    void sent(const notice &n, clock::time_point now) noexcept;
    // Makes every reason with something to report due at once (the relay's last word before it
    // exits); counts are unaffected.
    void waive_interval() noexcept { _last.fill(std::nullopt); }

    // The notice's text, the DataMessage's content:
    //   {"reason":"malformed","count":3,"total":10}
    [[nodiscard]] static std::string content(const notice &n);

private:
    clock::duration _interval;
    drop_totals _notified{}; // totals as of each reason's last notice
    std::array<std::optional<clock::time_point>, drop_reason_count> _last{}; // when it went out
};

} // namespace zrelay
