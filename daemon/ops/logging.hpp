// logging: spdlog set-up: one line per event on stderr, which journald and container runtimes
// collect, formatted as log_format.hpp says. What logs at a limited rate counts through
// log_tally.hpp (common), not this.
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

// Whether `fd` is the stream journald gave this process: systemd sets JOURNAL_STREAM to its
// "device:inode", which a child whose stderr was redirected inherits but no longer matches.
// `journal_stream`: JOURNAL_STREAM's value, or null when unset.
[[nodiscard]] bool is_journal_stream(int fd, const char *journal_stream);

} // namespace zrelay
