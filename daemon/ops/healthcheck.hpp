// healthcheck: proves a running relay's data path, for container HEALTHCHECKs and probes.
//
// Connects to the relay the configuration describes (its first ingress and egress bind
// endpoints, wildcard hosts read as loopback), subscribes to a topic of its own under the
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

health_result check_health(const config &cfg, std::chrono::milliseconds timeout);

} // namespace zrelay
