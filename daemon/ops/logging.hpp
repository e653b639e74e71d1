// logging: spdlog set-up (text or JSON lines on stderr, which journald and container runtimes
// collect). What logs at a limited rate uses log_rate_limiter.hpp (common), not this.
#pragma once

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

} // namespace zrelay
