// log_rate_limiter: lets an event that can repeat once per message (an invalid message, a refused
// handshake) reach the log at most once per interval, counting what it held back. Below every
// layer that logs such events (net, relay); the logger's set-up is ops' (logging.hpp).
#pragma once

#include <chrono>
#include <cstdint>

namespace zrelay {

// A flood of bad input costs one log line per interval. Owned by one thread.
class log_rate_limiter {
public:
    explicit log_rate_limiter(
        std::chrono::steady_clock::duration interval = std::chrono::seconds(1))
        : _interval(interval) {}

    // True if the caller should log now; suppressed() then says how many were held back since
    // the last line.
    bool allow(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
        if (_logged_once && now - _last < _interval) {
            ++_held;
            return false;
        }
        _suppressed = _held;
        _held = 0;
        _last = now;
        _logged_once = true;
        return true;
    }
    [[nodiscard]] std::uint64_t suppressed() const noexcept { return _suppressed; }

private:
    std::chrono::steady_clock::duration _interval;
    std::chrono::steady_clock::time_point _last{};
    bool _logged_once = false;
    std::uint64_t _held = 0;
    std::uint64_t _suppressed = 0;
};

} // namespace zrelay
