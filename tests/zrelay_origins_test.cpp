// The origin check across chains of relays (tools/zrelay_origins.*), fed as `zrelay sub` feeds
// it: each message's last-relay stamp through gap_tracker first, then its origin stamp with what
// gap_tracker found. No socket.
#include "zrelay_origins.hpp"

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace zrelay::tool {
namespace {

constexpr std::uint64_t origin = 0x0a0a0a0a0a0a0a0a;          // relay_hops[0]: the first relay
constexpr std::uint64_t other_origin = 0x0c0c0c0c0c0c0c0c;    // a second source of the topic
constexpr std::uint64_t relay = 0x0123456789abcdef;           // the last relay
constexpr std::uint64_t restarted_relay = 0x00000000deadbeef; // the last relay, restarted

class origin_tracker_test : public ::testing::Test {
protected:
    // A message that crossed `from` (sequence `first`) and then the last relay `via` (`last`).
    origin_event chain(std::uint64_t first, std::uint64_t via, std::uint64_t last,
                       std::uint64_t from = origin, const std::string &topic = "t") {
        return see(topic, via, last, {from, first});
    }
    // A message that crossed the last relay only.
    origin_event direct(std::uint64_t via, std::uint64_t last, const std::string &topic = "t") {
        return see(topic, via, last, {});
    }
    origin_event see(const std::string &topic, std::uint64_t via, std::uint64_t last,
                     relay_mark first) {
        _last_gap = _gaps.observe(topic, via, last);
        return _origins.observe(topic, first, via, _last_gap);
    }
    // What the subscriber saw of the origin's stream, all told: it must equal what the origin
    // published up to the last message received.
    [[nodiscard]] std::uint64_t accounted(std::uint64_t received) const {
        return received + _gaps.totals().missing + _origins.totals().lost;
    }

    gap_tracker _gaps{100};
    origin_tracker _origins{100};
    gap_event _last_gap;
};

TEST_F(origin_tracker_test, an_unbroken_chain_shows_nothing) {
    for (std::uint64_t s = 1; s <= 5; ++s)
        EXPECT_EQ(chain(s + 10, relay, s).what, origin_event::kind::none);
    EXPECT_EQ(_origins.totals().checked, 5U);
    EXPECT_EQ(_origins.totals().lost, 0U);
    EXPECT_EQ(_origins.topics(), 1U);
}

TEST_F(origin_tracker_test, a_gap_at_the_last_relay_only_counts_once_as_its_gap) {
    chain(1, relay, 1);
    chain(2, relay, 2);
    // The last relay numbered 3 and 4 (origin's 3 and 4) and this subscriber missed them.
    EXPECT_EQ(chain(5, relay, 5).what, origin_event::kind::none);
    EXPECT_EQ(_last_gap.what, gap_event::kind::gap);
    EXPECT_EQ(_gaps.totals().missing, 2U);
    EXPECT_EQ(_origins.totals().losses, 0U);
    EXPECT_EQ(_origins.totals().lost, 0U);
    EXPECT_EQ(accounted(3), 5U);
}

TEST_F(origin_tracker_test, a_last_relay_restart_without_loss_shows_nothing) {
    for (std::uint64_t s = 1; s <= 3; ++s)
        chain(s, relay, s);
    // Restarted: its count starts again at 1, the origin goes on at 4.
    EXPECT_EQ(chain(4, restarted_relay, 1).what, origin_event::kind::none);
    EXPECT_EQ(_last_gap.what, gap_event::kind::restart);
    EXPECT_EQ(chain(5, restarted_relay, 2).what, origin_event::kind::none);
    EXPECT_EQ(_gaps.totals().restarts, 1U);
    EXPECT_EQ(_origins.totals().lost, 0U);
    EXPECT_EQ(accounted(5), 5U);
}

TEST_F(origin_tracker_test, a_last_relay_restart_with_loss_names_the_origin_and_the_restart) {
    for (std::uint64_t s = 1; s <= 3; ++s)
        chain(s, relay, s);
    // The origin's 4..6 died with the last relay; its new instance starts at 1 with the 7th.
    const origin_event event = chain(7, restarted_relay, 1);
    EXPECT_EQ(_last_gap.what, gap_event::kind::restart); // gap_tracker sees no loss at all
    ASSERT_EQ(event.what, origin_event::kind::loss);
    EXPECT_EQ(event.origin, origin);
    EXPECT_EQ(event.first, 4U);
    EXPECT_EQ(event.last, 6U);
    EXPECT_EQ(event.lost, 3U);
    EXPECT_EQ(event.relay, restarted_relay);
    EXPECT_EQ(event.restarted, relay);
    EXPECT_EQ(describe("t", event), "topic \"t\": 3 lost between relay 0a0a0a0a0a0a0a0a and here "
                                    "(its sequences 4..6; relay 0123456789abcdef restarted)");
    EXPECT_EQ(_origins.totals().losses, 1U);
    EXPECT_EQ(_origins.totals().lost, 3U);
    EXPECT_EQ(accounted(4), 7U);
    // The new instance's own gaps are its gaps again, not the origin's losses.
    EXPECT_EQ(chain(10, restarted_relay, 4).what, origin_event::kind::none);
    EXPECT_EQ(_gaps.totals().missing, 2U);
    EXPECT_EQ(accounted(5), 10U);
}

TEST_F(origin_tracker_test, joining_the_restarted_relay_late_counts_what_it_published_before) {
    chain(1, relay, 1);
    chain(2, relay, 2);
    // Restarted, it published the origin's 3..8 as 1..6 before this subscriber was back:
    // gap_tracker starts the new count at 7 and says nothing of them.
    const origin_event event = chain(9, restarted_relay, 7);
    ASSERT_EQ(event.what, origin_event::kind::loss);
    EXPECT_EQ(event.lost, 6U);
    EXPECT_EQ(accounted(3), 9U);
}

TEST_F(origin_tracker_test, a_loss_before_the_last_relay_says_it_never_numbered_them) {
    chain(1, relay, 1);
    // A middle relay restarted or a link dropped: the last relay's count goes on unbroken.
    const origin_event event = chain(4, relay, 2);
    EXPECT_EQ(_last_gap.what, gap_event::kind::none);
    ASSERT_EQ(event.what, origin_event::kind::loss);
    EXPECT_EQ(event.restarted, 0U);
    EXPECT_EQ(describe("t", event), "topic \"t\": 2 lost between relay 0a0a0a0a0a0a0a0a and here "
                                    "(its sequences 2..3; before relay 0123456789abcdef numbered "
                                    "them)");
    EXPECT_EQ(accounted(2), 4U);
}

TEST_F(origin_tracker_test, a_skip_larger_than_the_gap_beside_it_counts_only_the_rest) {
    chain(1, relay, 1);
    // The last relay's 2..3 were missed here (its gap), and the origin skipped 2..6: three of
    // those never reached the last relay.
    const origin_event event = chain(7, relay, 4);
    EXPECT_EQ(_gaps.totals().missing, 2U);
    ASSERT_EQ(event.what, origin_event::kind::loss);
    EXPECT_EQ(event.lost, 3U);
    EXPECT_EQ(describe("t", event),
              "topic \"t\": 3 lost between relay 0a0a0a0a0a0a0a0a and here (its sequences 2..6, 2 "
              "of them in the gaps reported; before relay 0123456789abcdef numbered them)");
    EXPECT_EQ(accounted(2), 7U);
}

TEST_F(origin_tracker_test, a_repeat_the_last_relay_shows_is_not_counted_again) {
    chain(1, relay, 1);
    chain(2, relay, 2);
    EXPECT_EQ(chain(2, relay, 2).what, origin_event::kind::none);
    EXPECT_EQ(_last_gap.what, gap_event::kind::duplicate);
    EXPECT_EQ(_gaps.totals().duplicates, 1U);
    EXPECT_EQ(_origins.totals().duplicates, 0U);
    EXPECT_EQ(chain(3, relay, 3).what, origin_event::kind::none);
}

TEST_F(origin_tracker_test, a_repeat_only_the_origin_shows_is_a_duplicate_and_loses_nothing) {
    chain(1, relay, 1);
    chain(2, relay, 2);
    chain(3, relay, 3);
    // The last relay numbered it anew (a middle relay sent it twice).
    const origin_event event = chain(2, relay, 4);
    ASSERT_EQ(event.what, origin_event::kind::duplicate);
    EXPECT_EQ(describe("t", event), "duplicate or out-of-order on topic \"t\" from relay "
                                    "0a0a0a0a0a0a0a0a: its sequence 2 after 3");
    EXPECT_EQ(_origins.totals().duplicates, 1U);
    // The origin's count stays at its highest: 4 comes next, nothing lost.
    EXPECT_EQ(chain(4, relay, 5).what, origin_event::kind::none);
    EXPECT_EQ(_origins.totals().lost, 0U);
}

TEST_F(origin_tracker_test, messages_without_hops_are_not_checked_and_keep_nothing) {
    direct(relay, 1);
    direct(relay, 4);
    EXPECT_EQ(_last_gap.what, gap_event::kind::gap);
    EXPECT_EQ(_origins.topics(), 0U);
    EXPECT_EQ(_origins.totals().checked, 0U);
    EXPECT_EQ(_gaps.totals().missing, 2U);
}

TEST_F(origin_tracker_test, a_gap_shown_by_a_message_without_hops_explains_the_origins_skip) {
    chain(1, relay, 1);
    direct(relay, 2); // a producer of the last relay's own, on the same topic
    // The last relay's 3 (the origin's 2) was missed here; the next one to show the gap is again
    // a producer's.
    direct(relay, 4);
    EXPECT_EQ(chain(3, relay, 5).what, origin_event::kind::none);
    EXPECT_EQ(_origins.totals().lost, 0U);
}

TEST_F(origin_tracker_test, several_origins_on_a_topic_are_checked_each_on_its_own) {
    chain(1, relay, 1, origin);
    chain(1, relay, 2, other_origin);
    chain(2, relay, 3, origin);
    // The other origin's 2 was the last relay's 4, missed here.
    EXPECT_EQ(chain(3, relay, 5, origin).what, origin_event::kind::none);
    EXPECT_EQ(chain(3, relay, 6, other_origin).what, origin_event::kind::none);
    // The other origin's 4 never reached the last relay.
    const origin_event event = chain(5, relay, 7, other_origin);
    ASSERT_EQ(event.what, origin_event::kind::loss);
    EXPECT_EQ(event.origin, other_origin);
    EXPECT_EQ(event.lost, 1U);
    EXPECT_EQ(accounted(6), 5U + 3U);
}

TEST_F(origin_tracker_test, a_new_origin_instance_starts_its_own_count) {
    chain(1, relay, 1);
    chain(2, relay, 2);
    // The origin restarted: its count starts again, which is no loss.
    EXPECT_EQ(chain(1, relay, 3, other_origin).what, origin_event::kind::none);
    EXPECT_EQ(chain(2, relay, 4, other_origin).what, origin_event::kind::none);
    EXPECT_EQ(_origins.totals().lost, 0U);
    EXPECT_EQ(_origins.totals().duplicates, 0U);
}

TEST_F(origin_tracker_test, start_sets_the_count_without_judging) {
    chain(1, relay, 1);
    _origins.start("t", {origin, 8}, relay); // a snapshot's last value
    EXPECT_EQ(_origins.totals().lost, 0U);
    EXPECT_EQ(chain(9, relay, 2).what, origin_event::kind::none);
    _origins.start("t", {}, relay); // no hops: nothing to start
    EXPECT_EQ(chain(10, relay, 3).what, origin_event::kind::none);
}

TEST(origin_tracker_bounds, topics_past_the_bound_and_origins_past_the_few_are_forgotten) {
    origin_tracker origins(1);
    (void)origins.observe("a", {origin, 1}, relay, {});
    (void)origins.observe("b", {origin, 1}, relay, {});
    (void)origins.observe("b", {origin, 5}, relay, {}); // not checked: past the bound
    EXPECT_EQ(origins.topics(), 1U);
    EXPECT_EQ(origins.totals().lost, 0U);

    // One more origin than a topic keeps: the least recently seen one goes.
    for (std::uint64_t i = 1; i <= origin_tracker::max_origins; ++i)
        (void)origins.observe("a", {origin + i, 1}, relay, {});
    // `origin` was forgotten: its skip is a fresh start, not a loss.
    EXPECT_EQ(origins.observe("a", {origin, 9}, relay, {}).what, origin_event::kind::none);
    // The most recent ones are still checked.
    const std::uint64_t newest = origin + origin_tracker::max_origins;
    EXPECT_EQ(origins.observe("a", {newest, 3}, relay, {}).what, origin_event::kind::loss);
    EXPECT_EQ(origins.totals().lost, 1U);
}

// A stream the origin numbered 1..n through a last relay that restarts now and then (losing what
// it held), loses some on the way to it, and whose subscriber misses some: everything the origin
// published from the first message received to the last is received or reported, once.
TEST(origin_tracker_totals, received_plus_reported_is_what_the_origin_published) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937_64 random(seed);
        gap_tracker gaps(100);
        origin_tracker origins(100);
        std::uint64_t instance = relay;
        std::uint64_t numbered = 0; // by the last relay's current instance
        std::uint64_t received = 0;
        std::uint64_t first_received = 0; // before it, nothing was promised to the subscriber
        std::uint64_t last_received = 0;
        for (std::uint64_t s = 1; s <= 5000; ++s) {
            const auto roll = random() % 1000;
            if (roll < 5) {
                ++instance; // the last relay restarts; what it held is gone
                numbered = 0;
            }
            if (roll < 40)
                continue; // never numbered by the last relay
            ++numbered;
            if (random() % 10 == 0)
                continue; // numbered, and missed by the subscriber
            ++received;
            first_received = first_received == 0 ? s : first_received;
            last_received = s;
            (void)origins.observe("t", {origin, s}, instance,
                                  gaps.observe("t", instance, numbered));
        }
        EXPECT_GT(origins.totals().lost, 0U) << "seed " << seed;
        EXPECT_GT(gaps.totals().missing, 0U) << "seed " << seed;
        EXPECT_EQ(received + gaps.totals().missing + origins.totals().lost,
                  last_received - first_received + 1)
            << "seed " << seed;
    }
}

} // namespace
} // namespace zrelay::tool
