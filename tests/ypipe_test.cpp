#include "ypipe.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "counting_allocator.hpp"

namespace zrelay {
namespace {

using test::alloc_stats;
using test::tracked;

TEST(ypipe, new_pipe_is_empty) {
    ypipe<int, 4> p;
    EXPECT_FALSE(p.check_read());
    EXPECT_FALSE(p.read().has_value());
}

TEST(ypipe, unflushed_writes_are_invisible) {
    ypipe<int, 4> p;
    p.write(1, false);
    p.write(2, false);
    EXPECT_FALSE(p.has_data());
    EXPECT_FALSE(p.read().has_value());
    p.flush();
    EXPECT_EQ(p.read(), 1);
    EXPECT_EQ(p.read(), 2);
    EXPECT_FALSE(p.read().has_value());
}

// N-1, N, N+1 and many N, written in one flush and in lock-step, so that every position of a
// chunk is at some point the first, last, prefetch boundary and terminator.
class ypipe_boundaries : public ::testing::TestWithParam<int> {};

TEST_P(ypipe_boundaries, all_in_one_flush) {
    ypipe<int, 8> p;
    const int count = GetParam();
    for (int i = 0; i < count; ++i)
        p.write(i, false);
    p.flush();
    for (int i = 0; i < count; ++i)
        ASSERT_EQ(p.read(), i);
    EXPECT_FALSE(p.read().has_value());
}

TEST_P(ypipe_boundaries, lock_step) {
    ypipe<int, 8> p;
    const int count = GetParam();
    for (int i = 0; i < count; ++i) {
        p.write(i, false);
        p.flush();
        ASSERT_EQ(p.read(), i);
        ASSERT_FALSE(p.read().has_value());
    }
}

TEST_P(ypipe_boundaries, bursts_of_the_given_size) {
    ypipe<int, 8> p;
    const int burst = GetParam();
    int next_in = 0;
    int next_out = 0;
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < burst; ++i)
            p.write(next_in++, false);
        p.flush();
        while (auto v = p.read())
            ASSERT_EQ(*v, next_out++);
    }
    EXPECT_EQ(next_out, next_in);
}

INSTANTIATE_TEST_SUITE_P(sizes, ypipe_boundaries, ::testing::Values(1, 7, 8, 9, 16, 17, 80, 803));

TEST(ypipe, reader_overtakes_only_what_was_flushed) {
    ypipe<int, 4> p;
    for (int i = 0; i < 6; ++i)
        p.write(i, false);
    p.flush();
    for (int i = 6; i < 10; ++i)
        p.write(i, false); // not flushed
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(p.read(), i);
    EXPECT_FALSE(p.read().has_value());
    p.flush();
    for (int i = 6; i < 10; ++i)
        ASSERT_EQ(p.read(), i);
}

TEST(ypipe, steady_state_allocates_nothing) {
    ypipe<int, 8, test::counting_allocator<int>> p;
    // Warm up across several chunks, so the spare exists.
    for (int i = 0; i < 64; ++i) {
        p.write(i, false);
        p.flush();
        p.read();
    }
    alloc_stats::reset();
    // Bursts of up to N-1 items, read back fully each time: two chunks and the spare suffice.
    int next = 0;
    for (int round = 0; round < 50000; ++round) {
        const int burst = 1 + round % 7;
        for (int i = 0; i < burst; ++i)
            p.write(next + i, false);
        p.flush();
        for (int i = 0; i < burst; ++i)
            ASSERT_EQ(p.read(), next + i);
        next += burst;
    }
    EXPECT_EQ(alloc_stats::allocations.load(), 0);
    EXPECT_EQ(alloc_stats::deallocations.load(), 0);
}

TEST(ypipe, memory_follows_the_backlog_and_is_returned) {
    const long before = alloc_stats::live.load();
    {
        ypipe<int, 8, test::counting_allocator<int>> p;
        for (int i = 0; i < 800; ++i)
            p.write(i, false);
        p.flush();
        // 800 items + terminator in chunks of 8.
        EXPECT_EQ(alloc_stats::live.load() - before, 101);
        for (int i = 0; i < 800; ++i)
            ASSERT_EQ(p.read(), i);
        // Drained: the chunk being read, plus one spare.
        EXPECT_EQ(alloc_stats::live.load() - before, 2);
    }
    EXPECT_EQ(alloc_stats::live.load(), before);
}

TEST(ypipe, incomplete_unit_is_invisible_until_completed) {
    ypipe<int, 4> p;
    p.write(1, false);
    p.write(2, true);
    p.write(3, true);
    p.flush();
    EXPECT_EQ(p.read(), 1);
    EXPECT_FALSE(p.read().has_value());
    p.write(4, false); // completes the unit 2,3,4
    p.flush();
    EXPECT_EQ(p.read(), 2);
    EXPECT_EQ(p.read(), 3);
    EXPECT_EQ(p.read(), 4);
}

TEST(ypipe, unwrite_takes_back_an_incomplete_unit_newest_first) {
    ypipe<int, 4> p;
    p.write(1, false);
    p.write(2, true);
    p.write(3, true);
    EXPECT_EQ(p.unwrite(), 3);
    EXPECT_EQ(p.unwrite(), 2);
    EXPECT_FALSE(p.unwrite().has_value()); // 1 is complete: it stays
    p.write(5, false);
    p.flush();
    EXPECT_EQ(p.read(), 1);
    EXPECT_EQ(p.read(), 5);
    EXPECT_FALSE(p.read().has_value());
}

TEST(ypipe, unwrite_crosses_chunk_boundaries_and_frees_memory) {
    const long before = alloc_stats::live.load();
    {
        ypipe<int, 4, test::counting_allocator<int>> p;
        p.write(0, false);
        for (int i = 1; i <= 10; ++i)
            p.write(i, true);
        const long grown = alloc_stats::live.load() - before;
        EXPECT_EQ(grown, 4); // 12 slots + the always-allocated end slot, in chunks of 4
        for (int i = 10; i >= 1; --i)
            ASSERT_EQ(p.unwrite(), i);
        EXPECT_FALSE(p.unwrite().has_value());
        EXPECT_EQ(alloc_stats::live.load() - before, 1);
        p.flush();
        EXPECT_EQ(p.read(), 0);
        EXPECT_FALSE(p.read().has_value());
    }
    EXPECT_EQ(alloc_stats::live.load(), before);
}

TEST(ypipe, flush_reports_a_sleeping_reader_once) {
    ypipe<int, 4> p;
    p.write(1, false);
    EXPECT_TRUE(p.flush()); // reader never looked: awake
    EXPECT_EQ(p.read(), 1);
    EXPECT_FALSE(p.read().has_value()); // found nothing: now asleep
    p.write(2, false);
    EXPECT_FALSE(p.flush()); // writer must wake it
    p.write(3, false);
    EXPECT_TRUE(p.flush()); // already woken: no second wake-up
    EXPECT_TRUE(p.flush()); // nothing to flush
    EXPECT_EQ(p.read(), 2);
    EXPECT_EQ(p.read(), 3);
}

TEST(ypipe, has_data_spins_without_going_to_sleep) {
    ypipe<int, 4> p;
    EXPECT_FALSE(p.has_data());
    EXPECT_FALSE(p.has_data());
    p.write(1, false);
    EXPECT_TRUE(p.flush()); // reader only polled, so no wake-up is needed
    EXPECT_TRUE(p.has_data());
    EXPECT_EQ(p.read(), 1);
}

TEST(ypipe, flush_without_new_items_never_wakes) {
    ypipe<int, 4> p;
    EXPECT_FALSE(p.read().has_value()); // asleep
    EXPECT_TRUE(p.flush());             // nothing new: nothing to report
    p.write(1, true);
    EXPECT_TRUE(p.flush()); // only an incomplete unit: still nothing to publish
    p.write(2, false);
    EXPECT_FALSE(p.flush());
}

TEST(ypipe, moves_unique_ptr) {
    ypipe<std::unique_ptr<int>, 4> p;
    for (int i = 0; i < 10; ++i)
        p.write(std::make_unique<int>(i), false);
    p.flush();
    for (int i = 0; i < 10; ++i) {
        auto v = p.read();
        ASSERT_TRUE(v && *v);
        EXPECT_EQ(**v, i);
    }
}

TEST(ypipe, moves_zmq_messages_without_copying_their_data) {
    ypipe<zmq::message_t, 4> p;
    std::vector<const void *> buffers;
    for (int i = 0; i < 9; ++i) {
        zmq::message_t m(std::string(100, static_cast<char>('a' + i))); // > VSM: heap buffer
        buffers.push_back(m.data());
        p.write(std::move(m), false);
    }
    p.flush();
    for (int i = 0; i < 9; ++i) {
        auto m = p.read();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->to_string(), std::string(100, static_cast<char>('a' + i)));
        EXPECT_EQ(m->data(), buffers[i]) << "the payload was copied";
    }
}

TEST(ypipe, destruction_destroys_every_object_still_inside) {
    ASSERT_EQ(tracked::alive.load(), 0);
    {
        ypipe<tracked, 4> p;
        for (int i = 0; i < 6; ++i)
            p.write(tracked(i), false);
        p.flush();
        for (int i = 6; i < 9; ++i)
            p.write(tracked(i), false); // written, not flushed
        p.write(tracked(9), true);      // incomplete
        auto first = p.read();
        ASSERT_TRUE(first);
        EXPECT_EQ(first->value, 0);
        EXPECT_EQ(tracked::alive.load(), 10);
    }
    EXPECT_EQ(tracked::alive.load(), 0);
}

TEST(ypipe, probe_looks_without_taking) {
    ypipe<int, 4> p;
    p.write(42, false);
    p.flush();
    ASSERT_TRUE(p.check_read());
    EXPECT_TRUE(p.probe([](const int &v) { return v == 42; }));
    EXPECT_EQ(p.read(), 42);
}

} // namespace
} // namespace zrelay
