// log_tally: lets an event that can repeat once per message (an invalid message, a refused
// handshake) reach the log at most once per interval per kind, and yet have the log count every
// one of them. Below every layer that logs such events (net, relay); the logger is ops'.
//
// Invariant: for each kind, the counts of the lines a tally hands out, plus what it holds, equal
// the events added. A line is handed out by add() when the kind's last line is at least an
// interval old (it counts that event and those held back since), by flush_due() for what has
// been held for an interval with nothing since, and by flush_all() at the end. So a flood costs
// one line per kind per interval, nothing held back is lost, and the sums in the log match the
// metrics that count the same events.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace zrelay {

// One thread's: not thread-safe. `Kinds` is the number of kinds (e.g. of invalid_reason).
template <std::size_t Kinds>
class log_tally {
public:
    using clock = std::chrono::steady_clock;
    struct line {
        std::size_t kind;
        std::uint64_t count; // events this line stands for, >= 1
        std::uint64_t bytes; // their bytes, for events that have a size
    };

    explicit log_tally(clock::duration interval = std::chrono::seconds(1)) : _interval(interval) {}

    // Counts one event of `kind` (< Kinds). Returns the line to write now, or nothing if the
    // kind wrote one less than an interval ago (the event is then held back).
    std::optional<line> add(std::size_t kind, std::uint64_t bytes = 0,
                            clock::time_point now = clock::now()) {
        slot &s = _slots[kind];
        ++s.count;
        s.bytes += bytes;
        if (s.written && now - s.last < _interval) {
            _holding = true;
            return std::nullopt;
        }
        return take(kind, now);
    }

    // Hands `emit` a line for each kind whose events have been held back for an interval: what
    // a caller does when it is idle, so a burst's tail is told within about an interval.
    template <class Emit>
    void flush_due(Emit &&emit, clock::time_point now = clock::now()) {
        if (!_holding)
            return; // the common case, one test
        _holding = false;
        for (std::size_t k = 0; k < Kinds; ++k) {
            slot &s = _slots[k];
            if (s.count == 0)
                continue;
            if (now - s.last >= _interval)
                emit(take(k, now));
            else
                _holding = true;
        }
    }

    // Hands `emit` a line for each kind with events held back, due or not: at the end.
    template <class Emit>
    void flush_all(Emit &&emit) {
        const clock::time_point now = clock::now();
        for (std::size_t k = 0; k < Kinds; ++k)
            if (_slots[k].count != 0)
                emit(take(k, now));
        _holding = false;
    }

private:
    struct slot {
        std::uint64_t count = 0; // held back, not yet in a line
        std::uint64_t bytes = 0;
        clock::time_point last{}; // when this kind's last line was handed out
        bool written = false;     // whether one was
    };

    line take(std::size_t kind, clock::time_point now) {
        slot &s = _slots[kind];
        const line l{kind, s.count, s.bytes};
        s.count = 0;
        s.bytes = 0;
        s.last = now;
        s.written = true;
        return l;
    }

    clock::duration _interval;
    std::array<slot, Kinds> _slots{};
    bool _holding = false; // some kind holds events back
};

} // namespace zrelay
