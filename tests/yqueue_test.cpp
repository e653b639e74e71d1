#include "yqueue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "counting_allocator.hpp"

namespace zrelay {
namespace {

using test::alloc_stats;
using queue = yqueue<int, 4, test::counting_allocator<int>>;

// Slots are raw storage; these tests place ints in them by hand, as ypipe does.
void put(queue &q, int v) {
    std::construct_at(q.back(), v);
    q.push();
}

TEST(yqueue, is_fifo_across_many_chunks) {
    queue q;
    q.push(); // terminator, as ypipe keeps one
    for (int i = 0; i < 41; ++i) {
        std::construct_at(q.back(), i);
        q.push();
    }
    for (int i = 0; i < 41; ++i) {
        EXPECT_EQ(*q.front(), i);
        q.pop();
    }
    EXPECT_EQ(q.front(), q.back()); // only the terminator is left
}

TEST(yqueue, back_is_the_slot_push_added) {
    queue q;
    q.push();
    int *first = q.back();
    put(q, 7);
    EXPECT_EQ(*first, 7);
    EXPECT_NE(q.back(), first);
    EXPECT_EQ(q.front(), first);
}

TEST(yqueue, one_spare_chunk_is_reused_instead_of_allocating) {
    queue q;
    q.push();
    // Warm up: cross a few chunk boundaries so that a spare exists.
    for (int i = 0; i < 16; ++i) {
        put(q, i);
        q.pop();
    }
    alloc_stats::reset();
    for (int i = 0; i < 100000; ++i) {
        put(q, i);
        ASSERT_EQ(*q.front(), i);
        q.pop();
    }
    EXPECT_EQ(alloc_stats::allocations.load(), 0);
    EXPECT_EQ(alloc_stats::deallocations.load(), 0);
}

TEST(yqueue, unpush_across_a_chunk_boundary_frees_the_chunk) {
    const long before = alloc_stats::live.load();
    {
        queue q;
        q.push();
        for (int i = 0; i < 3; ++i)
            put(q, i); // the 4th push filled chunk 1 and linked chunk 2
        const long with_two = alloc_stats::live.load();
        EXPECT_EQ(with_two - before, 2);
        q.unpush(); // end steps back into chunk 1: chunk 2 is freed
        EXPECT_EQ(alloc_stats::live.load() - before, 1);
        EXPECT_EQ(*q.back(), 2); // the newest remaining pushed slot
    }
    EXPECT_EQ(alloc_stats::live.load(), before);
}

TEST(yqueue, chunks_are_cache_line_aligned) {
    queue q;
    q.push();
    for (int i = 0; i < 12; i += 4) {
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q.back()) % cache_line, 0U) << "slot " << i;
        for (int j = 0; j < 4; ++j)
            put(q, i + j);
    }
}

} // namespace
} // namespace zrelay
