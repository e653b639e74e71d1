// stage_rig: the relay's stages (ingress, validator, egress, dead letters) built on loopback
// endpoints, and one scenario that both compositions must pass the same way: the tests of
// direct_path and of the pipelined composition (dispatcher, workers, collector) run it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "dead_letters.hpp"
#include "egress.hpp"
#include "ingress.hpp"
#include "relay_counters.hpp"
#include "zrelay/v1/data_message.pb.h"

namespace zrelay::testing {

struct stage_rig {
    explicit stage_rig(std::size_t workers) : counters(workers) {
        // tcp, not inproc: over inproc a message's bytes pass between threads inside libzmq's
        // pipes, which ThreadSanitizer cannot see (libzmq is not instrumented), so it would
        // report the test reading what egress wrote; over tcp they pass through the kernel.
        ingress_config in;
        in.bind = {"tcp://127.0.0.1:*"};
        in.max_message_bytes = 1000;
        egress_config out;
        out.bind = {"tcp://127.0.0.1:*"};
        invalid_config invalid;
        invalid.dead_letter = "tcp://127.0.0.1:*";
        egress_stage = std::make_unique<egress>(
            ctx, out, socket_security{}, 0, stamper(7), topics, counters.egress, control,
            [this] { return drop_totals{}; }, nullptr, egress_links{});
        letters = std::make_unique<dead_letters>(ctx, invalid, socket_security{}, counters.egress);
        ingress_stage = std::make_unique<ingress>(
            ctx, in, socket_security{},
            ingress::options{.take_time = true, .keep_refused = true, .affinity = 0},
            counters.ingress, control);

        sub.set(zmq::sockopt::rcvtimeo, 5000);
        sub.set(zmq::sockopt::subscribe, "t");
        sub.connect(egress_stage->bound().front());
        dead.set(zmq::sockopt::rcvtimeo, 5000);
        dead.set(zmq::sockopt::subscribe, "");
        dead.connect(letters->bound().front());
        push.connect(ingress_stage->bound().front());
    }

    zmq::context_t ctx;
    pipeline_control control;
    relay_counters counters;
    topic_table topics{100, 100};
    std::unique_ptr<egress> egress_stage;
    std::unique_ptr<dead_letters> letters;
    std::unique_ptr<ingress> ingress_stage;
    zmq::socket_t sub{ctx, zmq::socket_type::sub};
    zmq::socket_t dead{ctx, zmq::socket_type::sub};
    zmq::socket_t push{ctx, zmq::socket_type::push};
};

inline std::string message(std::int64_t ts) {
    v1::DataMessage m;
    m.set_topic("t");
    m.set_timestamp(ts);
    return m.SerializeAsString();
}

// Runs `composition` (started by the caller on its threads) through the scenario: valid
// messages interleaved with malformed, oversize and multi-frame ones; the valid ones arrive in
// order, stamped 1..n, each refused one as a dead letter with its reason; a drain then ends
// every thread. `join` waits for the caller's threads.
// Reads one relayed message: its timestamp and relay_sequence; nullopt on timeout.
inline std::optional<std::pair<std::int64_t, std::uint64_t>> next_message(zmq::socket_t &sub) {
    zmq::message_t topic;
    zmq::message_t body;
    if (!sub.recv(topic) || !topic.more() || !sub.recv(body))
        return std::nullopt;
    v1::DataMessage m;
    if (!m.ParseFromArray(body.data(), static_cast<int>(body.size())) || m.relay_received_ns() <= 0)
        return std::nullopt;
    return std::pair{m.timestamp(), m.relay_sequence()};
}

// Runs a composition (started by the caller on its threads) through the scenario: valid
// messages interleaved with malformed, oversize and multi-frame ones; the valid ones arrive in
// order with no gap in their sequence, each refused one as a dead letter with its reason in
// order; a drain then ends every thread, with nothing unaccounted. `join` waits for the
// caller's threads; if the scenario fails half-way it aborts the composition first. Its ASSERTs
// return from it alone: call it inside ASSERT_NO_FATAL_FAILURE.
template <typename Join>
void run_scenario(stage_rig &rig, Join join) {
    struct abort_unless_drained {
        stage_rig &rig;
        Join &join;
        bool drained = false;
        ~abort_unless_drained() {
            if (!drained) {
                rig.control.abort();
                join();
            }
        }
    } guard{rig, join};

    // Probes until one comes back: the subscription has reached egress (its thread reads it
    // every idle_poll at the latest). Probes published before that went to nobody.
    const std::string probe = message(-1);
    rig.sub.set(zmq::sockopt::rcvtimeo, 100);
    std::optional<std::pair<std::int64_t, std::uint64_t>> got;
    for (int i = 0; i < 100 && !got; ++i) {
        rig.push.send(zmq::buffer(probe));
        got = next_message(rig.sub);
    }
    ASSERT_TRUE(got) << "nothing came through";
    rig.sub.set(zmq::sockopt::rcvtimeo, 5000);
    std::uint64_t last_sequence = got->second;

    constexpr int count = 3000;
    int refused = 0;
    for (int i = 0; i < count; ++i) {
        rig.push.send(zmq::buffer(message(i)));
        if (i % 100 == 0) {
            rig.push.send(zmq::str_buffer("\xff\xff"));                    // malformed
            rig.push.send(zmq::buffer(std::string(2000, 'x')));            // oversize
            rig.push.send(zmq::str_buffer("a"), zmq::send_flags::sndmore); // multipart
            rig.push.send(zmq::str_buffer("b"));
            refused += 3;
        }
    }
    for (std::int64_t next = 0; next < count;) {
        got = next_message(rig.sub);
        ASSERT_TRUE(got) << "stalled at " << next;
        ASSERT_EQ(got->second, last_sequence + 1) << "a gap or a repeat at " << next;
        last_sequence = got->second;
        if (got->first < 0)
            continue; // a probe still queued
        ASSERT_EQ(got->first, next);
        ++next;
    }
    static constexpr const char *reasons[] = {"malformed", "oversize", "multipart"};
    for (int i = 0; i < refused; ++i) {
        zmq::message_t frame;
        ASSERT_TRUE(rig.dead.recv(frame)) << "dead letter " << i << " of " << refused;
        EXPECT_EQ(frame.to_string(), reasons[i % 3]);
        while (frame.more())
            ASSERT_TRUE(rig.dead.recv(frame));
    }
    rig.control.request_drain(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    join();
    guard.drained = true;
    EXPECT_FALSE(rig.control.aborted());
    EXPECT_EQ(rig.counters.unaccounted(), 0U);
    std::uint64_t dead_letters_sent = 0;
    rig.counters.for_each(
        [&](const thread_counters &c) { dead_letters_sent += c.dead_letters.value(); });
    EXPECT_EQ(dead_letters_sent, static_cast<std::uint64_t>(refused));
}

} // namespace zrelay::testing
