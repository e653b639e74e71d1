#include "upstream_gaps.hpp"

#include <gtest/gtest.h>

namespace zrelay {
namespace {

using namespace std::chrono_literals;

TEST(upstream_gaps, the_first_message_starts_the_count_and_skips_are_counted) {
    upstream_gaps g(10);
    EXPECT_EQ(g.check(0xA, 0, 5), 0U) << "first seen: this relay may have joined late";
    EXPECT_EQ(g.check(0xA, 0, 6), 0U);
    EXPECT_EQ(g.check(0xA, 0, 9), 2U);
    EXPECT_EQ(g.check(0xA, 0, 9), 0U) << "a repeat misses nothing";
    EXPECT_EQ(g.check(0xA, 0, 8), 0U) << "nor does a reorder";
    EXPECT_EQ(g.check(0xA, 0, 10), 0U);
    // Topics and instances are counted apart.
    EXPECT_EQ(g.check(0xA, 1, 1), 0U);
    EXPECT_EQ(g.check(0xB, 0, 1), 0U);
    EXPECT_EQ(g.check(0xA, 1, 3), 1U);
    EXPECT_EQ(g.check(0xB, 0, 2), 0U);
}

TEST(upstream_gaps, unstamped_and_untracked_messages_are_not_checked) {
    upstream_gaps g(2);
    EXPECT_EQ(g.check(0, 0, 1), 0U);
    EXPECT_EQ(g.check(0, 0, 5), 0U);
    EXPECT_EQ(g.check(0xA, 0, 0), 0U);
    EXPECT_EQ(g.check(0xA, 0, 0), 0U);
    EXPECT_EQ(g.check(0xA, 2, 1), 0U) << "index past max_topics";
    EXPECT_EQ(g.check(0xA, 2, 9), 0U);
    EXPECT_FALSE(g.due(upstream_gaps::clock::now()));
}

// Upstreams per topic are bounded: a fifth instance replaces the least recently seen, whose
// count then starts again without a false gap.
TEST(upstream_gaps, a_topic_remembers_a_few_upstreams_the_least_recent_replaced) {
    upstream_gaps g(1);
    for (std::uint64_t i = 1; i <= upstream_gaps::ways; ++i)
        EXPECT_EQ(g.check(i, 0, 1), 0U);
    EXPECT_EQ(g.check(2, 0, 3), 1U); // 1 is now the least recent
    EXPECT_EQ(g.check(3, 0, 2), 0U);
    EXPECT_EQ(g.check(4, 0, 2), 0U);
    EXPECT_EQ(g.check(99, 0, 1), 0U); // replaces 1
    EXPECT_EQ(g.check(2, 0, 4), 0U) << "2 was kept";
    EXPECT_EQ(g.check(1, 0, 50), 0U) << "1 was forgotten: starts again, replacing 3";
}

TEST(upstream_gaps, notices_go_out_per_upstream_at_most_once_an_interval) {
    upstream_gaps g(10, 1s);
    const auto t0 = upstream_gaps::clock::now();
    (void)g.check(0xA, 0, 1);
    (void)g.check(0xA, 0, 4); // 2 missing
    (void)g.check(0xB, 0, 1);
    (void)g.check(0xB, 0, 3); // 1 missing
    auto n = g.due(t0);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->instance, 0xAU);
    EXPECT_EQ(n->count, 2U);
    EXPECT_EQ(upstream_gaps::content(*n),
              R"({"reason":"upstream_gap","upstream":"000000000000000a","count":2,"total":2})");
    g.sent(*n, t0);
    n = g.due(t0);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->instance, 0xBU);
    g.sent(*n, t0);
    EXPECT_FALSE(g.due(t0));
    (void)g.check(0xA, 0, 7); // 2 more
    EXPECT_FALSE(g.due(t0 + 500ms)) << "within the interval";
    n = g.due(t0 + 1s);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->count, 2U);
    EXPECT_EQ(n->total, 4U);
}

TEST(upstream_gaps, upstreams_past_the_bound_are_announced_together_as_instance_0) {
    upstream_gaps g(1);
    for (std::uint64_t i = 1; i <= upstream_gaps::max_announced + 10; ++i) {
        (void)g.check(i, 0, 1);
        (void)g.check(i, 0, 3);
    }
    std::uint64_t total = 0;
    std::size_t notices = 0;
    const auto now = upstream_gaps::clock::now();
    while (const auto n = g.due(now)) {
        total += n->count;
        ++notices;
        g.sent(*n, now);
    }
    EXPECT_EQ(total, upstream_gaps::max_announced + 10);
    EXPECT_EQ(notices, upstream_gaps::max_announced + 1);
}

} // namespace
} // namespace zrelay
