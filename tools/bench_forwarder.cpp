// bench_forwarder: the two baselines zrelayd is measured against, built from the same libzmq.
//
//   --mode loop   the ten-line forwarder: blocking zmq_msg_recv on PULL, zmq_msg_send of the same
//                 zmq_msg_t on XPUB (no copy), forever;
//   --mode proxy  libzmq's zmq_proxy(PULL, XPUB);
//   --mode topic-loop  the loop sending [topic][message] as zrelayd does, to price the extra frame.
//
// Both bind PULL and XPUB with the HWMs and XPUB_NODROP given, as zrelayd does, and neither
// decodes, validates or counts. They run until killed (SIGTERM's default action is fine here:
// a baseline has nothing to drain that a benchmark would measure).
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.h>

namespace {

void check(int rc, const std::string &what) {
    if (rc != 0)
        throw std::runtime_error(what + ": " + zmq_strerror(zmq_errno()));
}

void set_int(void *socket, int option, int value, const char *what) {
    check(zmq_setsockopt(socket, option, &value, sizeof(value)), what);
}

} // namespace

int run(int argc, char **argv) {
    CLI::App app{"bench_forwarder: zmq_proxy or a plain recv/send loop from PULL to XPUB"};
    std::string mode = "loop";
    std::vector<std::string> in_eps;
    std::vector<std::string> out_eps;
    int rcvhwm = 1000;
    int sndhwm = 1000;
    bool nodrop = true;
    app.add_option("--mode", mode, "loop | proxy | topic-loop")
        ->check(CLI::IsMember({"loop", "proxy", "topic-loop"}))
        ->capture_default_str();
    app.add_option("--in", in_eps, "PULL endpoint(s) to bind")->required();
    app.add_option("--out", out_eps, "XPUB endpoint(s) to bind")->required();
    app.add_option("--rcvhwm", rcvhwm)->capture_default_str();
    app.add_option("--sndhwm", sndhwm)->capture_default_str();
    app.add_option("--nodrop", nodrop)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    void *xpub = zmq_socket(ctx, ZMQ_XPUB);
    set_int(pull, ZMQ_RCVHWM, rcvhwm, "ZMQ_RCVHWM");
    set_int(xpub, ZMQ_SNDHWM, sndhwm, "ZMQ_SNDHWM");
    set_int(xpub, ZMQ_XPUB_NODROP, nodrop ? 1 : 0, "ZMQ_XPUB_NODROP");
    for (const auto &ep : in_eps)
        check(zmq_bind(pull, ep.c_str()), ep);
    for (const auto &ep : out_eps)
        check(zmq_bind(xpub, ep.c_str()), ep);

    if (mode == "proxy") {
        zmq_proxy(pull, xpub, nullptr);
        return 0;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (mode == "topic-loop") {
        // The loop with zrelayd's output shape, [topic][message], the topic a fixed one: what the
        // extra frame alone costs, with no decoding.
        static constexpr char topic[] = "bench";
        for (;;) {
            if (zmq_msg_recv(&msg, pull, 0) < 0)
                break;
            if (zmq_send_const(xpub, topic, sizeof(topic) - 1, ZMQ_SNDMORE) < 0 ||
                zmq_msg_send(&msg, xpub, 0) < 0)
                break;
        }
        return 0;
    }
    for (;;) {
        if (zmq_msg_recv(&msg, pull, 0) < 0)
            break;
        // XPUB takes the message and leaves msg empty: nothing is copied.
        if (zmq_msg_send(&msg, xpub, zmq_msg_more(&msg) != 0 ? ZMQ_SNDMORE : 0) < 0)
            break;
    }
    return 0;
}

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::cerr << "bench_forwarder: " << e.what() << '\n';
        return 69;
    } catch (...) {
        return 70;
    }
}
