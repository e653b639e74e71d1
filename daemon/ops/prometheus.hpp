// prometheus: a metrics snapshot (net/metrics.hpp) as the Prometheus text exposition format
// 0.0.4, which the metrics server serves at /metrics.
#pragma once

#include <string>

#include "metrics.hpp"

namespace zrelay {

std::string render_prometheus(const metrics_snapshot &s);

} // namespace zrelay
