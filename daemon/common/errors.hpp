// The exceptions that cross zrelay's boundaries, each mapped by main to one exit code
// (sysexits.h numbering, which systemd's RestartPreventExitStatus= and operators recognise).
#pragma once

#include <stdexcept>

namespace zrelay {

enum exit_code : int {
    exit_ok = 0,
    exit_unhealthy = 1,         // healthcheck: the canary did not come back
    exit_usage = 64,            // EX_USAGE: bad command line
    exit_unavailable = 69,      // EX_UNAVAILABLE: an endpoint could not be bound or connected
    exit_internal = 70,         // EX_SOFTWARE: a bug or an unexpected failure
    exit_cannot_create = 73,    // EX_CANTCREAT: keygen could not write a key file
    exit_drain_incomplete = 75, // EX_TEMPFAIL: drained past the deadline, messages were lost
    exit_config = 78,           // EX_CONFIG: the configuration is invalid
};

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct endpoint_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace zrelay
