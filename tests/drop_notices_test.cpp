// drop_notices: one notice per reason per interval, carrying what accumulated meanwhile.
#include <gtest/gtest.h>

#include "drop_notices.hpp"

using namespace zrelay;
using namespace std::chrono_literals;

namespace {

constexpr auto malformed = static_cast<std::size_t>(invalid_reason::malformed);
constexpr auto oversize = static_cast<std::size_t>(invalid_reason::oversize);

drop_notices::clock::time_point at(std::chrono::milliseconds ms) {
    return drop_notices::clock::time_point(ms);
}

} // namespace

TEST(drop_notices, nothing_dropped_nothing_due) {
    const drop_notices n;
    EXPECT_FALSE(n.due(drop_totals{}, at(0ms)));
}

TEST(drop_notices, the_first_drop_of_a_reason_is_due_at_once) {
    const drop_notices n;
    drop_totals totals{};
    totals[malformed] = 3;
    const auto due = n.due(totals, at(5000ms));
    ASSERT_TRUE(due);
    EXPECT_EQ(due->reason, malformed);
    EXPECT_EQ(due->count, 3U);
    EXPECT_EQ(due->total, 3U);
}

TEST(drop_notices, a_reason_waits_an_interval_and_then_carries_the_count_since) {
    drop_notices n(1s);
    drop_totals totals{};
    totals[malformed] = 1;
    n.sent(*n.due(totals, at(0ms)), at(0ms));
    totals[malformed] = 50;
    EXPECT_FALSE(n.due(totals, at(999ms))) << "two notices for one reason within a second";
    const auto due = n.due(totals, at(1000ms));
    ASSERT_TRUE(due);
    EXPECT_EQ(due->count, 49U);
    EXPECT_EQ(due->total, 50U);
}

TEST(drop_notices, reasons_are_limited_separately) {
    drop_notices n(1s);
    drop_totals totals{};
    totals[malformed] = 1;
    n.sent(*n.due(totals, at(0ms)), at(0ms));
    totals[oversize] = 2;
    totals[malformed] = 2;
    const auto due = n.due(totals, at(10ms));
    ASSERT_TRUE(due);
    EXPECT_EQ(due->reason, oversize);
    n.sent(*due, at(10ms));
    EXPECT_FALSE(n.due(totals, at(20ms)));
}

TEST(drop_notices, a_notice_not_sent_stays_due_and_grows) {
    const drop_notices n;
    drop_totals totals{};
    totals[drain_deadline] = 4;
    ASSERT_TRUE(n.due(totals, at(0ms)));
    totals[drain_deadline] = 9;
    const auto due = n.due(totals, at(1ms));
    ASSERT_TRUE(due);
    EXPECT_EQ(due->count, 9U);
}

TEST(drop_notices, content_is_one_json_object_naming_the_reason) {
    EXPECT_EQ(drop_notices::content({malformed, 3, 10}),
              R"({"reason":"malformed","count":3,"total":10})");
    EXPECT_EQ(drop_notices::content({drain_deadline, 1, 1}),
              R"({"reason":"drain_deadline","count":1,"total":1})");
    EXPECT_EQ(
        drop_notices::content({static_cast<std::size_t>(invalid_reason::reserved_topic), 1, 1}),
        R"({"reason":"reserved_topic","count":1,"total":1})");
}

TEST(drop_notices, waiving_the_interval_makes_pending_reasons_due_with_their_counts) {
    drop_notices n(1s);
    drop_totals totals{};
    totals[malformed] = 5;
    n.sent(*n.due(totals, at(0ms)), at(0ms));
    totals[malformed] = 7;
    ASSERT_FALSE(n.due(totals, at(1ms)));
    n.waive_interval();
    const auto due = n.due(totals, at(1ms));
    ASSERT_TRUE(due);
    EXPECT_EQ(due->count, 2U) << "the last word repeats what earlier notices reported";
}
