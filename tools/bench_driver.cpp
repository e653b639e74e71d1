// bench_driver: load for a relay (zrelayd or a baseline forwarder), and the judge of its output.
//
// Pushes `--count` DataMessages of exactly `--size` bytes into the relay's ingress from
// `--producers` PUSH sockets (one thread each), receives them on one SUB socket at the egress,
// checks that every message arrived exactly once and in its producer's order, and prints one JSON
// line: throughput (msgs/s, MB/s from the first send to the last receive) and latency percentiles
// (send to receive, from a timestamp carried in the message). Exit status 1 if anything was lost,
// duplicated or reordered, so a benchmark never reports figures for a relay that cheated.
//
// The message and its stamp are in bench_message.hpp; pacing, the checks and the JSON line in
// bench_run.hpp, shared with nats_bench_driver. The receiver accepts the bare forwarders' one
// frame [DataMessage] and zrelayd's two [topic][DataMessage].
//
// Before measuring: probes until one gets through (PUSH and SUB connect asynchronously, and a
// SUB's subscription takes a moment to reach the XPUB), then `--warmup` messages per producer.
//
// With `--rate R` (messages per second over all producers) each producer paces itself: it sends
// whatever its schedule says is due, then sleeps until the next message is due. Latency is
// measured from the actual send, and the JSON says how far behind schedule the producers fell
// (`behind_ms`), so a rate the relay could not take shows as such.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "bench_message.hpp"
#include "bench_options.hpp"

namespace {

using bench::clock_type;
using bench::kind;

// ---- Sending ----------------------------------------------------------------------------------

class producer {
public:
    producer(zmq::context_t &ctx, const std::vector<std::string> &endpoints, std::uint32_t id,
             std::size_t size, int sndhwm)
        : _socket(ctx, zmq::socket_type::push), _id(id) {
        _socket.set(zmq::sockopt::sndhwm, sndhwm);
        _socket.set(zmq::sockopt::linger, 0);
        for (const auto &ep : endpoints)
            _socket.connect(ep);
        std::tie(_template, _stamp_at) = bench::make_template(size);
    }

    void send(kind what, std::uint64_t sequence) {
        zmq::message_t msg(_template.data(), _template.size());
        const bench::stamp s{0, static_cast<std::uint16_t>(_id), what, sequence, bench::now_ns()};
        std::memcpy(static_cast<unsigned char *>(msg.data()) + _stamp_at, &s, sizeof(s));
        _socket.send(msg, zmq::send_flags::none);
    }

    // Sends `count` measured messages, flat out (rate 0) or paced. Returns how far behind its
    // schedule it was at the end, in ns.
    std::uint64_t run(std::uint64_t count, double rate) {
        return bench::send_paced(count, rate, [this](std::uint64_t i) { send(kind::measured, i); });
    }

private:
    zmq::socket_t _socket;
    std::uint32_t _id;
    std::vector<unsigned char> _template;
    std::size_t _stamp_at = 0;
};

// ---- Receiving --------------------------------------------------------------------------------

class consumer {
public:
    consumer(zmq::context_t &ctx, const std::vector<std::string> &endpoints, int rcvhwm,
             std::uint32_t producers, std::uint64_t per_producer)
        : _socket(ctx, zmq::socket_type::sub), _judge(producers, per_producer) {
        _socket.set(zmq::sockopt::rcvhwm, rcvhwm);
        _socket.set(zmq::sockopt::linger, 0);
        _socket.set(zmq::sockopt::subscribe, "");
        for (const auto &ep : endpoints)
            _socket.connect(ep);
    }

    // Runs until every measured message arrived, or nothing arrived for `idle` once measuring
    // began, or stop() was called.
    void run(std::chrono::milliseconds idle) {
        auto last_activity = clock_type::now();
        zmq::message_t frame;
        while (!_judge.done() && !_stop.load(std::memory_order_acquire)) {
            zmq::pollitem_t item{_socket.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) {
                if (!_judge.is_measuring())
                    last_activity = clock_type::now();
                else if (clock_type::now() - last_activity > idle)
                    break; // silence: what did not come is lost
                continue;
            }
            // Read whatever is queued without polling again.
            while (_socket.recv(frame, zmq::recv_flags::dontwait)) {
                while (frame.more())
                    (void)_socket.recv(frame); // the body is the last frame
                _judge.take(frame.data(), frame.size());
            }
            last_activity = clock_type::now();
        }
    }

    void stop() { _stop.store(true, std::memory_order_release); }
    bench::judge &judge() { return _judge; }

private:
    zmq::socket_t _socket;
    bench::judge _judge;
    std::atomic<bool> _stop{false};
};

int run(int argc, char **argv) {
    CLI::App app{"bench_driver: pushes stamped DataMessages through a relay and checks them"};
    std::vector<std::string> push_eps;
    std::vector<std::string> sub_eps;
    int hwm = 1000;
    app.add_option("--push", push_eps, "relay ingress endpoint(s) to connect PUSH to")->required();
    app.add_option("--sub", sub_eps, "relay egress endpoint(s) to connect SUB to")->required();
    bench::load_options load;
    load.add_to(app, "PUSH sockets, one thread each");
    app.add_option("--hwm", hwm, "SNDHWM of the PUSH and RCVHWM of the SUB")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (!load.valid("bench_driver"))
        return 64;

    try {
        zmq::context_t ctx(1);
        consumer sink(ctx, sub_eps, hwm, load.producers, load.count);
        std::vector<producer> sources;
        sources.reserve(load.producers);
        for (std::uint32_t p = 0; p < load.producers; ++p)
            sources.emplace_back(ctx, push_eps, p, load.size, hwm);

        // The sink thread owns the SUB socket from here on.
        std::thread sink_thread([&] { sink.run(std::chrono::milliseconds(load.idle_ms)); });
        // Probe and warm up from this thread; the sockets move to their threads afterwards (zmq
        // allows a socket to change threads across a full barrier, which thread creation is).
        try {
            bench::warm_up(sink.judge(), sources, load.warmup);
        } catch (...) {
            sink.stop();
            sink_thread.join();
            throw;
        }

        sink.judge().measuring();
        bench::run_shape shape = load.shape_from_now();
        const bool sent = bench::run_producers("bench_driver", sources, shape);
        sink_thread.join();

        return bench::report("bench_driver", sink.judge().finish(), shape, sent) ? 0 : 1;
    } catch (const std::exception &e) {
        std::cerr << "bench_driver: " << e.what() << '\n';
        return 1;
    }
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (...) {
        return 70; // only CLI11 or iostreams could get here
    }
}
