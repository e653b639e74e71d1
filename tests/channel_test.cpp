// Two-thread stress tests of the pipe and its wake-up: every item arrives exactly once and in
// order, under random bursts, random flush points, incomplete units taken back with unwrite, and
// a reader that keeps falling asleep. Run under ThreadSanitizer in CI.
#include "channel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <zmq.hpp>

namespace zrelay {
namespace {

using std::chrono::milliseconds;

std::uint64_t stress_items(std::uint64_t fallback) {
    const char *env = std::getenv("ZRELAY_STRESS_ITEMS");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : fallback;
}

// The writer side of every stress test: consecutive numbers in random bursts, with random flush
// points, random pauses (so that the reader runs dry and sleeps), and multi-part units of which a
// random tail is taken back with unwrite() before the unit is completed.
template <typename Channel, typename Make>
std::uint64_t stress_writer(Channel &ch, std::uint64_t total, unsigned seed, Make make) {
    std::mt19937_64 rng(seed);
    std::uint64_t next = 0;
    std::uint64_t wakeups = 0;
    while (next < total) {
        const auto burst = std::min<std::uint64_t>(1 + rng() % 300, total - next);
        for (std::uint64_t i = 0; i < burst && next < total; ++i) {
            const auto dice = rng() % 64;
            if (dice == 0 && total - next >= 4) {
                // A 4-part unit; take back 0-3 parts, then complete it.
                for (int part = 0; part < 3; ++part)
                    ch.write(make(next++), true);
                for (auto undo = rng() % 4; undo > 0; --undo) {
                    auto taken = ch.unwrite();
                    if (!taken)
                        std::abort();
                    --next;
                }
                ch.write(make(next++), false);
            } else {
                ch.write(make(next++), false);
            }
            if (rng() % 16 == 0)
                wakeups += ch.flush() ? 1 : 0;
        }
        wakeups += ch.flush() ? 1 : 0;
        if (rng() % 8 == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 50));
        else if (rng() % 4 == 0)
            std::this_thread::yield();
    }
    return wakeups;
}

// Its ASSERTs return from it alone: call it inside ASSERT_NO_FATAL_FAILURE. The writers are
// jthreads, joined however the reader leaves (the channel is unbounded, so they finish): a
// std::thread left joinable by a failed ASSERT ended the whole binary in std::terminate.
template <unsigned Spin>
void run_int_stress(std::uint64_t total) {
    channel<std::uint64_t, 64> ch(Spin);
    std::uint64_t wakeups = 0;
    std::jthread writer(
        [&] { wakeups = stress_writer(ch, total, 42 + Spin, [](std::uint64_t v) { return v; }); });
    std::uint64_t expected = 0;
    while (expected < total) {
        ASSERT_TRUE(ch.wait(milliseconds(10000))) << "stalled at " << expected;
        while (auto v = ch.read()) {
            ASSERT_EQ(*v, expected) << "lost, duplicated or reordered";
            ++expected;
        }
    }
    writer.join();
    EXPECT_FALSE(ch.read().has_value()) << "more items than were written";
    // The sleep/wake path must have been exercised, or this test proved nothing about it.
    EXPECT_GT(wakeups, 0U);
    ::testing::Test::RecordProperty("wakeups", std::to_string(wakeups));
}

TEST(channel_stress, every_item_once_in_order_reader_sleeping_at_once) {
    ASSERT_NO_FATAL_FAILURE(run_int_stress<0>(stress_items(3'000'000)));
}

TEST(channel_stress, every_item_once_in_order_reader_spinning_first) {
    ASSERT_NO_FATAL_FAILURE(run_int_stress<500>(stress_items(3'000'000)));
}

TEST(channel_stress, move_only_payloads_are_neither_leaked_nor_doubled) {
    const std::uint64_t total = stress_items(3'000'000) / 4;
    channel<std::unique_ptr<std::uint64_t>, 32> ch(0);
    std::jthread writer([&] {
        stress_writer(ch, total, 7,
                      [](std::uint64_t v) { return std::make_unique<std::uint64_t>(v); });
    });
    std::uint64_t expected = 0;
    while (expected < total) {
        ASSERT_TRUE(ch.wait(milliseconds(10000))) << "stalled at " << expected;
        while (auto v = ch.read()) {
            ASSERT_TRUE(*v);
            ASSERT_EQ(**v, expected);
            ++expected;
        }
    }
    writer.join();
}

// The reader as the relay's publisher runs it: asleep in zmq_poll on the channel's fd together
// with a zmq socket, re-arming and draining whenever the fd fires.
TEST(channel_stress, reader_sleeping_in_zmq_poll) {
    const std::uint64_t total = stress_items(3'000'000) / 4;
    zmq::context_t ctx;
    zmq::socket_t idle(ctx, zmq::socket_type::pull);
    idle.bind("inproc://channel-stress-idle");
    channel<std::uint64_t, 64> ch(0);
    std::jthread writer([&] { stress_writer(ch, total, 99, [](std::uint64_t v) { return v; }); });
    std::uint64_t expected = 0;
    while (expected < total) {
        while (auto v = ch.read()) {
            ASSERT_EQ(*v, expected);
            ++expected;
        }
        if (expected == total)
            break;
        zmq::pollitem_t items[] = {{idle.handle(), 0, ZMQ_POLLIN, 0},
                                   {nullptr, ch.fd(), ZMQ_POLLIN, 0}};
        ASSERT_EQ(zmq::poll(items, 2, milliseconds(10000)), 1) << "stalled at " << expected;
        ASSERT_TRUE(items[1].revents & ZMQ_POLLIN);
        ch.rearm();
    }
    writer.join();
}

TEST(channel, wait_times_out_on_an_empty_channel) {
    channel<int, 8> ch(10);
    EXPECT_FALSE(ch.wait(milliseconds(5)));
    ch.write(1);
    EXPECT_TRUE(ch.flush()); // the wait left the reader asleep
    EXPECT_TRUE(ch.wait(milliseconds(0)));
    EXPECT_EQ(ch.read(), 1);
}

} // namespace
} // namespace zrelay
