// log_tally (daemon/common/log_tally.hpp): a flood costs a line per kind per interval, and the
// lines' counts add up to every event, per kind, whenever it is flushed.
#include "log_tally.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using tally = log_tally<3>;
using clock = tally::clock;

struct sums {
    std::array<std::uint64_t, 3> count{};
    std::array<std::uint64_t, 3> bytes{};
    std::size_t lines = 0;
    void operator()(const tally::line &l) {
        ++lines;
        count.at(l.kind) += l.count;
        bytes.at(l.kind) += l.bytes;
    }
};

TEST(log_tally, the_first_event_of_each_kind_is_written_at_once) {
    tally t;
    const auto now = clock::now();
    const auto a = t.add(0, 10, now);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->kind, 0U);
    EXPECT_EQ(a->count, 1U);
    EXPECT_EQ(a->bytes, 10U);
    // Another kind is not held back by the first one's line.
    const auto b = t.add(2, 5, now);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->kind, 2U);
}

TEST(log_tally, a_flood_is_one_line_per_interval_and_the_counts_add_up) {
    tally t(1s);
    sums seen;
    auto now = clock::now();
    std::array<std::uint64_t, 3> added{};
    // 10 s of a flood: 1000 events a second of kind 0, 30 a second of kind 1.
    for (int ms = 0; ms < 10'000; ++ms) {
        now += 1ms;
        if (auto l = t.add(0, 12, now))
            seen(*l);
        ++added[0];
        if (ms % 33 == 0) {
            if (auto l = t.add(1, 4, now))
                seen(*l);
            ++added[1];
        }
    }
    EXPECT_LE(seen.lines, 2U * 11U) << "rate limited per kind";
    EXPECT_LT(seen.count[0], added[0]) << "the tail is held until flushed";
    t.flush_all(seen);
    EXPECT_EQ(seen.count, added);
    EXPECT_EQ(seen.bytes[0], 12 * added[0]);
    EXPECT_EQ(seen.bytes[1], 4 * added[1]);
    // Nothing left: a second flush writes nothing.
    const std::size_t lines = seen.lines;
    t.flush_all(seen);
    EXPECT_EQ(seen.lines, lines);
}

TEST(log_tally, flush_due_writes_what_waited_an_interval_and_keeps_the_rest) {
    tally t(1s);
    sums seen;
    const auto start = clock::now();
    ASSERT_TRUE(t.add(0, 1, start));
    ASSERT_TRUE(t.add(1, 1, start + 500ms));
    EXPECT_FALSE(t.add(0, 1, start + 100ms));
    EXPECT_FALSE(t.add(0, 1, start + 200ms));
    EXPECT_FALSE(t.add(1, 1, start + 600ms));
    t.flush_due(seen, start + 900ms); // neither kind's last line is a second old
    EXPECT_EQ(seen.lines, 0U);
    t.flush_due(seen, start + 1200ms); // kind 0's is; kind 1's (at 500 ms) is not
    EXPECT_EQ(seen.lines, 1U);
    EXPECT_EQ(seen.count[0], 2U);
    EXPECT_EQ(seen.count[1], 0U);
    t.flush_due(seen, start + 1600ms);
    EXPECT_EQ(seen.lines, 2U);
    EXPECT_EQ(seen.count[1], 1U);
    // Flushed at 1200 ms: a new event of kind 0 waits for 2200 ms.
    EXPECT_FALSE(t.add(0, 1, start + 1300ms));
    const auto later = t.add(0, 1, start + 2200ms);
    ASSERT_TRUE(later.has_value());
    EXPECT_EQ(later->count, 2U);
}

TEST(log_tally, flush_due_with_nothing_held_writes_nothing) {
    tally t(1s);
    sums seen;
    const auto now = clock::now();
    ASSERT_TRUE(t.add(1, 0, now));
    t.flush_due(seen, now + 10s);
    t.flush_all(seen);
    EXPECT_EQ(seen.lines, 0U);
}

} // namespace
} // namespace zrelay
