#include "credits.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include <poll.h>

#include "channel.hpp"
#include "counting_allocator.hpp"

namespace zrelay {
namespace {

using std::chrono::milliseconds;
using test::alloc_stats;

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

TEST(credits, acquire_takes_at_most_what_is_left) {
    credits c(10);
    EXPECT_EQ(c.acquire(4), 4);
    EXPECT_EQ(c.acquire(100), 6);
    EXPECT_EQ(c.acquire(1), 0);
    EXPECT_EQ(c.in_flight(), 10);
    c.release(3);
    EXPECT_EQ(c.in_flight(), 7);
    EXPECT_EQ(c.acquire(5), 3);
}

TEST(credits, only_a_release_from_zero_signals) {
    credits c(4);
    c.acquire(2);
    c.release(1);
    EXPECT_FALSE(readable(c.fd())); // nobody can be waiting: credits were left
    c.acquire(3);
    c.release(2);
    EXPECT_TRUE(readable(c.fd()));
    c.rearm();
    EXPECT_FALSE(readable(c.fd()));
}

TEST(credits, wait_times_out_when_exhausted_and_returns_when_released) {
    credits c(1);
    ASSERT_EQ(c.acquire(1), 1);
    EXPECT_FALSE(c.wait(milliseconds(5)));
    std::thread releaser([&] { c.release(1); });
    EXPECT_TRUE(c.wait(milliseconds(-1))); // a lost wake-up hangs here until CTest's timeout
    releaser.join();
    EXPECT_EQ(c.acquire(1), 1);
}

// The bounded pipeline: a fast producer admits items only with a credit, a slow consumer returns
// credits in batches. The producer must stall at the cap, every item must arrive in order, and
// the pipe's memory must stay within capacity / N + 3 chunks however far the producer runs ahead.
TEST(credits, bound_a_pipe_memory_and_stop_its_producer) {
    constexpr std::int64_t capacity = 1000;
    constexpr std::size_t chunk_items = 64;
    constexpr std::uint64_t total = 300'000;
    const long before = alloc_stats::live.load();
    alloc_stats::reset();
    std::uint64_t stalls = 0;
    {
        credits c(capacity);
        channel<std::uint64_t, chunk_items, test::counting_allocator<std::uint64_t>> ch(0);
        std::thread producer([&] {
            std::uint64_t next = 0;
            while (next < total) {
                auto got =
                    c.acquire(static_cast<std::int64_t>(std::min<std::uint64_t>(64, total - next)));
                if (got == 0) {
                    ++stalls;
                    c.wait(milliseconds(-1));
                    continue;
                }
                for (; got > 0; --got)
                    ch.write(next++);
                ch.flush();
            }
        });
        std::uint64_t expected = 0;
        std::int64_t unreturned = 0;
        while (expected < total) {
            ASSERT_TRUE(ch.wait(milliseconds(10000))) << "stalled at " << expected;
            while (auto v = ch.read()) {
                ASSERT_EQ(*v, expected++);
                ASSERT_LE(c.in_flight(), capacity);
                if (++unreturned == 50) { // a slow consumer that returns credits in batches
                    std::this_thread::yield();
                    c.release(unreturned);
                    unreturned = 0;
                }
            }
            c.release(unreturned);
            unreturned = 0;
        }
        producer.join();
        EXPECT_EQ(c.in_flight(), 0);
    }
    EXPECT_EQ(alloc_stats::live.load(), before);
    const long peak_chunks = alloc_stats::peak_live.load() - before;
    EXPECT_LE(peak_chunks, static_cast<long>(capacity / chunk_items + 3));
    EXPECT_GT(stalls, 0U) << "the producer never reached the cap: the test proved nothing";
    RecordProperty("peak_chunks", std::to_string(peak_chunks));
    RecordProperty("stalls", std::to_string(stalls));
}

} // namespace
} // namespace zrelay
