// topic_table: per-topic sequences, the bound on tracked topics, and labelled counts read by
// another thread while the writer counts.
#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "topics.hpp"

using namespace zrelay;

namespace {

std::uint64_t labelled_count(const topic_table &t, std::string_view topic) {
    for (const auto &s : t.labelled())
        if (s.topic == topic)
            return s.messages;
    return ~std::uint64_t{0};
}

} // namespace

TEST(topics, sequences_count_per_topic_from_one) {
    topic_table t(10, 10);
    EXPECT_EQ(t.count("a"), 1U);
    EXPECT_EQ(t.count("a"), 2U);
    EXPECT_EQ(t.count("b"), 1U);
    EXPECT_EQ(t.count(""), 1U); // the empty topic is a topic like any other
    EXPECT_EQ(t.count("a"), 3U);
    EXPECT_EQ(t.count("b"), 2U);
    EXPECT_EQ(t.tracked(), 3U);
}

TEST(topics, runs_and_alternations_of_topics_each_keep_their_own_sequence) {
    // count() remembers the last topic it found: runs, switches, a prefix of the last topic and
    // an untracked topic repeated must each still count as their own.
    topic_table t(3, 3);
    EXPECT_EQ(t.count("ab"), 1U);
    EXPECT_EQ(t.count("ab"), 2U);
    EXPECT_EQ(t.count("a"), 1U);
    EXPECT_EQ(t.count("ab"), 3U);
    EXPECT_EQ(t.count("abc"), 1U);
    EXPECT_EQ(t.count("untracked"), 0U); // the cap of 3 is reached
    EXPECT_EQ(t.count("untracked"), 0U);
    EXPECT_EQ(t.count("abc"), 2U);
    EXPECT_EQ(t.count("abc"), 3U);
    EXPECT_EQ(t.count("a"), 2U);
    EXPECT_EQ(labelled_count(t, "ab"), 3U);
    EXPECT_EQ(labelled_count(t, "abc"), 3U);
    EXPECT_EQ(t.other(), 2U);
}

TEST(topics, past_the_cap_new_topics_get_sequence_zero_and_old_ones_go_on) {
    topic_table t(2, 2);
    EXPECT_EQ(t.count("a"), 1U);
    EXPECT_EQ(t.count("b"), 1U);
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(t.count("other" + std::to_string(i)), 0U);
    EXPECT_EQ(t.tracked(), 2U); // memory stays bounded however many topics come
    EXPECT_EQ(t.count("a"), 2U);
    EXPECT_EQ(t.count("b"), 2U);
    EXPECT_EQ(t.other(), 1000U);
}

TEST(topics, topics_under_the_untracked_prefix_use_up_nothing) {
    topic_table t(2, 2, "$zrelay/health/");
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(t.peek("$zrelay/health/" + std::to_string(i)), 0U);
        EXPECT_EQ(t.count("$zrelay/health/" + std::to_string(i)), 0U);
    }
    EXPECT_EQ(t.tracked(), 0U);
    EXPECT_TRUE(t.labelled().empty());
    EXPECT_EQ(t.other(), 100U);
    EXPECT_EQ(t.count("$zrelay/healthy"), 1U); // the prefix is the prefix, not a word
    EXPECT_EQ(t.count("a"), 1U);
}

TEST(topics, peek_tells_the_next_sequence_without_counting) {
    topic_table t(1, 1);
    EXPECT_EQ(t.peek("a"), 1U);
    EXPECT_EQ(t.peek("a"), 1U);
    EXPECT_EQ(t.count("a"), 1U);
    EXPECT_EQ(t.peek("a"), 2U);
    EXPECT_EQ(t.peek("b"), 0U); // the table is full: b would be untracked
    EXPECT_EQ(t.count("a"), 2U);
}

TEST(topics, tracked_topics_get_indexes_in_first_seen_order) {
    topic_table t(3, 1);
    auto c = t.count_indexed("b");
    EXPECT_EQ(c.sequence, 1U);
    EXPECT_EQ(c.index, 0U);
    c = t.count_indexed("a");
    EXPECT_EQ(c.sequence, 1U);
    EXPECT_EQ(c.index, 1U);
    c = t.count_indexed("b"); // the last topic found and a lookup both give the same index
    EXPECT_EQ(c.sequence, 2U);
    EXPECT_EQ(c.index, 0U);
    c = t.count_indexed("a");
    EXPECT_EQ(c.sequence, 2U);
    EXPECT_EQ(c.index, 1U);
    EXPECT_EQ(t.count("c"), 1U); // count() hands out indexes too
    c = t.count_indexed("c");
    EXPECT_EQ(c.sequence, 2U);
    EXPECT_EQ(c.index, 2U);
}

TEST(topics, untracked_topics_have_no_index) {
    topic_table t(1, 1, "$zrelay/health/");
    EXPECT_EQ(t.count_indexed("a").index, 0U);
    const auto past_the_cap = t.count_indexed("b");
    EXPECT_EQ(past_the_cap.sequence, 0U);
    EXPECT_EQ(past_the_cap.index, no_topic_index);
    const auto under_the_prefix = t.count_indexed("$zrelay/health/1");
    EXPECT_EQ(under_the_prefix.sequence, 0U);
    EXPECT_EQ(under_the_prefix.index, no_topic_index);
    EXPECT_EQ(t.count_indexed("a").index, 0U);
}

TEST(topics, indexes_stay_below_max_topics_however_many_topics_come) {
    constexpr std::size_t max_topics = 100;
    topic_table t(max_topics, 0);
    for (int i = 0; i < 1000; ++i) {
        const auto c = t.count_indexed("topic-" + std::to_string(i % 300));
        if (i % 300 < static_cast<int>(max_topics))
            EXPECT_EQ(c.index, static_cast<std::uint32_t>(i % 300));
        else
            EXPECT_EQ(c.index, no_topic_index);
    }
}

TEST(topics, the_first_topics_get_labels_and_the_rest_count_as_other) {
    topic_table t(100, 2);
    t.count("x");
    t.count("y");
    t.count("z"); // tracked (it has a sequence) but not labelled
    t.count("x");
    t.count("z");
    const auto labelled = t.labelled();
    ASSERT_EQ(labelled.size(), 2U);
    EXPECT_EQ(labelled[0].topic, "x");
    EXPECT_EQ(labelled[0].messages, 2U);
    EXPECT_EQ(labelled[1].topic, "y");
    EXPECT_EQ(labelled[1].messages, 1U);
    EXPECT_EQ(t.other(), 2U);
    EXPECT_EQ(t.count("z"), 3U);
}

TEST(topics, no_labels_at_all_counts_everything_as_other) {
    topic_table t(10, 0);
    t.count("a");
    t.count("b");
    EXPECT_TRUE(t.labelled().empty());
    EXPECT_EQ(t.other(), 2U);
}

TEST(topics, more_labels_than_tracked_topics_are_capped_by_the_tracked) {
    topic_table t(1, 5);
    t.count("a");
    t.count("b");
    EXPECT_EQ(t.labelled().size(), 1U);
    EXPECT_EQ(t.other(), 1U);
}

// The metrics thread reads while the publisher counts: under TSan this checks the publication of
// each label's topic; everywhere it checks that a reader never sees a count go backwards or a
// half-written topic.
TEST(topics, a_reader_sees_consistent_labels_while_the_writer_counts) {
    constexpr int topics = 200;
    constexpr int rounds = 50;
    topic_table t(topics, topics);
    std::atomic<bool> done{false};
    std::thread reader([&] {
        std::uint64_t last_first = 0;
        while (!done.load()) {
            const auto labelled = t.labelled();
            for (std::size_t i = 0; i < labelled.size(); ++i)
                ASSERT_EQ(labelled[i].topic, "topic-" + std::to_string(i));
            if (!labelled.empty()) {
                ASSERT_GE(labelled[0].messages, last_first);
                last_first = labelled[0].messages;
            }
        }
    });
    for (int r = 0; r < rounds; ++r)
        for (int i = 0; i < topics; ++i)
            t.count("topic-" + std::to_string(i));
    done.store(true);
    reader.join();
    EXPECT_EQ(labelled_count(t, "topic-0"), static_cast<std::uint64_t>(rounds));
    EXPECT_EQ(labelled_count(t, "topic-199"), static_cast<std::uint64_t>(rounds));
    EXPECT_EQ(t.other(), 0U);
}
