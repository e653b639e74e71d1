// Integration tests: the real zrelayd binary, real sockets, real zmq clients (cppzmq).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "daemon_process.hpp"
#include "zrelay/v1/data_message.pb.h"

namespace zrelay {
namespace {

using testing::daemon_process;
using testing::eventually;
using testing::free_tcp_port;
using testing::scrape;
using namespace std::chrono_literals;

struct ports {
    int in = free_tcp_port();
    int out = free_tcp_port();
    int metrics = free_tcp_port();
    int replay = free_tcp_port(); // the default 5557 would collide with tests running alongside
    [[nodiscard]] std::string in_ep() const { return "tcp://127.0.0.1:" + std::to_string(in); }
    [[nodiscard]] std::string out_ep() const { return "tcp://127.0.0.1:" + std::to_string(out); }
};

// A config binding the given ports. `extra` is appended at the top level, `egress_extra` inside
// the egress section (indented by the caller).
std::string yaml_for(const ports &p, const std::string &extra = "", int workers = 2,
                     const std::string &egress_extra = "") {
    return "ingress:\n  bind: [\"" + p.in_ep() + "\"]\n" + "egress:\n  bind: [\"" + p.out_ep() +
           "\"]\n" + egress_extra + "metrics:\n  listen: \"127.0.0.1:" + std::to_string(p.metrics) +
           "\"\n" + "replay:\n  bind: [\"tcp://127.0.0.1:" + std::to_string(p.replay) + "\"]\n" +
           "workers: " + std::to_string(workers) + "\n" + extra;
}

std::string make_message(const std::string &topic, const std::string &content, std::int64_t ts) {
    v1::DataMessage m;
    m.set_topic(topic);
    m.set_content(content);
    m.set_timestamp(ts);
    return m.SerializeAsString();
}

struct received {
    std::string topic;
    v1::DataMessage message;   // as published: the producer's fields and the relay's stamp
    std::string raw;           // the producer's bytes (the published frame without the stamp)
    std::size_t wire_size = 0; // the published frame's size
};

// The stamp's bytes as the relay appends them: fields 100-102 in order, as protobuf writes them
// (every stamp field is non-zero in these tests, so none is left out).
std::string stamp_bytes(const v1::DataMessage &m) {
    v1::DataMessage stamp;
    stamp.set_relay_sequence(m.relay_sequence());
    stamp.set_relay_received_ns(m.relay_received_ns());
    stamp.set_relay_instance(m.relay_instance());
    return stamp.SerializeAsString();
}

// Receives one [topic][DataMessage]; nullopt on timeout (the socket's RCVTIMEO). Checks that
// the frame is the producer's bytes followed by a stamp, and splits it off.
std::optional<received> receive(zmq::socket_t &sub) {
    zmq::message_t topic;
    zmq::message_t body;
    if (!sub.recv(topic))
        return std::nullopt;
    EXPECT_TRUE(topic.more());
    if (!sub.recv(body))
        return std::nullopt;
    EXPECT_FALSE(body.more());
    received r{topic.to_string(), {}, body.to_string(), body.size()};
    EXPECT_TRUE(r.message.ParseFromString(r.raw));
    EXPECT_NE(r.message.relay_sequence(), 0U) << "not stamped";
    const std::string stamp = stamp_bytes(r.message);
    EXPECT_TRUE(r.raw.ends_with(stamp)) << "the stamp is not at the end";
    if (r.raw.ends_with(stamp))
        r.raw.resize(r.raw.size() - stamp.size());
    return r;
}

zmq::socket_t make_sub(zmq::context_t &ctx, const ports &p, std::vector<std::string> topics,
                       int rcvhwm = 1000) {
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::rcvhwm, rcvhwm);
    sub.set(zmq::sockopt::rcvtimeo, 10000);
    for (const auto &t : topics)
        sub.set(zmq::sockopt::subscribe, t);
    sub.connect(p.out_ep());
    return sub;
}

zmq::socket_t make_push(zmq::context_t &ctx, const std::string &endpoint) {
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::sndtimeo, 20000);
    push.connect(endpoint);
    return push;
}

// The relay counts distinct subscribed prefixes: wait until ours have reached it, so nothing
// published before the subscription took effect is missed (the slow-joiner problem).
// A helper that checks returns an AssertionResult for the caller to ASSERT on: an ASSERT inside
// a void helper only returns from the helper, and the test ran on into 10-second receives.
::testing::AssertionResult await_subscriptions(const ports &p, double n) {
    std::optional<double> v;
    if (eventually([&] {
            v = scrape(p.metrics, "zrelay_subscriptions");
            return v && *v >= n;
        }))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "the relay never counted " << n << " subscribed prefixes (last "
           << (v ? std::to_string(*v) : std::string("no scrape")) << ")";
}

double mib(std::int64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

class relay_test : public ::testing::Test {
protected:
    zmq::context_t ctx;
    ports p;

    // Throws (which fails and ends the test) if zrelayd never gets ready, rather than letting
    // the test run on against no relay into one receive timeout after another.
    static std::unique_ptr<daemon_process> start(const std::string &yaml) {
        auto d = std::make_unique<daemon_process>(yaml);
        if (!d->wait_ready())
            throw std::runtime_error("zrelayd did not become ready:\n" + d->stderr_text());
        return d;
    }
};

// The relay's two compositions: workers: 0 is the direct one (one thread, PULL to XPUB), any
// other number the pipeline through worker threads. No behaviour may depend on which.
class relay_paths : public relay_test, public ::testing::WithParamInterface<int> {
protected:
    [[nodiscard]] int workers() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(, relay_paths, ::testing::Values(0, 2),
                         [](const ::testing::TestParamInfo<int> &param) {
                             return param.param == 0 ? std::string("direct")
                                                     : std::string("pipeline");
                         });

TEST_F(relay_test, two_hundred_thousand_messages_keep_their_order_through_three_workers) {
    auto d = start(yaml_for(p, "", 3));
    auto sub = make_sub(ctx, p, {""});
    ASSERT_TRUE(await_subscriptions(p, 1));
    constexpr int count = 200000;
    std::jthread producer([&] {
        auto push = make_push(ctx, p.in_ep());
        for (int i = 0; i < count; ++i)
            ASSERT_TRUE(push.send(zmq::buffer(make_message("t", "m", i))));
    });
    int next = 0;
    while (next < count) {
        auto r = receive(sub);
        ASSERT_TRUE(r) << "stalled after " << next << " messages";
        ASSERT_EQ(r->message.timestamp(), next) << "out of order";
        // One topic: the relay's sequence counts every message, with no gap, whatever the
        // workers' interleaving.
        ASSERT_EQ(r->message.relay_sequence(), static_cast<std::uint64_t>(next) + 1);
        ++next;
    }
    EXPECT_EQ(scrape(p.metrics, "zrelay_messages_published_total"), count);
}

// io_threads sizes the zmq context; with more than one, the relay spreads its sockets over
// them (ingress on the first, egress on the others) and nothing else may change: everything
// arrives, in order, stamped without a gap.
TEST_P(relay_paths, with_four_io_threads_messages_arrive_in_order) {
    auto d = start(yaml_for(p, "io_threads: 4\n", workers()));
    auto sub = make_sub(ctx, p, {""});
    ASSERT_TRUE(await_subscriptions(p, 1));
    constexpr int count = 20000;
    std::jthread producer([&] {
        auto push = make_push(ctx, p.in_ep());
        for (int i = 0; i < count; ++i)
            ASSERT_TRUE(push.send(zmq::buffer(make_message("t", "m", i))));
    });
    for (int next = 0; next < count; ++next) {
        auto r = receive(sub);
        ASSERT_TRUE(r) << "stalled after " << next << " messages";
        ASSERT_EQ(r->message.timestamp(), next) << "out of order";
        ASSERT_EQ(r->message.relay_sequence(), static_cast<std::uint64_t>(next) + 1);
    }
    EXPECT_NE(d->stderr_text().find(", io threads 4,"), std::string::npos) << d->stderr_text();
}

// On-CPU nanoseconds of each of `pid`'s threads named `name` (/proc/PID/task/TID/schedstat).
std::map<std::string, std::uint64_t> io_thread_ns(pid_t pid) {
    std::map<std::string, std::uint64_t> out;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto &task : std::filesystem::directory_iterator(tasks)) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        std::ifstream schedstat(task.path() / "schedstat");
        std::uint64_t ns = 0;
        if (name.starts_with("ZMQbg/IO/") && schedstat >> ns)
            out[name] = ns;
    }
    return out;
}

// With io_threads >= 2 the relay pins ingress's connections to the first I/O thread and
// egress's to the others. Left to libzmq, every connection went to one thread and the rest sat
// idle, so a thread's share of the I/O work tells the two apart: here the first thread decodes
// the producer's messages and another encodes the subscriber's copies, each a real share.
TEST_F(relay_test, with_two_io_threads_ingress_and_egress_work_on_different_ones) {
    auto d = start(yaml_for(p, "io_threads: 2\n", 0));
    auto sub = make_sub(ctx, p, {""});
    ASSERT_TRUE(await_subscriptions(p, 1));
    const auto before = io_thread_ns(d->pid());
    ASSERT_EQ(before.size(), 2U);
    constexpr int count = 20000;
    const std::string filler(1024, 'x');
    std::jthread producer([&] {
        auto push = make_push(ctx, p.in_ep());
        for (int i = 0; i < count; ++i)
            ASSERT_TRUE(push.send(zmq::buffer(make_message("t", filler, i))));
    });
    for (int next = 0; next < count; ++next)
        ASSERT_TRUE(receive(sub)) << "stalled after " << next << " messages";
    const auto after = io_thread_ns(d->pid());
    const double first = static_cast<double>(after.at("ZMQbg/IO/0") - before.at("ZMQbg/IO/0"));
    const double second = static_cast<double>(after.at("ZMQbg/IO/1") - before.at("ZMQbg/IO/1"));
    std::printf("[ figures ] io_threads 2, 20k x 1 KiB: I/O thread 0 %.1f ms, thread 1 %.1f ms\n",
                first / 1e6, second / 1e6);
    EXPECT_GT(first, 0.1 * (first + second)) << "ingress's I/O thread did next to nothing";
    EXPECT_GT(second, 0.1 * (first + second)) << "egress's I/O thread did next to nothing";
}

TEST_P(relay_paths, four_concurrent_producers_each_keep_their_own_order) {
    auto d = start(yaml_for(p, "", workers()));
    auto sub = make_sub(ctx, p, {""});
    ASSERT_TRUE(await_subscriptions(p, 1));
    constexpr int producers = 4;
    constexpr int each = 25000;
    std::vector<std::jthread> threads;
    for (int k = 0; k < producers; ++k)
        threads.emplace_back([&, k] {
            auto push = make_push(ctx, p.in_ep());
            for (int i = 0; i < each; ++i)
                ASSERT_TRUE(push.send(zmq::buffer(make_message("p", std::to_string(k), i))));
        });
    std::vector<std::int64_t> next(producers, 0);
    for (int n = 0; n < producers * each; ++n) {
        auto r = receive(sub);
        ASSERT_TRUE(r) << "stalled after " << n << " messages";
        const int k = std::stoi(r->message.content());
        ASSERT_EQ(r->message.timestamp(), next[k]) << "producer " << k << " out of order";
        ASSERT_EQ(r->message.relay_sequence(), static_cast<std::uint64_t>(n) + 1);
        ++next[k];
    }
    threads.clear(); // joins
    EXPECT_EQ(next, std::vector<std::int64_t>(producers, each));
}

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A producer offering `count` messages of 1 KiB as fast as the relay takes them, on a thread of
// its own that the destructor stops. Each send waits at most 100 ms; one that times out is the
// producer's own evidence that the relay pushes back.
class flooding_producer {
public:
    flooding_producer(zmq::context_t &ctx, const ports &p, int count,
                      std::chrono::milliseconds linger)
        : _thread([this, &ctx, endpoint = p.in_ep(), count, linger](const std::stop_token &stop) {
              auto push = make_push(ctx, endpoint);
              push.set(zmq::sockopt::sndtimeo, 100);
              push.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
              const std::string filler(1000, 'x');
              for (int i = 0; i < count && !stop.stop_requested();) {
                  if (push.send(zmq::buffer(make_message("t", filler, i)))) {
                      _blocked_since.store(0);
                      _sent.store(++i);
                  } else if (_blocked_since.load() == 0) {
                      _blocked_since.store(steady_ns());
                  }
              }
          }) {}
    flooding_producer(const flooding_producer &) = delete;
    flooding_producer &operator=(const flooding_producer &) = delete;
    flooding_producer(flooding_producer &&) = delete;
    flooding_producer &operator=(flooding_producer &&) = delete;
    ~flooding_producer() = default; // the jthread stops and joins

    [[nodiscard]] int sent() const { return _sent.load(); }
    // When the current run of timed-out sends began (steady clock, ns); 0 while sends go through.
    [[nodiscard]] std::int64_t blocked_since() const { return _blocked_since.load(); }
    void stop() {
        _thread.request_stop();
        _thread.join();
    }

private:
    std::atomic<int> _sent{0};
    std::atomic<std::int64_t> _blocked_since{0};
    std::jthread _thread; // last: it uses the members above
};

// Waits for backpressure shown by both sides at once: the producer's sends keep timing out, none
// getting through for half a second, and over that half second the relay receives and publishes
// nothing (with workers, while it holds at least `inflight` messages). A producer that merely
// got no CPU has no send timing out, and a relay that is merely slow moves its counters; the
// check this replaces (nothing received for 300 ms) took the first for backpressure.
::testing::AssertionResult await_backpressure(const ports &p, int workers, double inflight,
                                              const flooding_producer &producer) {
    struct counts {
        std::optional<double> received;
        std::optional<double> published;
        std::optional<double> held;
        bool operator==(const counts &) const = default;
    };
    const auto read = [&] {
        return counts{scrape(p.metrics, "zrelay_messages_received_total"),
                      scrape(p.metrics, "zrelay_messages_published_total"),
                      scrape(p.metrics, "zrelay_inflight")};
    };
    counts last;
    const bool held = eventually(
        [&] {
            const std::int64_t since = producer.blocked_since();
            const counts before = read();
            std::this_thread::sleep_for(500ms); // the span over which nothing may move
            last = read();
            return since != 0 && producer.blocked_since() == since && last == before &&
                   last.received > 0 && (workers == 0 || last.held >= inflight);
        },
        30s);
    if (held)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "the relay never pushed back: the producer sent " << producer.sent()
           << (producer.blocked_since() != 0 ? ", its sends timing out"
                                             : ", its sends going through")
           << "; the relay received " << last.received.value_or(-1) << ", published "
           << last.published.value_or(-1) << ", holds " << last.held.value_or(-1) << " (wanted "
           << inflight << " with workers)";
}

TEST_P(relay_paths, stalled_subscriber_with_nodrop_bounds_memory_and_loses_nothing) {
    auto d = start(yaml_for(p, "pipeline:\n  max_inflight: 10000\n", workers()));
    auto sub = make_sub(ctx, p, {""}, 100);
    ASSERT_TRUE(await_subscriptions(p, 1));
    // Offer far more than the relay may hold: 150k messages of 1 KiB = 150 MiB.
    constexpr int count = 150000;
    const std::int64_t rss_before = d->rss_bytes();
    // The tail may still be queued in the producer's socket when the reading starts.
    flooding_producer producer(ctx, p, count, 10s);
    // The subscriber reads nothing while the pipeline fills up to max_inflight.
    ASSERT_TRUE(await_backpressure(p, workers(), 9900, producer));
    std::int64_t rss_peak = 0;
    for (int i = 0; i < 60; ++i) { // sampled over 3 s of the stall
        rss_peak = std::max(rss_peak, d->rss_bytes());
        std::this_thread::sleep_for(50ms);
    }
    const int sent_during_stall = producer.sent();
    const double inflight = scrape(p.metrics, "zrelay_inflight").value_or(-1);
    std::printf("[ figures ] workers %d, stalled subscriber: RSS before %.1f MiB, peak during 3 s "
                "stall %.1f "
                "MiB (growth %.1f MiB); producer had sent %d of %d; zrelay_inflight %.0f\n",
                workers(), mib(rss_before), mib(rss_peak), mib(rss_peak - rss_before),
                sent_during_stall, count, inflight);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // Sanitizer shadow memory and quarantine inflate RSS several times: the bound is checked in
    // the plain builds, order and completeness are checked in all.
#else
    EXPECT_LT(rss_peak - rss_before, 100LL * 1024 * 1024);
#endif
    EXPECT_LT(sent_during_stall, count) << "the producer was never held back";
    EXPECT_LE(inflight, 10000);

    for (int i = 0; i < count; ++i) {
        auto r = receive(sub);
        ASSERT_TRUE(r) << "lost after " << i << "; producer sent " << producer.sent()
                       << ", relay received "
                       << scrape(p.metrics, "zrelay_messages_received_total").value_or(-1)
                       << ", published "
                       << scrape(p.metrics, "zrelay_messages_published_total").value_or(-1)
                       << ", in flight " << scrape(p.metrics, "zrelay_inflight").value_or(-1);
        ASSERT_EQ(r->message.timestamp(), i);
    }
}

// "relay_sequence a-b (n)" for each run of sequence numbers that never arrived.
std::string describe_gaps(const std::vector<std::pair<std::uint64_t, std::uint64_t>> &gaps) {
    std::string out;
    std::uint64_t lost = 0;
    for (const auto &[first, last] : gaps) {
        out += (out.empty() ? "" : ", ") + std::to_string(first) + "-" + std::to_string(last) +
               " (" + std::to_string(last - first + 1) + ")";
        lost += last - first + 1;
    }
    return lost == 0 ? "nothing lost" : std::to_string(lost) + " lost, relay_sequence " + out;
}

// Without nodrop the relay drops for a subscriber that reads nothing and goes on serving one
// that keeps up. libzmq may rightly drop for the fast one too, once its pipe *looks* full to the
// writer (the relay's thread): the reader reports what it took only every LWM = (sndhwm + 1) / 2
// messages, and the writer takes those reports in at most about once a millisecond while it
// sends (libzmq's max_command_delay). With `window` messages in flight to the fast subscriber,
// libzmq drops for it only if the relay writes more than sndhwm - LWM - window messages between
// two such looks: at the default sndhwm of 1000 and a window of 250 that is 250, which a fresh
// machine did (19 lost); at sndhwm 8000 it is 3750 KiB-messages within a millisecond.
TEST_P(relay_paths, without_nodrop_a_stalled_subscriber_does_not_hold_back_a_fast_one) {
    constexpr int sndhwm = 8000;
    constexpr int window = 250; // well under sndhwm - (sndhwm + 1) / 2
    auto d = start(
        yaml_for(p, "", workers(), "  nodrop: false\n  sndhwm: " + std::to_string(sndhwm) + "\n"));
    auto stalled = make_sub(ctx, p, {""}, 10);
    // XPUB reports a prefix once: a prefix of the fast one's own shows it is connected too.
    auto fast = make_sub(ctx, p, {"", "fast-ready"});
    ASSERT_TRUE(await_subscriptions(p, 2));
    // 1 KiB messages, four times what the stalled one can hold (sndhwm, socket buffers, rcvhwm),
    // so that a relay holding the fast one back for it (as with nodrop) stops it half-way.
    constexpr int count = 60000;
    const std::string filler(1024, 'x');
    // How far the fast subscriber got; past `count` once it stopped reading, which frees the
    // producer whatever happened.
    std::atomic<int> fast_at{0};
    std::jthread producer([&] {
        auto push = make_push(ctx, p.in_ep());
        for (int i = 0; i < count; ++i) {
            for (int at = fast_at.load(); i - at >= window; at = fast_at.load())
                fast_at.wait(at);
            if (fast_at.load() >= count)
                return;
            ASSERT_TRUE(push.send(zmq::buffer(make_message("t", filler, i))));
        }
    });
    struct release {
        std::atomic<int> &at;
        ~release() {
            at.store(2 * count);
            at.notify_all();
        }
    } releaser{fast_at};

    // Gaps in relay_sequence (one topic, so it counts every message published) say exactly what
    // was lost; receiving goes on past them so that all are reported.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
    std::uint64_t last = 0;
    int got = 0;
    for (std::int64_t timestamp = -1; timestamp + 1 < count;) {
        auto r = receive(fast);
        ASSERT_TRUE(r) << "the fast subscriber was held back after " << got << " messages (up to "
                       << "relay_sequence " << last << "; " << describe_gaps(gaps) << ")";
        const std::uint64_t sequence = r->message.relay_sequence();
        ASSERT_GT(sequence, last) << "out of order after " << got;
        ASSERT_EQ(sequence, static_cast<std::uint64_t>(r->message.timestamp()) + 1);
        if (sequence != last + 1)
            gaps.emplace_back(last + 1, sequence - 1);
        last = sequence;
        timestamp = r->message.timestamp();
        ++got;
        fast_at.store(static_cast<int>(timestamp) + 1);
        fast_at.notify_one();
    }
    EXPECT_TRUE(gaps.empty()) << "the fast subscriber got " << got << " of " << count << ": "
                              << describe_gaps(gaps);
    // The stalled one got at most what fits in its queues; the rest was dropped for it alone.
    stalled.set(zmq::sockopt::rcvtimeo, 200);
    int stalled_got = 0;
    while (receive(stalled))
        ++stalled_got;
    std::printf("[ figures ] nodrop false: fast subscriber got %d of %d, stalled one %d\n", got,
                count, stalled_got);
    EXPECT_LT(stalled_got, count / 2);
}

TEST_P(relay_paths, invalid_frames_between_valid_ones_do_not_disturb_the_order) {
    auto d = start(yaml_for(p, "", workers()));
    auto sub = make_sub(ctx, p, {"t"}); // not "": the invalid ones cause drop notices
    ASSERT_TRUE(await_subscriptions(p, 1));
    constexpr int count = 20000;
    std::jthread producer([&] {
        auto push2 = make_push(ctx, p.in_ep());
        for (int i = 0; i < count; ++i) {
            ASSERT_TRUE(push2.send(zmq::buffer(make_message("t", "m", i))));
            // An invalid one now and then must not disturb the order.
            if (i % 1000 == 0) {
                ASSERT_TRUE(push2.send(zmq::str_buffer("\xff\xff\xff")));
            }
        }
    });
    for (int i = 0; i < count; ++i) {
        auto r = receive(sub);
        ASSERT_TRUE(r) << "stalled after " << i;
        ASSERT_EQ(r->message.timestamp(), i);
    }
    EXPECT_TRUE(eventually([&] {
        return scrape(p.metrics, "zrelay_messages_invalid_total{reason=\"malformed\"}") == 20;
    }));
}

TEST_P(relay_paths, sigterm_publishes_everything_received_once_the_subscriber_reads_again) {
    auto d = start(yaml_for(p,
                            "pipeline:\n  max_inflight: 1000\nshutdown:\n  drain_timeout_ms: "
                            "20000\n",
                            workers()));
    auto sub = make_sub(ctx, p, {""}, 10);
    ASSERT_TRUE(await_subscriptions(p, 1));
    flooding_producer producer(ctx, p, 1000000, 0ms);
    ASSERT_TRUE(await_backpressure(p, workers(), 990, producer));
    d->signal(SIGTERM);
    // Draining: the relay says it is not healthy, and stops taking input.
    EXPECT_TRUE(eventually([&] {
        const auto res = testing::http_get(p.metrics, "/healthz");
        return res && (*res)->status == 503;
    }));
    producer.stop();
    int got = 0;
    sub.set(zmq::sockopt::rcvtimeo, 2000);
    while (auto r = receive(sub)) {
        ASSERT_EQ(r->message.timestamp(), got) << "out of order";
        ++got;
    }
    ASSERT_EQ(d->wait_exit(), 0) << d->stderr_text();
    const std::string log = d->stderr_text();
    const auto at = log.find("drained received=");
    ASSERT_NE(at, std::string::npos) << log;
    int received_n = -1;
    int published_n = -1;
    ASSERT_EQ(std::sscanf(log.c_str() + at, "drained received=%d published=%d", &received_n,
                          &published_n),
              2);
    std::printf("[ figures ] drain behind a stalled subscriber: received %d, published %d, "
                "subscriber got %d\n",
                received_n, published_n, got);
    EXPECT_EQ(published_n, received_n);
    EXPECT_EQ(got, published_n);
}

TEST_P(relay_paths, a_drain_past_its_deadline_exits_75_and_counts_what_was_lost) {
    auto d = start(yaml_for(p,
                            "pipeline:\n  max_inflight: 1000\nshutdown:\n  drain_timeout_ms: "
                            "500\n",
                            workers()));
    auto sub = make_sub(ctx, p, {""}, 10);
    ASSERT_TRUE(await_subscriptions(p, 1));
    flooding_producer producer(ctx, p, 1000000, 0ms);
    ASSERT_TRUE(await_backpressure(p, workers(), 990, producer));
    d->signal(SIGTERM);
    // The subscriber never reads, so only the deadline can end the drain: an exit at all shows
    // it was kept, and the relay's log says after how long by its own clock (a loaded machine
    // stretches ours, so no bound on how long the exit took here).
    const auto code = d->wait_exit(60s);
    producer.stop();
    ASSERT_EQ(code, 75) << d->stderr_text();
    const std::string log = d->stderr_text();
    const auto at = log.find("drain incomplete: ");
    ASSERT_NE(at, std::string::npos) << log;
    int took_ms = -1;
    int timeout_ms = -1;
    int lost = -1;
    ASSERT_EQ(std::sscanf(log.c_str() + at,
                          "drain incomplete: received messages were not published lost=%d "
                          "took_ms=%d drain_timeout_ms=%d",
                          &lost, &took_ms, &timeout_ms),
              3)
        << log;
    EXPECT_EQ(timeout_ms, 500);
    EXPECT_GE(took_ms, 500) << "gave up before the deadline";
    EXPECT_GT(lost, 0);
}

TEST_P(relay_paths, a_second_sigterm_stops_a_drain_at_once) {
    // A drain deadline of ten minutes: an exit within the minute below is the second signal's.
    auto d = start(yaml_for(p,
                            "pipeline:\n  max_inflight: 1000\nshutdown:\n  drain_timeout_ms: "
                            "600000\n",
                            workers()));
    auto sub = make_sub(ctx, p, {""}, 10);
    ASSERT_TRUE(await_subscriptions(p, 1));
    flooding_producer producer(ctx, p, 1000000, 0ms);
    ASSERT_TRUE(await_backpressure(p, workers(), 990, producer));
    d->signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return scrape(p.metrics, "zrelay_draining") == 1; }));
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(60s), 75) << d->stderr_text();
    EXPECT_NE(d->stderr_text().find("received again: stopping without finishing the drain"),
              std::string::npos)
        << d->stderr_text();
}

TEST_P(relay_paths, counters_add_up) {
    auto d = start(yaml_for(p, "", workers()));
    auto sub = make_sub(ctx, p, {""});
    ASSERT_TRUE(await_subscriptions(p, 1));
    auto push = make_push(ctx, p.in_ep());
    std::size_t bytes = 0;
    for (int i = 0; i < 100; ++i) {
        const auto m = make_message("t", std::string(static_cast<std::size_t>(i), 'c'), i);
        bytes += m.size();
        ASSERT_TRUE(push.send(zmq::buffer(m)));
    }
    std::size_t published_bytes = 0;
    for (int i = 0; i < 100; ++i) {
        const auto r = receive(sub);
        ASSERT_TRUE(r);
        published_bytes += r->wire_size;
    }
    EXPECT_TRUE(eventually([&] {
        // The direct path holds nothing between stages: no zrelay_inflight to wait for.
        return scrape(p.metrics, "zrelay_messages_published_total") == 100 &&
               (workers() == 0 || scrape(p.metrics, "zrelay_inflight") == 0);
    }));
    if (workers() == 0) {
        EXPECT_FALSE(scrape(p.metrics, "zrelay_inflight"));
        EXPECT_FALSE(scrape(p.metrics, "zrelay_inflight_max"));
    }
    EXPECT_EQ(scrape(p.metrics, "zrelay_messages_received_total"), 100);
    EXPECT_EQ(scrape(p.metrics, "zrelay_received_bytes_total"), static_cast<double>(bytes));
    // Published bytes are the stamped frames'.
    EXPECT_EQ(scrape(p.metrics, "zrelay_published_bytes_total"),
              static_cast<double>(published_bytes));
    EXPECT_GT(published_bytes, bytes);
    EXPECT_EQ(scrape(p.metrics, "zrelay_topic_messages_total{topic=\"t\"}"), 100);
    const auto health = testing::http_get(p.metrics, "/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ((*health)->status, 200);
}

} // namespace
} // namespace zrelay
