// The daemon's configuration: what the YAML file says, with every default filled in and every
// value checked. Each key is a row of config_table.cpp; only the config files see yaml-cpp.
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
    int rcvhwm = 1000; // ZMQ_RCVHWM of the PULL socket; 0 = no limit
    std::size_t max_message_bytes =
        std::size_t{1024} * 1024; // bigger frames are invalid (reason "oversize")

    bool operator==(const ingress_config &) const = default;
};

struct egress_config {
    std::vector<std::string> bind{"tcp://127.0.0.1:5556"};
    std::vector<std::string> connect;
    int sndhwm = 1000;  // ZMQ_SNDHWM of the XPUB socket, per subscriber; 0 = no limit
    bool nodrop = true; // ZMQ_XPUB_NODROP: wait for a slow subscriber rather than drop
    bool stamp = true;  // append the relay's stamp (sequence, receive time, instance) to each
    // Topics with a sequence of their own; messages on topics seen after these are stamped
    // with sequence 0 ("not tracked"). Bounds the relay's per-topic state.
    std::size_t max_topics = 10000;
    bool drop_notices = true; // publish what the relay drops on the reserved topic $zrelay/drops

    bool operator==(const egress_config &) const = default;
};

struct pipeline_config {
    std::int64_t max_inflight = 10000; // credits: messages between PULL and XPUB, at most

    bool operator==(const pipeline_config &) const = default;
};

struct routing_config {
    std::string default_topic; // the topic of messages whose own topic is empty

    bool operator==(const routing_config &) const = default;
};

// Where invalid input goes besides the counters.
struct invalid_config {
    // A PUB endpoint the relay binds, publishing each refused message as
    // [reason][original frames...]; "" = none.
    std::string dead_letter;
    int dead_letter_hwm = 1000; // its ZMQ_SNDHWM: past it dead letters are dropped, never waited on

    bool operator==(const invalid_config &) const = default;
};

struct metrics_config {
    std::string listen = "127.0.0.1:9464"; // host:port of the HTTP endpoint; empty: disabled
    // zrelay_topic_messages_total gets a series for each of the first this many topics; the
    // rest are summed under topic="_other". 0: only "_other".
    std::size_t max_topic_labels = 100;

    bool operator==(const metrics_config &) const = default;
};

enum class log_format { text, json };

struct log_config {
    std::string level = "info"; // trace, debug, info, warn, error, critical, off
    log_format format = log_format::text;

    bool operator==(const log_config &) const = default;
};

struct shutdown_config {
    std::chrono::milliseconds drain_timeout{5000};

    bool operator==(const shutdown_config &) const = default;
};

// CURVE on one side (ingress or egress). Off while secret_key_file is empty.
struct curve_config {
    std::string secret_key_file; // the server's secret key (Z85), readable by its owner only
    std::string allow;           // a file of allowed client public keys, or a directory of them

    [[nodiscard]] bool enabled() const noexcept { return !secret_key_file.empty(); }
    bool operator==(const curve_config &) const = default;
};

struct security_config {
    curve_config ingress_curve;
    curve_config egress_curve;
    // ZMQ_HANDSHAKE_IVL on the sides that run CURVE: a connection that has not completed its
    // handshake in this time is closed. 0 = never. Sides without CURVE have none (security.cpp).
    std::chrono::milliseconds handshake_timeout{5000};
    unsigned ipc_mode = 0660; // file mode of bound ipc:// socket files
    std::string ipc_group;    // their group; "" = the process's own

    bool operator==(const security_config &) const = default;
};

struct config {
    ingress_config ingress;
    egress_config egress;
    unsigned workers = 0; // 0: the direct path, one thread from PULL to XPUB (fastest on 2 cores)
    // libzmq's I/O threads (ZMQ_IO_THREADS: the context's size), which do every socket's network
    // reads and writes, framing and (with CURVE) encryption.
    unsigned io_threads = 1;
    pipeline_config pipeline;
    routing_config routing;
    invalid_config invalid;
    metrics_config metrics;
    log_config log;
    shutdown_config shutdown;
    security_config security;

    // Member-wise, so tests and a future reload can tell whether anything changed.
    bool operator==(const config &) const = default;
};

// Parses YAML text. `source` names it in errors (a file name, or "<embedded>"). Throws
// config_error naming every problem in the text, one a line, each with its line, column and key:
//   "zrelay.yaml:7:11: egress.sndhwm: expected an integer in [0, 2147483647], got \"lots\"".
// Text that is not UTF-8 or not YAML, or a top level that is not a mapping, stops it at once.
// A section that gives `bind` or `connect` replaces both of that section's default endpoint lists
// (a connect-only ingress does not also bind 127.0.0.1:5555). A section left empty (`metrics:`
// with nothing under it) keeps its defaults; an empty leaf value (`workers:`) is an error.
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
config default_config();

// The effective configuration as YAML that parse_config() accepts (for --check-config).
std::string to_yaml(const config &cfg);

// Every key with its default, bounds, when a change applies and what it does, as a commented
// YAML file that parse_config() accepts (`zrelayd config-reference`; config/zrelay.yaml).
std::string config_reference();

// What a reload (SIGHUP) can apply to a running relay: log level and format, the drain
// timeout, and the CURVE allow-lists (for connections made from then on). Everything else is wired
// into sockets and threads at start.
[[nodiscard]] config with_live_changes(const config &running, const config &next);
// The keys that differ between `running` and `next` and need a restart to take effect
// ("ingress.bind", "workers", ...), in the order the file lists them.
[[nodiscard]] std::vector<std::string> restart_only_changes(const config &running,
                                                            const config &next);

} // namespace zrelay
