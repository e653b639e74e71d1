// logging: spdlog set-up (text or JSON lines on stderr, which journald and container runtimes
// collect) and a rate limiter for events that can repeat once per message.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config.hpp"

namespace zrelay {

// Configures the default spdlog logger. `level_override` (from --log-level) beats log.level.
void setup_logging(const log_config &cfg, const std::optional<std::string> &level_override = {});
// Applies a new level and format to the logger setup_logging() made, in place: other threads
// may be logging through it meanwhile (spdlog's level is atomic and its _mt sinks lock around
// their formatter), which replacing the default logger would not allow.
void reconfigure_logging(const log_config &cfg,
                         const std::optional<std::string> &level_override = {});

// Lets an event through at most once per `interval` and counts what it held back, so a flood of
// bad input costs one log line per interval. Owned by one thread.
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
