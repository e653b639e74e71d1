#include "healthcheck.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <random>

#include <fmt/format.h>
#include <zmq.hpp>

#include "envelope.hpp"
#include "errors.hpp"
#include "keys.hpp"
#include "run_state.hpp"

namespace zrelay {

namespace {

// Where a client reaches an endpoint the relay binds: the same, with a wildcard host read as
// this host's loopback. Empty if it cannot be reached that way (a port zmq picks at bind).
std::string reachable(const std::string &bound) {
    static constexpr std::string_view tcp = "tcp://";
    if (bound.rfind(tcp, 0) != 0)
        return bound; // ipc://
    const auto colon = bound.rfind(':');
    if (colon == std::string::npos || bound.substr(colon + 1) == "*")
        return {};
    std::string host = bound.substr(tcp.size(), colon - tcp.size());
    if (host == "*" || host == "0.0.0.0")
        host = "127.0.0.1";
    else if (host == "[::]" || host == "[::0]")
        host = "[::1]";
    return std::string(tcp) + host + bound.substr(colon);
}

std::string nonce() {
    std::random_device random;
    return fmt::format("{:08x}{:08x}", random(), random());
}

// What to probe: endpoints to connect to, the key files of CURVE sides, and the relay instance
// whose stamp the canary must come back with (0: any).
struct probe_target {
    std::string in;
    std::string out;
    std::string in_secret_key_file;
    std::string out_secret_key_file;
    std::uint64_t instance = 0;
};

health_result probe(const probe_target &target, std::chrono::milliseconds timeout) {
    const std::string in = reachable(target.in);
    const std::string out = reachable(target.out);
    if (in.empty() || out.empty())
        return {false, "cannot probe an endpoint whose port zmq picks at bind (\":*\")"};

    const std::string topic = std::string(health_topic_prefix) + nonce();
    const std::string canary = encode_envelope(topic, "zrelayd healthcheck");
    zmq::context_t context(1);
    zmq::socket_t sub(context, zmq::socket_type::sub);
    zmq::socket_t push(context, zmq::socket_type::push);
    for (zmq::socket_t *s : {&sub, &push}) {
        s->set(zmq::sockopt::linger, 0);
        s->set(zmq::sockopt::ipv6, true);
    }
    sub.set(zmq::sockopt::subscribe, topic);
    // Under CURVE the probe connects with the side's own key pair, which the relay always lets
    // in: reading the secret key file takes the relay's own rights.
    const auto as_server = [](zmq::socket_t &s, const std::string &secret_key_file) {
        if (secret_key_file.empty())
            return;
        const curve_keypair pair = load_secret_key_file(secret_key_file);
        s.set(zmq::sockopt::curve_serverkey, pair.public_key);
        s.set(zmq::sockopt::curve_publickey, pair.public_key);
        s.set(zmq::sockopt::curve_secretkey, pair.secret_key);
    };
    try {
        as_server(push, target.in_secret_key_file);
        as_server(sub, target.out_secret_key_file);
    } catch (const config_error &e) {
        return {false, std::string("unhealthy: ") + e.what()};
    }
    try {
        sub.connect(out);
        push.connect(in);
    } catch (const zmq::error_t &e) {
        return {false, fmt::format("cannot connect to {} or {}: {}", in, out, e.what())};
    }

    // A canary every 100 ms: the first may go out before the subscription reaches the relay's
    // XPUB, and then nobody is subscribed to its topic yet.
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        (void)push.send(zmq::buffer(canary), zmq::send_flags::dontwait);
        const auto slice = std::min(std::chrono::milliseconds(100),
                                    std::chrono::ceil<std::chrono::milliseconds>(
                                        deadline - std::chrono::steady_clock::now()));
        std::array<zmq::pollitem_t, 1> items{{{sub.handle(), 0, ZMQ_POLLIN, 0}}};
        if (zmq::poll(items.data(), items.size(), slice) == 0)
            continue;
        zmq::message_t frame;
        zmq::message_t body;
        if (!sub.recv(frame, zmq::recv_flags::dontwait) || frame.to_string_view() != topic ||
            !frame.more() || !sub.recv(body, zmq::recv_flags::dontwait))
            continue;
        const std::uint64_t stamped = decode_envelope(body.data(), body.size()).upstream.instance;
        if (target.instance != 0 && stamped != target.instance)
            return {false, fmt::format("unhealthy: the canary came back through relay instance "
                                       "{:016x}, not {:016x}: another relay serves {} and {}",
                                       stamped, target.instance, in, out)};
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        return {true, fmt::format("ok: a canary went {} -> {} in {} ms (relay instance {:016x})",
                                  in, out, took.count(), stamped)};
    }
    return {false, fmt::format("unhealthy: no canary came back from {} to {} within {} ms", in, out,
                               timeout.count())};
}

bool process_alive(std::int64_t pid) {
    // EPERM: it exists, as another user (a healthcheck run by an operator without its rights).
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

} // namespace

health_result check_health(const config &cfg, std::chrono::milliseconds timeout) {
    if (cfg.ingress.bind.empty() || cfg.egress.bind.empty())
        return {false, "the configuration binds no ingress or no egress endpoint to probe"};
    return probe({cfg.ingress.bind.front(), cfg.egress.bind.front(),
                  cfg.security.ingress_curve.secret_key_file,
                  cfg.security.egress_curve.secret_key_file, 0},
                 timeout);
}

health_result check_running_relay(const std::string &runtime_dir,
                                  std::chrono::milliseconds timeout) {
    run_state state;
    try {
        state = read_run_state(runtime_dir);
    } catch (const std::runtime_error &e) {
        return {false, fmt::format("unhealthy: no running zrelayd recorded in {} ({}); zrelayd "
                                   "records itself there when run with --runtime-dir, "
                                   "ZRELAY_RUNTIME_DIR or systemd's RuntimeDirectory=",
                                   runtime_dir, e.what())};
    }
    if (!process_alive(state.pid))
        return {false, fmt::format("unhealthy: zrelayd pid {} recorded in {} is not running",
                                   state.pid, run_state_path(runtime_dir))};
    if (state.ingress.empty() || state.egress.empty()) // it only connects, to other relays
        return {false, fmt::format("zrelayd pid {} binds no ingress or no egress endpoint to probe",
                                   state.pid)};
    health_result result = probe({state.ingress, state.egress, state.ingress_secret_key_file,
                                  state.egress_secret_key_file, state.instance},
                                 timeout);
    result.reason += fmt::format(" [zrelayd pid {}]", state.pid);
    return result;
}

} // namespace zrelay
