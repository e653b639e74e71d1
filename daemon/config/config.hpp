// The daemon's configuration: what the YAML file says, with every default filled in and every
// value checked. Each field is a key whose row in config_table.cpp gives its meaning and bounds
// (`zrelayd config-reference` prints them all); only the config layer sees yaml-cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zrelay {

struct ingress_config {
    std::vector<std::string> bind{"tcp://127.0.0.1:5555"};
    std::vector<std::string> connect;
    // Other relays' egress endpoints to take messages from, and the prefixes asked of them
    // (empty: whatever this relay's own subscribers ask for, as they come and go).
    std::vector<std::string> subscribe;
    std::vector<std::string> subscribe_topics;
    int rcvhwm = 1000;
    std::size_t max_message_bytes = std::size_t{1024} * 1024;
    bool operator==(const ingress_config &) const = default;
};

struct egress_config {
    std::vector<std::string> bind{"tcp://127.0.0.1:5556"};
    std::vector<std::string> connect;
    // Other relays' ingress endpoints to push every published message to, and how to choose one.
    std::vector<std::string> forward;
    std::string forward_by = "topic"; // or "round_robin"
    int sndhwm = 1000;
    bool nodrop = true;
    bool stamp = true;
    std::size_t max_topics = 10000;
    bool drop_notices = true;
    bool operator==(const egress_config &) const = default;
};

struct pipeline_config {
    std::int64_t max_inflight = 10000;
    bool operator==(const pipeline_config &) const = default;
};

struct routing_config {
    std::string default_topic;
    unsigned max_hops = 8;
    bool operator==(const routing_config &) const = default;
};

struct invalid_config {
    std::string dead_letter; // "" = none
    int dead_letter_hwm = 1000;
    bool operator==(const invalid_config &) const = default;
};

struct retention_config {
    std::size_t max_bytes = std::size_t{64} << 20U; // 0: retention and replay off
    bool last_values = true;
    bool operator==(const retention_config &) const = default;
};

struct replay_config {
    std::vector<std::string> bind{"tcp://127.0.0.1:5557"};
    bool operator==(const replay_config &) const = default;
};

struct metrics_config {
    std::string listen = "127.0.0.1:9464"; // "" = disabled
    std::size_t max_topic_labels = 100;
    bool operator==(const metrics_config &) const = default;
};

enum class log_format { text, json };

struct log_config {
    std::string level = "info";
    log_format format = log_format::text;
    bool operator==(const log_config &) const = default;
};

struct shutdown_config {
    std::chrono::milliseconds drain_timeout{5000};
    bool operator==(const shutdown_config &) const = default;
};

// CURVE on one side (ingress or egress). Off while secret_key_file is empty.
struct curve_config {
    std::string secret_key_file;
    std::string allow;
    [[nodiscard]] bool enabled() const noexcept { return !secret_key_file.empty(); }
    bool operator==(const curve_config &) const = default;
};

struct security_config {
    curve_config ingress_curve;
    curve_config egress_curve;
    std::chrono::milliseconds handshake_timeout{5000};
    unsigned ipc_mode = 0660;
    std::string ipc_group; // "" = the process's own
    bool operator==(const security_config &) const = default;
};

struct config {
    ingress_config ingress;
    egress_config egress;
    unsigned workers = 0;
    unsigned io_threads = 1;
    pipeline_config pipeline;
    routing_config routing;
    invalid_config invalid;
    retention_config retention;
    replay_config replay;
    metrics_config metrics;
    log_config log;
    shutdown_config shutdown;
    security_config security;
    // Member-wise, so tests and a reload can tell whether anything changed.
    bool operator==(const config &) const = default;
};

// Parses YAML text; `source` names it in errors (a file name, or "<embedded>"). Throws
// config_error naming every problem, one a line, each with its line, column and key:
//   "zrelay.yaml:7:11: egress.sndhwm: expected an integer in [0, 2147483647], got \"lots\"".
// Text that is not UTF-8 or not YAML, or a top level that is not a mapping, stops it at once.
config parse_config(std::string_view yaml, std::string_view source);

// The problems a config_error's message holds, one a line: each is printed or logged apart.
[[nodiscard]] std::vector<std::string_view> config_problems(std::string_view message);

// The largest configuration file read: a hundred times any real one. Bounds what a wrong
// --config (a log, /dev/zero) costs, at start and on reload inside the running relay.
inline constexpr std::size_t max_config_file_bytes = std::size_t{1} << 20U; // 1 MiB

// Reads and parses a file; a config_error names it and why it cannot be read: the OS reason, not
// a regular file (a directory, FIFO, device), or larger than max_config_file_bytes.
config load_config_file(const std::string &path);

// The embedded default: what zrelayd runs when given no --config.
inline config default_config() {
    return config{};
}

// The effective configuration as YAML that parse_config() accepts (for --check-config).
std::string to_yaml(const config &cfg);

// Every key with its default, bounds, when a change applies and what it does, as a commented
// YAML file that parse_config() accepts (`zrelayd config-reference`; config/zrelay.yaml).
std::string config_reference();

// What a reload (SIGHUP) applies to a running relay: the keys whose row says so. Everything else
// is wired into sockets and threads at start; restart_only_changes() names those that differ
// ("ingress.bind", "workers", ...), in the file's order.
[[nodiscard]] config with_live_changes(const config &running, const config &next);
[[nodiscard]] std::vector<std::string> restart_only_changes(const config &running,
                                                            const config &next);

} // namespace zrelay
