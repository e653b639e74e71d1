// What every `zrelay` subcommand shares: the one exception type that carries an exit code (the
// daemon's, errors.hpp), and the endpoint check (the daemon's, endpoint.hpp).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "endpoint.hpp"
#include "errors.hpp"

namespace zrelay::tool {

// A failure that ends the command with `code`; main prints what() and exits with it.
class tool_error : public std::runtime_error {
public:
    tool_error(exit_code code, const std::string &what) : std::runtime_error(what), _code(code) {}
    [[nodiscard]] exit_code code() const noexcept { return _code; }

private:
    exit_code _code;
};

// Refuses what zrelayd's configuration would refuse for a connect endpoint (the same check):
// inproc:// and other transports, wildcards, relative ipc paths, malformed addresses.
inline void check_endpoint(std::string_view option, const std::string &endpoint) {
    if (const auto problem = endpoint_problem(endpoint, endpoint_use::connect))
        throw tool_error(exit_usage, std::string(option) + ": " + *problem);
}

} // namespace zrelay::tool
