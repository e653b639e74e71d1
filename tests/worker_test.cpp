// The validating stage and the round-robin dispatch that keeps order across workers.
#include "validator.hpp"
#include "worker.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "zrelay/v1/data_message.pb.h"

namespace zrelay {
namespace {

pipeline_item item_of(const std::string &bytes) {
    pipeline_item item;
    item.body.rebuild(bytes.data(), bytes.size());
    return item;
}

std::string message(const std::string &topic, std::int64_t seq) {
    v1::DataMessage m;
    m.set_topic(topic);
    m.set_timestamp(seq);
    return m.SerializeAsString();
}

TEST(validator, a_message_keeps_its_own_topic) {
    thread_counters c;
    validator v({.default_topic = "fallback"}, c);
    auto item = item_of(message("sensors.a", 1));
    v.process(item);
    EXPECT_EQ(item.reason, invalid_reason::none);
    EXPECT_EQ(item.topic.to_string(), "sensors.a");
}

TEST(validator, an_empty_topic_becomes_the_default_topic) {
    thread_counters c;
    validator v({.default_topic = "fallback"}, c);
    auto item = item_of(message("", 1));
    v.process(item);
    EXPECT_EQ(item.topic.to_string(), "fallback");
}

TEST(validator, invalid_frames_are_marked_and_counted_by_reason) {
    thread_counters c;
    validator v({}, c);
    auto garbage = item_of("\xff\xff\xff");
    v.process(garbage);
    auto bad_utf8 = item_of(std::string("\x0a\x02\xff\xfe", 4));
    v.process(bad_utf8);
    EXPECT_EQ(garbage.reason, invalid_reason::malformed);
    EXPECT_EQ(bad_utf8.reason, invalid_reason::bad_utf8);
    EXPECT_EQ(c.invalid[static_cast<std::size_t>(invalid_reason::malformed)].value(), 1U);
    EXPECT_EQ(c.invalid[static_cast<std::size_t>(invalid_reason::bad_utf8)].value(), 1U);
}

// A message another relay stamped: its stamp is kept for the hop; one carrying this relay's own
// instance anywhere came round a loop, and one past max_hops relays goes no further.
TEST(validator, a_relayed_message_keeps_its_upstream_and_loops_and_long_paths_stop) {
    thread_counters c;
    validator v({.default_topic = "", .self = 0xAA, .max_hops = 3}, c);
    const auto relayed = [](std::vector<std::uint64_t> path) {
        v1::DataMessage m;
        m.set_topic("t");
        for (std::size_t i = 0; i + 1 < path.size(); ++i)
            m.add_relay_hops()->set_instance(path[i]);
        m.set_relay_instance(path.back());
        m.set_relay_sequence(41);
        m.set_relay_received_ns(7);
        return item_of(m.SerializeAsString());
    };
    auto one = relayed({0xE1});
    v.process(one);
    EXPECT_EQ(one.reason, invalid_reason::none);
    EXPECT_EQ(one.upstream.instance, 0xE1U);
    EXPECT_EQ(one.upstream.sequence, 41U);
    EXPECT_EQ(one.upstream.received_ns, 7);
    auto two = relayed({0xE1, 0xC2}); // this relay would be the third: allowed
    v.process(two);
    EXPECT_EQ(two.reason, invalid_reason::none);
    auto three = relayed({0xE1, 0xC2, 0xD3});
    v.process(three);
    EXPECT_EQ(three.reason, invalid_reason::too_many_hops);
    auto back = relayed({0xAA, 0xC2});
    v.process(back);
    EXPECT_EQ(back.reason, invalid_reason::loop);
    auto own = relayed({0xAA});
    v.process(own);
    EXPECT_EQ(own.reason, invalid_reason::loop);
    EXPECT_EQ(c.invalid[static_cast<std::size_t>(invalid_reason::loop)].value(), 2U);
    EXPECT_EQ(c.invalid[static_cast<std::size_t>(invalid_reason::too_many_hops)].value(), 1U);
    // A producer's message has no upstream.
    auto plain = item_of(message("t", 1));
    v.process(plain);
    EXPECT_EQ(plain.upstream.instance, 0U);
}

// Three workers on threads: dealing items round-robin and reading the outputs in the same order
// returns them in the original order, invalid ones included, and each worker forwards its end.
TEST(worker, round_robin_dispatch_keeps_total_order) {
    // The workers log the invalid items. spdlog's registry is built on first use behind a static
    // guard inside the (uninstrumented) library, which TSan cannot see; the daemon sets up
    // logging before it starts any thread, and so does this test.
    (void)spdlog::default_logger();
    constexpr std::size_t lanes = 3;
    constexpr int count = 30000;
    pipeline_control control;
    std::vector<std::unique_ptr<pipe>> in;
    std::vector<std::unique_ptr<pipe>> out;
    std::vector<thread_counters> counters(lanes);
    std::vector<std::unique_ptr<worker>> workers;
    for (std::size_t i = 0; i < lanes; ++i) {
        in.push_back(std::make_unique<pipe>());
        out.push_back(std::make_unique<pipe>());
        workers.push_back(std::make_unique<worker>(*in[i], *out[i], validator({}, counters[i]),
                                                   counters[i], control));
    }
    std::vector<std::jthread> threads;
    for (auto &w : workers)
        threads.emplace_back([&w] { w->run(); });

    std::jthread dealer([&] {
        for (int i = 0; i < count; ++i) {
            const std::string bytes = i % 7 == 0 ? std::string("\xff garbage") : message("t", i);
            in[static_cast<std::size_t>(i) % lanes]->write(item_of(bytes));
            if (i % 64 == 0)
                for (auto &p : in)
                    p->flush();
        }
        for (std::size_t i = 0; i < lanes; ++i) {
            pipeline_item end;
            end.end = true;
            in[(count + i) % lanes]->write(std::move(end));
        }
        for (auto &p : in)
            p->flush();
    });

    v1::DataMessage m;
    for (int i = 0; i < count; ++i) {
        auto &p = *out[static_cast<std::size_t>(i) % lanes];
        std::optional<pipeline_item> item;
        while (!(item = p.read()))
            ASSERT_TRUE(p.wait(std::chrono::seconds(10))) << "stalled at " << i;
        ASSERT_FALSE(item->end);
        if (i % 7 == 0) {
            ASSERT_EQ(item->reason, invalid_reason::malformed) << i;
            continue;
        }
        ASSERT_EQ(item->reason, invalid_reason::none) << i;
        ASSERT_TRUE(m.ParseFromArray(item->body.data(), static_cast<int>(item->body.size())));
        ASSERT_EQ(m.timestamp(), i);
    }
    for (std::size_t k = 0; k < lanes; ++k) {
        auto &p = *out[(count + k) % lanes];
        std::optional<pipeline_item> item;
        while (!(item = p.read()))
            ASSERT_TRUE(p.wait(std::chrono::seconds(10)));
        EXPECT_TRUE(item->end);
    }
    threads.clear(); // each worker returned after forwarding its end item
    std::uint64_t invalid = 0;
    for (auto &c : counters)
        invalid += c.invalid[static_cast<std::size_t>(invalid_reason::malformed)].value();
    EXPECT_EQ(invalid, static_cast<std::uint64_t>((count + 6) / 7));
}

TEST(worker, abort_stops_an_idle_worker) {
    pipeline_control control;
    pipe in;
    pipe out;
    thread_counters c;
    worker w(in, out, validator({}, c), c, control);
    auto done = std::async(std::launch::async, [&] { w.run(); });
    control.abort();
    ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "an aborted worker kept running";
}

} // namespace
} // namespace zrelay
