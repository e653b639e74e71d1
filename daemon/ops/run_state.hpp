// run_state: what a running zrelayd actually serves (its pid, instance and bound endpoints),
// recorded in its runtime directory while it runs, so that `zrelayd healthcheck` probes that
// process rather than whatever a configuration file says, which it may not be running on (a
// container started with extra arguments, a file edited since start).
//
// The file is `<runtime dir>/zrelayd.state`, one `key=value` a line. It is written whole (a
// temporary file renamed over it) once every endpoint is bound, before READY=1 and the ready log
// line, and removed at exit if it is still this process's. One zrelayd per runtime directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zrelay {

inline constexpr std::string_view run_state_file_name = "zrelayd.state";

struct run_state {
    std::int64_t pid = 0;
    std::uint64_t instance = 0; // the relay_instance its stamps carry
    std::string version;
    std::string ingress; // the first ingress endpoint as bound (a port zmq picked is resolved)
    std::string egress;  // the first egress endpoint as bound
    std::string ingress_secret_key_file; // empty: no CURVE on that side
    std::string egress_secret_key_file;
    bool operator==(const run_state &) const = default;
};

// `dir`/zrelayd.state.
std::string run_state_path(const std::string &dir);

std::string format_run_state(const run_state &state);
// Throws std::runtime_error saying what is wrong (a missing or malformed key).
run_state parse_run_state(std::string_view text);
// Throws std::runtime_error naming the file, with the OS reason or what is malformed.
run_state read_run_state(const std::string &dir);

// The state file of this process, from construction (written whole) to destruction (removed if
// it still records this pid). Throws std::runtime_error naming the file if it cannot be written.
class run_state_file {
public:
    run_state_file(const std::string &dir, const run_state &state);
    ~run_state_file();
    run_state_file(const run_state_file &) = delete;
    run_state_file &operator=(const run_state_file &) = delete;
    run_state_file(run_state_file &&) = delete;
    run_state_file &operator=(run_state_file &&) = delete;

private:
    std::string _dir;
    std::int64_t _pid;
};

} // namespace zrelay
