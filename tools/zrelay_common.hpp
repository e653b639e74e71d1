// What every `zrelay` subcommand shares: exit codes, the one exception type that carries one, and
// the endpoint check.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "endpoint.hpp"

namespace zrelay::tool {

// sysexits.h numbering, as zrelayd uses (daemon/errors.hpp).
enum exit_code : int {
    exit_ok = 0,
    exit_usage = 64,       // EX_USAGE: bad command line or endpoint
    exit_unavailable = 69, // EX_UNAVAILABLE: no relay at the endpoint, URL unreachable
    exit_internal = 70,    // EX_SOFTWARE: anything unexpected
};

// A failure that ends the command with `code`; main prints what() and exits with it.
class tool_error : public std::runtime_error {
public:
    tool_error(exit_code code, const std::string &what) : std::runtime_error(what), _code(code) {}
    [[nodiscard]] exit_code code() const noexcept { return _code; }

private:
    exit_code _code;
};

// Refuses what zrelayd's configuration would refuse for a connect endpoint (daemon/endpoint.hpp,
// the same check): inproc:// and other transports, wildcards, relative ipc paths, malformed
// addresses.
inline void check_endpoint(std::string_view option, const std::string &endpoint) {
    if (const auto problem = endpoint_problem(endpoint, endpoint_use::connect))
        throw tool_error(exit_usage, std::string(option) + ": " + *problem);
}

// Nanoseconds since the Unix epoch, as DataMessage.timestamp carries it.
inline std::int64_t epoch_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace zrelay::tool
