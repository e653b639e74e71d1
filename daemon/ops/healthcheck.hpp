// healthcheck: proves a running relay's data path, for container HEALTHCHECKs and probes.
//
// Connects to a relay's first ingress and egress endpoints (wildcard hosts read as loopback):
// those the running zrelayd recorded in its runtime directory (run_state.hpp), or those a
// configuration file describes. Subscribes to a topic of its own under the
// reserved prefix "$zrelay/health/", and pushes a canary DataMessage on it until the canary
// comes back at the egress or the timeout passes. Subscribers that subscribe to everything ("")
// see the canaries too; any other prefix never matches them. Where a side runs CURVE, the
// probe connects with that side's own key pair (its secret key file must be readable).
#pragma once

#include <chrono>
#include <string>

#include "config.hpp"
#include "reserved_topics.hpp"

namespace zrelay {

struct health_result {
    bool healthy = false;
    std::string reason; // one line, for the operator
};

// The relay whose endpoints `cfg` describes, whichever process serves them.
health_result check_health(const config &cfg, std::chrono::milliseconds timeout);

// The zrelayd recorded in `runtime_dir`: healthy only if that process is alive and the canary
// comes back stamped with its relay instance, so neither a stale file nor another relay on the
// same ports passes for it.
health_result check_running_relay(const std::string &runtime_dir,
                                  std::chrono::milliseconds timeout);

} // namespace zrelay
