// egress on its own, on a loopback endpoint: the stamp and sequences it adds, drop notices from the
// source it is given (not from counters it would have to know), and what it does while a nodrop
// subscriber holds it up.
#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "egress.hpp"
#include "zrelay/v1/data_message.pb.h"

using namespace zrelay;
using namespace std::chrono_literals;

namespace {

template <typename F>
bool eventually(F done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

pipeline_item item_on(const std::string &topic, std::int64_t ts, std::int64_t received_ns = 0,
                      const std::string &content = "") {
    v1::DataMessage m;
    m.set_topic(topic);
    m.set_timestamp(ts);
    m.set_content(content);
    const std::string bytes = m.SerializeAsString();
    pipeline_item item;
    item.body.rebuild(bytes.data(), bytes.size());
    item.topic.rebuild(topic.data(), topic.size());
    item.received_ns = received_ns;
    return item;
}

struct published {
    std::string topic;
    v1::DataMessage message;
};

std::optional<published> receive(zmq::socket_t &sub) {
    zmq::message_t topic;
    zmq::message_t body;
    if (!sub.recv(topic) || !topic.more() || !sub.recv(body))
        return std::nullopt;
    published p{topic.to_string(), {}};
    if (!p.message.ParseFromArray(body.data(), static_cast<int>(body.size())))
        return std::nullopt;
    return p;
}

class egress_test : public ::testing::Test {
protected:
    egress_config config(int sndhwm = 1000) {
        // tcp, not inproc: see stage_rig.hpp (ThreadSanitizer cannot see libzmq's inproc pipes).
        egress_config cfg;
        cfg.bind = {"tcp://127.0.0.1:*"};
        cfg.sndhwm = sndhwm;
        return cfg;
    }
    zmq::socket_t subscriber(egress &out, int rcvhwm = 1000) {
        zmq::socket_t sub(ctx, zmq::socket_type::sub);
        sub.set(zmq::sockopt::rcvhwm, rcvhwm);
        sub.set(zmq::sockopt::rcvtimeo, 5000);
        sub.set(zmq::sockopt::subscribe, "");
        sub.connect(out.bound().front());
        // Throws, failing and ending the test, rather than letting it run into 5 s receives.
        if (!eventually([&] {
                out.tick();
                return out.subscriptions() == 1;
            }))
            throw std::runtime_error("the subscription never reached egress");
        return sub;
    }

    zmq::context_t ctx;
    pipeline_control control;
    topic_table topics{10, 10};
    thread_counters counters;
    drop_totals totals{};
    const std::function<void()> no_hold;
};

TEST_F(egress_test, publishes_topic_and_body_with_a_stamp_numbered_per_topic) {
    const auto cfg = config();
    egress out(
        ctx, cfg, {}, 0, stamper(42), topics, counters, control, [this] { return totals; }, nullptr,
        egress_links{});
    auto sub = subscriber(out);
    for (const char *topic : {"a", "b", "a", "a"}) {
        auto item = item_on(topic, 7, 1234);
        ASSERT_TRUE(out.publish(item, no_hold));
    }
    const std::pair<const char *, std::uint64_t> expected[] = {
        {"a", 1}, {"b", 1}, {"a", 2}, {"a", 3}};
    for (const auto &[topic, sequence] : expected) {
        const auto p = receive(sub);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->topic, topic);
        EXPECT_EQ(p->message.topic(), topic);
        EXPECT_EQ(p->message.timestamp(), 7);
        EXPECT_EQ(p->message.relay_sequence(), sequence);
        EXPECT_EQ(p->message.relay_received_ns(), 1234);
        EXPECT_EQ(p->message.relay_instance(), 42U);
    }
    EXPECT_EQ(counters.published.value(), 4U);
    EXPECT_EQ(out.instance(), 42U);
}

TEST_F(egress_test, with_retention_the_log_holds_what_was_published_with_its_sequence) {
    const auto cfg = config();
    topic_table few{2, 2}; // a third topic is untracked: sequence 0, nothing to retain
    retention_log log(1 << 20, 2);
    egress out(
        ctx, cfg, {}, 0, stamper(42), few, counters, control, [this] { return totals; }, &log,
        egress_links{});
    auto sub = subscriber(out);
    for (const char *topic : {"a", "b", "a", "c"}) {
        auto item = item_on(topic, 7, 1234);
        ASSERT_TRUE(out.publish(item, no_hold));
    }
    std::vector<std::string> sent;
    for (int i = 0; i < 4; ++i) {
        zmq::message_t topic;
        zmq::message_t body;
        ASSERT_TRUE(sub.recv(topic));
        ASSERT_TRUE(sub.recv(body));
        sent.push_back(topic.to_string() + "|" + body.to_string());
    }
    std::vector<std::string> held;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> numbers;
    (void)log.scan(0, 100, [&](const retained_record &r) {
        held.push_back(std::string(r.topic) + "|" + std::string(r.body));
        numbers.emplace_back(r.topic_index, r.sequence);
    });
    // The stamped bytes exactly as subscribers got them, untracked "c" left out.
    EXPECT_EQ(held, std::vector<std::string>(sent.begin(), sent.begin() + 3));
    const std::vector<std::pair<std::uint32_t, std::uint64_t>> expected{{0, 1}, {1, 1}, {0, 2}};
    EXPECT_EQ(numbers, expected);
}

TEST_F(egress_test, without_the_stamp_the_producers_bytes_go_out_unchanged) {
    auto cfg = config();
    cfg.stamp = false;
    egress out(
        ctx, cfg, {}, 0, stamper(42), topics, counters, control, [this] { return totals; }, nullptr,
        egress_links{});
    auto sub = subscriber(out);
    auto item = item_on("t", 1, 99);
    const std::string bytes = item.body.to_string();
    ASSERT_TRUE(out.publish(item, no_hold));
    zmq::message_t topic;
    zmq::message_t body;
    ASSERT_TRUE(sub.recv(topic));
    ASSERT_TRUE(sub.recv(body));
    EXPECT_EQ(body.to_string(), bytes);
}

TEST_F(egress_test, drop_notices_come_from_the_injected_source) {
    const auto cfg = config();
    int asked = 0;
    egress out(
        ctx, cfg, {}, 0, stamper(42), topics, counters, control,
        [&] {
            ++asked;
            return totals;
        },
        nullptr, egress_links{});
    auto sub = subscriber(out);
    totals[static_cast<std::size_t>(invalid_reason::malformed)] = 3;
    totals[drain_deadline] = 5;
    out.tick();
    EXPECT_GT(asked, 0);
    std::set<std::string> notices;
    for (int i = 0; i < 2; ++i) {
        const auto p = receive(sub);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->topic, drops_topic);
        notices.insert(p->message.content());
    }
    EXPECT_EQ(notices,
              (std::set<std::string>{R"({"reason":"malformed","count":3,"total":3})",
                                     R"({"reason":"drain_deadline","count":5,"total":5})"}));
    EXPECT_EQ(counters.notices.value(), 2U);
    // Nothing new: nothing more to say.
    out.tick();
    sub.set(zmq::sockopt::rcvtimeo, 100);
    EXPECT_FALSE(receive(sub));
}

TEST_F(egress_test, a_held_up_publish_calls_back_and_stops_on_abort) {
    // nodrop, and a subscriber that reads nothing: publish() must wait, call held_up every
    // idle_poll meanwhile, and give up only when the relay aborts.
    const auto cfg = config(10);
    egress out(
        ctx, cfg, {}, 0, stamper(42), topics, counters, control, [this] { return totals; }, nullptr,
        egress_links{});
    auto sub = subscriber(out, 10);
    std::atomic<int> held{0};
    const std::function<void()> on_hold = [&] { held.fetch_add(1); };
    std::atomic<int> sent{0};
    std::atomic<bool> returned_false{false};
    const std::string filler(1024, 'x'); // 100 MiB offered: far more than kernel buffers hold
    std::jthread publisher([&] {
        for (int i = 0; i < 100000; ++i) {
            auto item = item_on("t", i, 0, filler);
            if (!out.publish(item, on_hold)) {
                returned_false.store(true);
                return;
            }
            sent.store(i + 1);
        }
    });
    EXPECT_TRUE(eventually([&] { return held.load() >= 2; }))
        << "never held up after " << sent.load() << " messages";
    control.abort(); // also what ends the publisher if the expectation above failed
    publisher.join();
    EXPECT_TRUE(returned_false.load()) << "publish() did not give up on abort";
    // Bounded by the two HWMs and the kernel's socket buffers, not by the 100000 offered.
    EXPECT_LT(sent.load(), 20000);
}

} // namespace
