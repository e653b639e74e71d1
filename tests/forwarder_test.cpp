#include "forwarder.hpp"

#include <gtest/gtest.h>

#include <string>

#include <unistd.h>
#include <vector>

namespace zrelay {
namespace {

// The slot is FNV-1a by definition: fixed values, so that a change of hash (which would move
// every topic to another central relay mid-stream) cannot pass unnoticed.
TEST(forward_slot, is_fnv_1a_of_the_topic_modulo_the_count) {
    EXPECT_EQ(forward_slot("", 1), 0U);
    // FNV-1a 64 of "" is 0xcbf29ce484222325, of "a" 0xaf63dc4c8601ec8c.
    EXPECT_EQ(forward_slot("", 7), 0xcbf29ce484222325ULL % 7);
    EXPECT_EQ(forward_slot("a", 7), 0xaf63dc4c8601ec8cULL % 7);
    EXPECT_EQ(forward_slot("anything", 0), 0U);
}

// An endpoint nobody can ever listen on: an ipc path in a directory that does not exist (a
// closed tcp port may be taken by another test running alongside).
std::string nobody() {
    return "ipc:///nonexistent-zrelay-forwarder-test-" + std::to_string(::getpid()) + "/sock";
}

zmq::message_t frame(const std::string &s) {
    return zmq::message_t(s.data(), s.size());
}

struct rig {
    zmq::context_t ctx;
    pipeline_control control;
    std::vector<link_counters> links{2};
};

TEST(forwarder, by_topic_a_topic_always_takes_the_same_link) {
    rig r;
    std::vector<zmq::socket_t> pulls;
    egress_config cfg;
    for (int i = 0; i < 2; ++i) {
        pulls.emplace_back(r.ctx, zmq::socket_type::pull);
        pulls.back().set(zmq::sockopt::rcvtimeo, 5000);
        pulls.back().bind("tcp://127.0.0.1:*");
        cfg.forward.push_back(pulls.back().get(zmq::sockopt::last_endpoint));
    }
    forwarder f(r.ctx, cfg, r.links, nullptr, r.control);
    const std::vector<std::string> topics{"a", "b", "c", "d", "e", "f", "g", "h"};
    std::vector<std::size_t> expected(2, 0);
    for (int round = 0; round < 3; ++round)
        for (const std::string &t : topics) {
            zmq::message_t body = frame(t);
            ASSERT_TRUE(f.forward(t, body, nullptr));
            ++expected[forward_slot(t, 2)];
        }
    ASSERT_GT(expected[0], 0U); // the topics spread over both
    ASSERT_GT(expected[1], 0U);
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t n = 0; n < expected[i]; ++n) {
            zmq::message_t got;
            ASSERT_TRUE(pulls[i].recv(got));
            EXPECT_EQ(forward_slot(got.to_string(), 2), i) << got.to_string();
        }
        EXPECT_EQ(r.links[i].messages.value(), expected[i]);
        EXPECT_EQ(r.links[i].dropped.value(), 0U);
    }
    f.close(std::chrono::milliseconds(0));
}

// Without nodrop, a link with no room (here: nobody to connect to, so its queue fills to SNDHWM)
// drops and counts; nothing waits.
TEST(forwarder, without_nodrop_a_full_link_drops_and_counts) {
    rig r;
    egress_config cfg;
    cfg.nodrop = false;
    cfg.sndhwm = 10;
    cfg.forward = {nobody()};
    forwarder f(r.ctx, cfg, r.links, nullptr, r.control);
    for (int i = 0; i < 100; ++i) {
        zmq::message_t body = frame("m");
        ASSERT_TRUE(f.forward("t", body, nullptr));
    }
    EXPECT_EQ(r.links[0].messages.value() + r.links[0].dropped.value(), 100U);
    EXPECT_GE(r.links[0].dropped.value(), 80U);
    EXPECT_LE(r.links[0].messages.value(), 20U);
    f.close(std::chrono::milliseconds(0));
}

// With nodrop, a full link holds forward() until the relay aborts, calling held_up meanwhile.
TEST(forwarder, with_nodrop_a_full_link_waits_until_the_relay_aborts) {
    rig r;
    egress_config cfg;
    cfg.sndhwm = 5;
    cfg.forward = {nobody()};
    forwarder f(r.ctx, cfg, r.links, nullptr, r.control);
    int held = 0;
    bool went = true;
    for (int i = 0; i < 100 && went; ++i) {
        zmq::message_t body = frame("m");
        went = f.forward("t", body, [&] {
            if (++held == 2)
                r.control.abort();
        });
    }
    EXPECT_FALSE(went);
    EXPECT_EQ(held, 2);
    EXPECT_EQ(r.links[0].dropped.value(), 0U);
    f.close(std::chrono::milliseconds(0));
}

} // namespace
} // namespace zrelay
