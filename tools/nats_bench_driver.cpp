// nats_bench_driver: bench_driver's load and judgement over core NATS, the baseline the field
// measures a message relay against (what `nats bench pub` and `nats bench sub` run).
//
// `--producers` publisher connections (one thread each) publish `--count` DataMessages of exactly
// `--size` bytes on subject "bench" to a nats-server; one subscriber connection receives them.
// The bytes, probe, warm-up, `--rate` pacing, checks and JSON line are bench_driver's
// (bench_message.hpp, bench_run.hpp), so the figures compare one for one with a zmq relay's.
//
// Core NATS has no backpressure: a subscriber that falls behind loses messages, in its client
// library (pending limits, set unlimited here as nats bench sets them) or in the server (which
// cuts a slow consumer off). Either fails the run, as any loss does; reconnecting is off so a
// cut cannot be papered over.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nats/nats.h>

#include "bench_message.hpp"
#include "bench_options.hpp"

namespace {

using bench::clock_type;
using bench::kind;

constexpr const char *subject = "bench";

void check(natsStatus s, const std::string &what) {
    if (s != NATS_OK)
        throw std::runtime_error(what + ": " + natsStatus_GetText(s));
}

struct options_deleter {
    void operator()(natsOptions *o) const { natsOptions_Destroy(o); }
};
struct connection_deleter {
    void operator()(natsConnection *c) const { natsConnection_Destroy(c); }
};
struct subscription_deleter {
    void operator()(natsSubscription *s) const { natsSubscription_Destroy(s); }
};
using connection_ptr = std::unique_ptr<natsConnection, connection_deleter>;
using subscription_ptr = std::unique_ptr<natsSubscription, subscription_deleter>;

// What the library reports on its own threads: any of it fails the run.
struct transport_events {
    std::atomic<bool> slow_consumer{false};
    std::atomic<bool> disconnected{false};
};

void on_error(natsConnection * /*nc*/, natsSubscription * /*sub*/, natsStatus err, void *closure) {
    if (err == NATS_SLOW_CONSUMER)
        static_cast<transport_events *>(closure)->slow_consumer.store(true);
}

void on_disconnected(natsConnection * /*nc*/, void *closure) {
    static_cast<transport_events *>(closure)->disconnected.store(true);
}

connection_ptr connect(const std::string &url, const std::string &name, transport_events &events) {
    natsOptions *raw = nullptr;
    check(natsOptions_Create(&raw), "natsOptions_Create");
    const std::unique_ptr<natsOptions, options_deleter> opts(raw);
    check(natsOptions_SetURL(opts.get(), url.c_str()), "natsOptions_SetURL");
    check(natsOptions_SetName(opts.get(), name.c_str()), "natsOptions_SetName");
    check(natsOptions_SetAllowReconnect(opts.get(), false), "natsOptions_SetAllowReconnect");
    check(natsOptions_SetErrorHandler(opts.get(), on_error, &events),
          "natsOptions_SetErrorHandler");
    check(natsOptions_SetDisconnectedCB(opts.get(), on_disconnected, &events),
          "natsOptions_SetDisconnectedCB");
    natsConnection *nc = nullptr;
    check(natsConnection_Connect(&nc, opts.get()), "connecting to " + url);
    return connection_ptr(nc);
}

// ---- Sending ----------------------------------------------------------------------------------

class publisher {
public:
    publisher(const std::string &url, std::uint32_t id, std::size_t size, transport_events &events)
        : _conn(connect(url, "bench-pub-" + std::to_string(id), events)), _id(id) {
        std::tie(_template, _stamp_at) = bench::make_template(size);
    }

    // The library copies the bytes into its write buffer, so one template is stamped in place.
    void send(kind what, std::uint64_t sequence) {
        const bench::stamp s{0, static_cast<std::uint16_t>(_id), what, sequence, bench::now_ns()};
        std::memcpy(_template.data() + _stamp_at, &s, sizeof(s));
        check(natsConnection_Publish(_conn.get(), subject, _template.data(),
                                     static_cast<int>(_template.size())),
              "publish");
    }

    std::uint64_t run(std::uint64_t count, double rate) {
        const std::uint64_t behind =
            bench::send_paced(count, rate, [this](std::uint64_t i) { send(kind::measured, i); });
        // Whatever is still in the write buffer reaches the server (a PING/PONG round trip).
        check(natsConnection_FlushTimeout(_conn.get(), 30000), "flush");
        return behind;
    }

private:
    connection_ptr _conn;
    std::uint32_t _id;
    std::vector<unsigned char> _template;
    std::size_t _stamp_at = 0;
};

// ---- Receiving --------------------------------------------------------------------------------

// The subscription is asynchronous, as nats bench's is: the library's delivery thread hands each
// message to on_message. Side by side with a synchronous one (NextMsg on a thread of our own) it
// was as fast or slightly faster at 64 B; the two take the same path through the library.
class subscriber {
public:
    subscriber(const std::string &url, std::uint32_t producers, std::uint64_t per_producer,
               transport_events &events)
        : _conn(connect(url, "bench-sub", events)), _events(events),
          _judge(producers, per_producer) {
        natsSubscription *raw = nullptr;
        check(natsConnection_Subscribe(&raw, _conn.get(), subject, on_message, this), "subscribe");
        _sub.reset(raw);
        // Unlimited, as nats bench sets it: the library would otherwise drop past 65536 messages.
        check(natsSubscription_SetPendingLimits(_sub.get(), -1, -1), "set pending limits");
        check(natsSubscription_SetOnCompleteCB(_sub.get(), on_complete, this), "on-complete");
        // The server has the subscription once this round trip returns.
        check(natsConnection_Flush(_conn.get()), "flush");
    }

    // The handler uses this object: it must be done before any of it goes.
    ~subscriber() { (void)close(); }
    subscriber(const subscriber &) = delete;
    subscriber &operator=(const subscriber &) = delete;
    subscriber(subscriber &&) = delete;
    subscriber &operator=(subscriber &&) = delete;

    // Waits until every measured message arrived, or nothing arrived for `idle` once measuring
    // began, or the connection dropped; then closes the subscription and waits until the handler
    // has returned for good, after which the judge is the caller's.
    void wait(std::chrono::milliseconds idle) {
        constexpr auto tick = std::chrono::milliseconds(5);
        std::uint64_t seen = 0;
        auto silent = std::chrono::milliseconds(0);
        while (!_done.load(std::memory_order_acquire) && !_events.disconnected.load()) {
            std::this_thread::sleep_for(tick);
            const std::uint64_t taken = _taken.load(std::memory_order_relaxed);
            silent = taken == seen && _judge.is_measuring() ? silent + tick
                                                            : std::chrono::milliseconds(0);
            seen = taken;
            if (silent > idle)
                break; // silence: what did not come is lost
        }
        // Read while the subscription is open: none, with no pending limits.
        (void)natsSubscription_GetDropped(_sub.get(), &_dropped);
        if (!close())
            throw std::runtime_error("the subscription's handler did not finish within 10 s");
    }

    [[nodiscard]] std::int64_t dropped() const { return _dropped; }

    bench::judge &judge() { return _judge; }

private:
    static void on_message(natsConnection * /*nc*/, natsSubscription * /*sub*/, natsMsg *msg,
                           void *closure) {
        auto *self = static_cast<subscriber *>(closure);
        self->_judge.take(natsMsg_GetData(msg),
                          static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
        // Only this thread writes it: a plain increment, published for wait()'s idle check.
        self->_taken.store(self->_taken.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
        if (self->_judge.done())
            self->_done.store(true, std::memory_order_release);
    }

    // Closes the subscription and waits until the handler has returned for good; false if that
    // took too long.
    bool close() {
        (void)natsSubscription_Unsubscribe(_sub.get()); // fails harmlessly if already closed
        const auto deadline = clock_type::now() + std::chrono::seconds(10);
        while (!_complete.load(std::memory_order_acquire)) {
            if (clock_type::now() > deadline)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }

    static void on_complete(void *closure) {
        static_cast<subscriber *>(closure)->_complete.store(true, std::memory_order_release);
    }

    connection_ptr _conn;
    transport_events &_events;
    subscription_ptr _sub;
    bench::judge _judge;
    std::atomic<std::uint64_t> _taken{0};
    std::atomic<bool> _done{false};
    std::atomic<bool> _complete{false};
    std::int64_t _dropped = 0;
};

int run(int argc, char **argv) {
    CLI::App app{"nats_bench_driver: publishes stamped DataMessages through nats-server and checks "
                 "them"};
    std::string url = "nats://127.0.0.1:4222";
    app.add_option("--server", url, "nats-server URL")->capture_default_str();
    bench::load_options load;
    load.add_to(app, "publisher connections, one thread each");
    CLI11_PARSE(app, argc, argv);
    if (!load.valid("nats_bench_driver"))
        return 64;

    // Outlives every connection: the library calls back on its own threads until nats_Close().
    static transport_events events;
    int status = 1;
    try {
        subscriber sink(url, load.producers, load.count, events);
        std::vector<publisher> sources;
        sources.reserve(load.producers);
        for (std::uint32_t p = 0; p < load.producers; ++p)
            sources.emplace_back(url, p, load.size, events);

        bench::warm_up(sink.judge(), sources, load.warmup);

        sink.judge().measuring();
        bench::run_shape shape = load.shape_from_now();
        const bool sent = bench::run_producers("nats_bench_driver", sources, shape);
        sink.wait(std::chrono::milliseconds(load.idle_ms));

        // Read before any connection closes: closing reports a disconnect of its own.
        std::string problems;
        if (const std::int64_t dropped = sink.dropped(); dropped > 0)
            problems = std::to_string(dropped) + " dropped by the client library";
        if (events.slow_consumer.load())
            problems += (problems.empty() ? "" : ", ") + std::string("slow consumer");
        if (events.disconnected.load())
            problems += (problems.empty() ? "" : ", ") + std::string("disconnected by the server");
        if (!problems.empty())
            std::cerr << "nats_bench_driver: " << problems << '\n';
        const bool ok = bench::report("nats_bench_driver", sink.judge().finish(), shape,
                                      sent && problems.empty());
        status = ok ? 0 : 1;
    } catch (const std::exception &e) {
        std::cerr << "nats_bench_driver: " << e.what() << '\n';
    }
    nats_Close();
    return status;
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (...) {
        return 70; // only CLI11 or iostreams could get here
    }
}
