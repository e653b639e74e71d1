// replay_session: a request's reply read off a real retention_log, with no socket: what a range
// or a snapshot offers, in what order, what it counts missing, and how it resumes after the
// client could take no more.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "replay_session.hpp"
#include "retention_log.hpp"

namespace zrelay {
namespace {

struct sent {
    std::string topic;
    std::string body;
    bool operator==(const sent &) const = default;
};

class replay_session_test : public ::testing::Test {
protected:
    // Appends `count` messages on `topic` (tracked as `index`), bodies "<topic>#<sequence>".
    void publish(std::uint32_t index, const std::string &topic, int count, std::size_t pad = 0) {
        for (int i = 0; i < count; ++i) {
            const std::uint64_t sequence = ++_sequences[index];
            const std::string body = topic + "#" + std::to_string(sequence) + std::string(pad, '~');
            log->append(index, topic, sequence, body);
        }
    }

    static replay_request range(const std::string &topic, std::uint64_t from, std::uint64_t to) {
        return {.request_id = 9, .what = replay_range{topic, from, to}};
    }

    // Serves the whole reply, taking everything offered.
    std::pair<std::vector<sent>, replay_end> run(const replay_request &request) {
        replay_session session(*log, 77, request);
        std::vector<sent> out;
        const replay_send take = [&](std::string_view t, std::string_view b) {
            out.push_back({std::string(t), std::string(b.substr(0, b.find('~')))});
            return true;
        };
        for (int turns = 0; !session.serve(16, take); ++turns)
            EXPECT_LT(turns, 100000) << "never done";
        return {out, session.end()};
    }

    std::optional<retention_log> log{std::in_place, 1 << 20, 100};
    std::vector<std::uint64_t> _sequences = std::vector<std::uint64_t>(100, 0);
};

TEST_F(replay_session_test, a_range_offers_its_topic_in_order_and_says_complete) {
    publish(0, "a", 5);
    publish(1, "b", 3);
    publish(0, "a", 5);
    const auto [out, end] = run(range("a", 4, 7));
    const std::vector<sent> expected{{"a", "a#4"}, {"a", "a#5"}, {"a", "a#6"}, {"a", "a#7"}};
    EXPECT_EQ(out, expected);
    EXPECT_EQ(end.status, replay_status::complete);
    EXPECT_EQ(end.request_id, 9U);
    EXPECT_EQ(end.instance, 77U);
    EXPECT_EQ(end.messages, 4U);
    EXPECT_EQ(end.missing, 0U);
    EXPECT_EQ(end.first_held, 1U);
    EXPECT_EQ(end.newest_sequence, 10U);
}

TEST_F(replay_session_test, to_zero_or_past_the_newest_means_up_to_the_newest) {
    publish(0, "a", 6);
    for (const std::uint64_t to : {std::uint64_t{0}, std::uint64_t{1} << 60}) {
        const auto [out, end] = run(range("a", 5, to));
        EXPECT_EQ(out.size(), 2U);
        EXPECT_EQ(end.status, replay_status::complete);
    }
    // From past the newest: nothing to send, and nothing missing.
    const auto [out, end] = run(range("a", 7, 0));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(end.status, replay_status::complete);
}

TEST_F(replay_session_test, what_was_evicted_is_counted_missing_and_the_rest_sent) {
    log.emplace(16384, 0); // no last values: the oldest simply go
    publish(0, "e", 2000, 40);
    const auto [out, end] = run(range("e", 1, 2000));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(end.status, replay_status::partial);
    EXPECT_EQ(end.messages, out.size());
    EXPECT_EQ(end.missing + end.messages, 2000U);
    EXPECT_EQ(end.first_held, end.missing + 1);
    EXPECT_EQ(out.front().body, "e#" + std::to_string(end.first_held));
    EXPECT_EQ(out.back().body, "e#2000");
}

TEST_F(replay_session_test, an_unknown_topic_has_nothing_and_a_named_range_of_it_is_missing) {
    publish(0, "a", 3);
    auto [out, end] = run(range("zz", 1, 0));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(end.status, replay_status::complete);
    EXPECT_EQ(end.newest_sequence, 0U);
    std::tie(out, end) = run(range("zz", 3, 12));
    EXPECT_EQ(end.status, replay_status::partial);
    EXPECT_EQ(end.missing, 10U);
    // "a" is a prefix of nothing here, and "a" of "ab" must not match.
    publish(2, "ab", 2);
    std::tie(out, end) = run(range("a", 1, 0));
    EXPECT_EQ(out.size(), 3U);
}

TEST_F(replay_session_test, a_refused_message_is_offered_again_on_the_next_turn) {
    publish(0, "a", 10);
    replay_session session(*log, 77, range("a", 1, 10));
    std::vector<std::string> got;
    int room = 3;
    const replay_send take = [&](std::string_view, std::string_view b) {
        if (room == 0)
            return false;
        --room;
        got.emplace_back(b);
        return true;
    };
    EXPECT_FALSE(session.serve(100, take));
    EXPECT_EQ(got.size(), 3U);
    room = 100;
    EXPECT_TRUE(session.serve(100, take));
    std::vector<std::string> expected;
    for (int i = 1; i <= 10; ++i)
        expected.push_back("a#" + std::to_string(i));
    EXPECT_EQ(got, expected);
}

TEST_F(replay_session_test, a_last_value_copied_forward_is_offered_once) {
    log.emplace(16384, 100);
    publish(0, "keep", 3);
    // Enough of another topic to evict "keep"'s chunk many times: its newest is copied along.
    publish(1, "noise", 3000, 40);
    const auto [out, end] = run(range("keep", 1, 0));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out.front().body, "keep#3");
    EXPECT_EQ(end.status, replay_status::partial); // 1 and 2 went with their chunks
    EXPECT_EQ(end.missing, 2U);
    EXPECT_EQ(end.newest_sequence, 3U);
    const auto [again, end2] = run(range("keep", 3, 3));
    EXPECT_EQ(again.size(), 1U);
    EXPECT_EQ(end2.status, replay_status::complete);
}

TEST_F(replay_session_test, eviction_between_two_turns_is_counted_and_the_last_value_still_sent) {
    log.emplace(16384, 100);
    publish(0, "keep", 3);
    replay_session session(*log, 77, range("keep", 1, 0));
    std::vector<std::string> got;
    const replay_send take_one = [&](std::string_view, std::string_view b) {
        if (!got.empty())
            return false; // one, then the client is full
        got.emplace_back(b);
        return true;
    };
    EXPECT_FALSE(session.serve(100, take_one));
    // Meanwhile the relay publishes on: keep#2 is evicted, keep#3 (the newest) moved forward.
    publish(1, "noise", 3000, 40);
    const replay_send take_all = [&](std::string_view, std::string_view b) {
        got.emplace_back(b);
        return true;
    };
    while (!session.serve(100, take_all)) {
    }
    EXPECT_EQ(got, (std::vector<std::string>{"keep#1", "keep#3"}));
    const replay_end end = session.end();
    EXPECT_EQ(end.status, replay_status::partial);
    EXPECT_EQ(end.missing, 1U);
    EXPECT_EQ(end.messages, 2U);
}

TEST_F(replay_session_test, a_snapshot_gives_each_topics_last_value_under_the_prefix) {
    publish(0, "s.one", 2);
    publish(1, "$zrelay/drops", 1);
    publish(2, "s.two", 1);
    publish(3, "t", 4);
    publish(0, "s.one", 1);
    replay_request request{.request_id = 4, .what = replay_snapshot{"s."}};
    auto [out, end] = run(request);
    const std::vector<sent> expected{{"s.one", "s.one#3"}, {"s.two", "s.two#1"}};
    EXPECT_EQ(out, expected);
    EXPECT_EQ(end.status, replay_status::complete);
    EXPECT_EQ(end.messages, 2U);
    // Everything, but never the relay's own topics.
    request.what = replay_snapshot{""};
    std::tie(out, end) = run(request);
    EXPECT_EQ(out.size(), 3U);
    for (const sent &s : out)
        EXPECT_NE(s.topic.rfind("$zrelay/", 0), 0U) << s.topic;
}

} // namespace
} // namespace zrelay
