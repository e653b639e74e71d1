// prometheus: a metrics snapshot (net/metrics.hpp), with the process's own figures and the
// build's identity, as the Prometheus text exposition format 0.0.4, which the metrics server
// serves at /metrics.
#pragma once

#include <optional>
#include <string>

#include "metrics.hpp"
#include "process_stats.hpp"

namespace zrelay {

// What zrelay_build_info labels: common's version.hpp, passed down by main.
struct build_info {
    std::string version;
    std::string commit; // git describe at configure time, or "unknown"
};

// `process`: nullopt leaves the process_* series out (no /proc to read them from).
std::string render_prometheus(const metrics_snapshot &s, const build_info &build,
                              const std::optional<process_stats> &process);

} // namespace zrelay
