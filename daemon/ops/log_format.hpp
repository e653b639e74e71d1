// log_format: how a log line is written: text or JSON lines, with a timestamp of ours or, when
// stderr is journald's, a syslog priority prefix instead (journald stamps lines itself and
// files them by that priority, so `journalctl -p warning` works). Level names are the config's
// (`warn`, not spdlog's `warning`). The fields of a log_event (common) become key=value in text
// and JSON members in json.
#pragma once

#include <memory>

#include <spdlog/formatter.h>

#include "config.hpp"

namespace zrelay {

// `journal`: stderr is journald's stream (see is_journal_stream() in logging.hpp).
[[nodiscard]] std::unique_ptr<spdlog::formatter> make_log_formatter(log_format format,
                                                                    bool journal);

} // namespace zrelay
