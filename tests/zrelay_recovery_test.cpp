// `zrelay sub`'s recovery state machine (tools/zrelay_recovery.*), fed events by hand: live and
// replayed messages, end frames and timeouts, with a sink that records what it asks for. No
// socket, no clock: a timeout is an event like the others.
#include "zrelay_recovery.hpp"

#include <algorithm>
#include <deque>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace zrelay::tool {
namespace {

constexpr std::uint64_t instance = 0x0123456789abcdef;
constexpr std::uint64_t other_instance = 0xdeadbeef;

struct recorder final : recovery_sink {
    // "topic#sequence", with "(r)" for a replayed message and "(s)" for a snapshot's.
    std::vector<std::string> delivered;
    std::vector<std::string> bodies;
    std::vector<replay_request> requests;
    std::vector<std::string> said;

    void deliver(const stamped_message &m, message_origin origin) override {
        const char *mark = origin == message_origin::replay     ? "(r)"
                           : origin == message_origin::snapshot ? "(s)"
                                                                : "";
        delivered.push_back(fmt::format("{}#{}{}", m.topic, m.sequence, mark));
        bodies.emplace_back(m.body);
    }
    void send(const replay_request &request) override { requests.push_back(request); }
    void say(const std::string &line) override { said.push_back(line); }

    // The requests that are not credit.
    [[nodiscard]] std::vector<replay_request> asked() const {
        std::vector<replay_request> out;
        std::copy_if(requests.begin(), requests.end(), std::back_inserter(out),
                     [](const auto &r) { return !std::holds_alternative<replay_credit>(r.what); });
        return out;
    }
    [[nodiscard]] bool said_line(const std::string &line) const {
        return std::find(said.begin(), said.end(), line) != said.end();
    }
    [[nodiscard]] bool said_containing(const std::string &text) const {
        return std::any_of(said.begin(), said.end(),
                           [&](const auto &l) { return l.find(text) != std::string::npos; });
    }
};

class recovery_test : public ::testing::Test {
protected:
    void make(bool recover, bool dedupe = true, std::uint32_t window = default_replay_window,
              std::size_t max_held_bytes = std::size_t{64} << 20U) {
        _machine.emplace(recovery_options{.recover = recover,
                                          .dedupe = dedupe,
                                          .window = window,
                                          .max_held_bytes = max_held_bytes},
                         _out);
    }

    // A message whose body names it ("a#3 from i"), kept alive for the whole test.
    stamped_message message(const std::string &topic, std::uint64_t sequence,
                            std::uint64_t from = instance) {
        _topics.push_back(topic);
        _bodies.push_back(fmt::format("{}#{} from {:x}", topic, sequence, from));
        return {_topics.back(), _bodies.back(), from, sequence, {}};
    }
    void live(const std::string &topic, std::uint64_t sequence, std::uint64_t from = instance) {
        _machine->on_live(message(topic, sequence, from));
    }
    void replayed(const std::string &topic, std::uint64_t sequence, std::uint64_t from = instance) {
        _machine->on_replayed(message(topic, sequence, from));
    }
    void end(std::uint64_t request_id, replay_status status, std::uint64_t messages = 0,
             std::uint64_t missing = 0, std::uint64_t from = instance) {
        replay_end e;
        e.request_id = request_id;
        e.status = status;
        e.instance = from;
        e.messages = messages;
        e.missing = missing;
        _machine->on_end(e);
    }
    void refuse(replay_status status, const std::string &error) {
        replay_end e;
        e.request_id = last_request_id();
        e.status = status;
        e.instance = instance;
        e.error = error;
        _machine->on_end(e);
    }
    [[nodiscard]] std::uint64_t last_request_id() const { return _out.asked().back().request_id; }

    recorder _out;
    std::optional<recovery> _machine;
    std::deque<std::string> _topics; // a deque: growing it moves no element
    std::deque<std::string> _bodies;
};

replay_range range_of(const replay_request &r) {
    EXPECT_TRUE(std::holds_alternative<replay_range>(r.what));
    return std::get<replay_range>(r.what);
}

using strings = std::vector<std::string>;

TEST_F(recovery_test, without_recovery_every_message_passes_and_gaps_are_only_reported) {
    make(false, false);
    live("a", 1);
    live("a", 2);
    live("a", 5);
    live("a", 5); // a duplicate is reported; printed as it always was without recovery
    EXPECT_TRUE(_out.requests.empty());
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2", "a#5", "a#5"}));
    EXPECT_TRUE(_out.said_line("gap on topic \"a\": 2 missing (sequences 3..4)"));
    EXPECT_TRUE(_out.said_line("duplicate or out-of-order on topic \"a\": sequence 5 after 5"));
    EXPECT_EQ(_machine->tracker().totals().gaps, 1U);
    EXPECT_EQ(_machine->totals().lost, 0U);
}

TEST_F(recovery_test, a_gap_asks_for_its_range_and_holds_live_messages_until_the_end) {
    make(true);
    live("a", 1);
    live("a", 2);
    live("a", 5); // reveals 3..4
    ASSERT_EQ(_out.asked().size(), 1U);
    const replay_request request = _out.asked()[0];
    EXPECT_EQ(request.instance, instance);
    EXPECT_EQ(request.window, default_replay_window);
    EXPECT_EQ(range_of(request), (replay_range{"a", 3, 4}));
    EXPECT_TRUE(_machine->awaiting_reply());

    live("b", 1); // held, in arrival order
    live("a", 6);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2"}));
    EXPECT_EQ(_machine->held(), 3U);

    replayed("a", 3);
    replayed("a", 4);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2", "a#3(r)", "a#4(r)"}));
    end(request.request_id, replay_status::complete, 2);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2", "a#3(r)", "a#4(r)", "a#5", "b#1", "a#6"}));
    // The held copies are the bytes that came.
    EXPECT_EQ(_out.bodies[4], fmt::format("a#5 from {:x}", instance));
    EXPECT_FALSE(_machine->awaiting_reply());
    EXPECT_EQ(_machine->held(), 0U);
    EXPECT_EQ(_machine->totals().recovered, 2U);
    EXPECT_EQ(_machine->totals().lost, 0U);
    EXPECT_TRUE(_out.said_line("gap on topic \"a\": 2 missing (sequences 3..4)"));
    EXPECT_TRUE(_out.said_line("recovered gap on topic \"a\": 2 of 2 (sequences 3..4)"));

    live("a", 7); // nothing out: straight through
    EXPECT_EQ(_out.delivered.back(), "a#7");
    _machine->report_topics();
    EXPECT_EQ(_out.said.back(), "recovery on topic \"a\": recovered 2, lost 0");
}

TEST_F(recovery_test, a_partial_reply_counts_what_the_relay_no_longer_holds_as_lost) {
    make(true);
    live("a", 1);
    live("a", 6);     // 2..5
    replayed("a", 4); // 2 and 3 were evicted
    replayed("a", 5);
    end(last_request_id(), replay_status::partial, 2, 2);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#4(r)", "a#5(r)", "a#6"}));
    EXPECT_EQ(_machine->totals().recovered, 2U);
    EXPECT_EQ(_machine->totals().lost, 2U);
    EXPECT_TRUE(_out.said_line("recovered gap on topic \"a\": 2 of 4 (sequences 2..5); lost 2: "
                               "the relay no longer holds them"));
}

TEST_F(recovery_test, a_restarted_relay_recovers_nothing_of_the_old_instance) {
    make(true);
    live("a", 1);
    live("a", 4); // 2..3 of the old instance
    live("a", 5); // held
    live("a", 9); // held: a second gap, 6..8, of the same old instance
    live("b", 1, other_instance);
    end(last_request_id(), replay_status::wrong_instance, 0, 0, other_instance);

    EXPECT_TRUE(_out.said_line(fmt::format(
        "the relay restarted (instance {:016x}, now {:016x}): nothing of instance {:016x} can be "
        "recovered",
        instance, other_instance, instance)));
    EXPECT_TRUE(_out.said_line("lost gap on topic \"a\": 2 (sequences 2..3): the relay restarted"));
    // The second gap is lost without asking: the relay said that instance is gone.
    EXPECT_EQ(_out.asked().size(), 1U);
    EXPECT_TRUE(_out.said_line("lost gap on topic \"a\": 3 (sequences 6..8): the relay restarted"));
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#4", "a#5", "a#9", "b#1"}));
    EXPECT_EQ(_machine->totals().recovered, 0U);
    EXPECT_EQ(_machine->totals().lost, 5U);
}

TEST_F(recovery_test, nothing_is_delivered_twice) {
    make(true);
    live("a", 1);
    live("a", 4);
    const std::uint64_t id = last_request_id();
    replayed("a", 2);
    replayed("a", 2); // again: not asked for any more
    replayed("b", 3); // another topic: not this request's
    replayed("a", 9); // past the range
    replayed("a", 3, other_instance);
    replayed("a", 3);
    end(id, replay_status::complete, 2);
    EXPECT_EQ(_machine->totals().stale, 4U);
    live("a", 3); // a live copy of what the replay delivered: skipped, not a duplicate
    live("a", 4); // a true duplicate from the relay: reported, not printed
    live("a", 5);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#3(r)", "a#4", "a#5"}));
    EXPECT_EQ(_machine->totals().skipped, 1U);
    EXPECT_EQ(_machine->tracker().totals().duplicates, 1U);
    EXPECT_TRUE(_out.said_line("duplicate or out-of-order on topic \"a\": sequence 4 after 4"));

    end(id, replay_status::complete, 2); // an end already taken: ignored
    EXPECT_EQ(_machine->totals().recovered, 2U);
}

TEST_F(recovery_test, a_second_gap_among_released_messages_starts_the_next_recovery) {
    make(true);
    live("a", 1);
    live("a", 3); // 2
    live("a", 4);
    live("a", 7); // 5..6, found only when released
    live("b", 1);
    EXPECT_EQ(_out.asked().size(), 1U);
    replayed("a", 2);
    end(last_request_id(), replay_status::complete, 1);

    ASSERT_EQ(_out.asked().size(), 2U);
    EXPECT_EQ(range_of(_out.asked()[1]), (replay_range{"a", 5, 6}));
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#3", "a#4"}));
    EXPECT_EQ(_machine->held(), 2U); // a#7 first, then b#1

    live("a", 8); // held behind them
    replayed("a", 5);
    replayed("a", 6);
    end(last_request_id(), replay_status::complete, 2);
    EXPECT_EQ(_out.delivered,
              (strings{"a#1", "a#2(r)", "a#3", "a#4", "a#5(r)", "a#6(r)", "a#7", "b#1", "a#8"}));
    EXPECT_EQ(_machine->totals().recovered, 3U);
    EXPECT_EQ(_machine->tracker().totals().gaps, 2U);
    EXPECT_EQ(_machine->tracker().totals().missing, 3U);
}

TEST_F(recovery_test, a_timeout_loses_the_rest_and_late_replies_are_ignored) {
    make(true);
    live("a", 1);
    live("a", 5); // 2..4
    const std::uint64_t id = last_request_id();
    replayed("a", 2);
    live("a", 6);
    _machine->on_timeout();
    EXPECT_TRUE(_out.said_line("recovered gap on topic \"a\": 1 of 3 (sequences 2..4); lost 2: "
                               "no reply from the replay endpoint for 5 s"));
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#5", "a#6"}));
    EXPECT_FALSE(_machine->awaiting_reply());

    replayed("a", 3); // the reply, too late
    end(id, replay_status::complete, 3);
    EXPECT_EQ(_out.delivered.size(), 4U);
    EXPECT_EQ(_machine->totals().recovered, 1U);
    EXPECT_EQ(_machine->totals().lost, 2U);

    _machine->on_timeout(); // nothing out: nothing to do
    EXPECT_EQ(_machine->totals().lost, 2U);
}

TEST_F(recovery_test, refusals_count_as_lost_and_disabled_replay_is_not_asked_again) {
    make(true);
    live("a", 1);
    live("a", 3);
    end(last_request_id(), replay_status::busy, 0, 0);
    EXPECT_TRUE(_out.said_line(
        "lost gap on topic \"a\": 1 (sequence 2): the replay endpoint refused: busy"));
    live("a", 5);
    refuse(replay_status::disabled, "retention is off");
    EXPECT_TRUE(_out.said_line("lost gap on topic \"a\": 1 (sequence 4): the replay endpoint "
                               "refused: disabled (retention is off)"));
    live("a", 9);
    EXPECT_EQ(_out.asked().size(), 2U);
    EXPECT_TRUE(
        _out.said_line("lost gap on topic \"a\": 3 (sequences 6..8): replay is off on the relay"));
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#3", "a#5", "a#9"}));
    EXPECT_EQ(_machine->totals().lost, 5U);
}

TEST_F(recovery_test, a_snapshot_starts_each_topic_and_its_seam_is_repaired_without_recover) {
    make(false);                                // no --recover: only the seam is asked about
    _machine->start_snapshot({"b", "a", "ab"}); // "ab" is under "a": not asked for
    ASSERT_EQ(_out.asked().size(), 1U);
    EXPECT_EQ(std::get<replay_snapshot>(_out.asked()[0].what).prefix, "a");
    EXPECT_EQ(_out.asked()[0].instance, 0U);

    live("a.x", 5); // subscribed before the snapshot: held
    replayed("a.x", 4);
    replayed("a.y", 7);
    replayed("c", 1); // not under the prefix
    end(last_request_id(), replay_status::complete, 2);
    ASSERT_EQ(_out.asked().size(), 2U);
    EXPECT_EQ(std::get<replay_snapshot>(_out.asked()[1].what).prefix, "b");
    live("a.y", 7); // the snapshot had it
    replayed("b.z", 2);
    end(last_request_id(), replay_status::complete, 1);
    EXPECT_TRUE(_out.said_line("snapshot of prefix \"a\": 2 last values"));

    EXPECT_EQ(_out.delivered, (strings{"a.x#4(s)", "a.y#7(s)", "b.z#2(s)", "a.x#5"}));
    live("a.y", 8);
    live("b.z", 6); // the subscription took effect after 2: 3..5 fall in the seam
    ASSERT_EQ(_out.asked().size(), 3U);
    EXPECT_EQ(range_of(_out.asked()[2]), (replay_range{"b.z", 3, 5}));
    EXPECT_TRUE(_out.said_containing("snapshot seam on topic \"b.z\""));
    live("b.z", 7);
    replayed("b.z", 3);
    replayed("b.z", 4);
    replayed("b.z", 5);
    end(last_request_id(), replay_status::complete, 3);
    EXPECT_EQ(_out.delivered, (strings{"a.x#4(s)", "a.y#7(s)", "b.z#2(s)", "a.x#5", "a.y#8",
                                       "b.z#3(r)", "b.z#4(r)", "b.z#5(r)", "b.z#6", "b.z#7"}));
    // No gap: the seam is where the subscription began, not a loss.
    EXPECT_EQ(_machine->tracker().totals().gaps, 0U);
    EXPECT_EQ(_machine->totals().skipped, 1U);
    EXPECT_EQ(_machine->totals().snapshot, 3U);
    EXPECT_EQ(_machine->totals().recovered, 3U);

    live("b.z", 9); // a later gap, without --recover: reported, not asked about
    EXPECT_EQ(_out.asked().size(), 3U);
    EXPECT_EQ(_out.delivered.back(), "b.z#9");
}

TEST_F(recovery_test, a_topic_first_seen_live_after_a_snapshot_starts_there) {
    make(false);
    _machine->start_snapshot({});
    EXPECT_EQ(std::get<replay_snapshot>(_out.asked()[0].what).prefix, "");
    replayed("a", 3);
    live("new", 40);
    end(last_request_id(), replay_status::complete, 1);
    live("a", 3); // covered
    live("a", 4);
    EXPECT_EQ(_out.delivered, (strings{"a#3(s)", "new#40", "a#4"}));
    EXPECT_EQ(_out.asked().size(), 1U);
}

TEST_F(recovery_test, a_failed_snapshot_goes_on_with_live_messages) {
    make(false);
    _machine->start_snapshot({"a"});
    live("a", 3);
    _machine->on_timeout();
    EXPECT_TRUE(_out.said_line("snapshot of prefix \"a\" failed: no reply from the replay "
                               "endpoint for 5 s; going on with live messages"));
    EXPECT_EQ(_out.delivered, (strings{"a#3"}));

    make(false);
    _machine->start_snapshot({"a"});
    refuse(replay_status::disabled, "last values are off");
    live("a", 3);
    EXPECT_TRUE(_out.said_containing("refused: disabled (last values are off)"));
    EXPECT_EQ(_out.delivered.back(), "a#3");
}

TEST_F(recovery_test, an_unreadable_reply_fails_the_request_as_a_timeout_does) {
    make(true);
    live("a", 1);
    live("a", 3);
    _machine->on_bad_reply("not a ReplayEnd");
    EXPECT_TRUE(_out.said_line("lost gap on topic \"a\": 1 (sequence 2): the replay endpoint's "
                               "reply is unreadable (not a ReplayEnd)"));
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#3"}));
}

TEST_F(recovery_test, credit_is_granted_every_half_window_and_settled_at_the_end) {
    make(true, true, 4);
    const auto credits = [&] {
        std::vector<std::uint32_t> out;
        for (const replay_request &r : _out.requests) {
            if (const auto *c = std::get_if<replay_credit>(&r.what)) {
                EXPECT_EQ(r.request_id, last_request_id());
                out.push_back(c->messages);
            }
        }
        return out;
    };
    live("a", 1);
    live("a", 7); // 2..6
    EXPECT_EQ(_out.asked()[0].window, 4U);
    replayed("a", 2);
    replayed("a", 2); // not delivered twice, but the relay sent it: it counts for credit
    for (std::uint64_t s = 3; s <= 6; ++s)
        replayed("a", s);
    replayed("b", 1); // nor is a stranger's
    EXPECT_EQ(credits(), (std::vector<std::uint32_t>{2, 2, 2}));
    // The relay's window is per client: the rest is acknowledged before the next request.
    end(last_request_id(), replay_status::complete, 5);
    EXPECT_EQ(credits(), (std::vector<std::uint32_t>{2, 2, 2, 1}));
    EXPECT_EQ(_machine->totals().recovered, 5U);
}

TEST_F(recovery_test, finishing_loses_what_is_out_and_releases_what_is_held) {
    make(true);
    live("a", 1);
    live("a", 4);
    live("a", 5);
    live("a", 8); // a gap still held: not asked for once stopping
    replayed("a", 2);
    _machine->finish();
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#4", "a#5", "a#8"}));
    EXPECT_TRUE(_out.said_line("recovered gap on topic \"a\": 1 of 2 (sequences 2..3); lost 1: "
                               "stopped before the replay ended"));
    EXPECT_TRUE(_out.said_line(
        "lost gap on topic \"a\": 2 (sequences 6..7): stopped before asking for them"));
    EXPECT_EQ(_out.asked().size(), 1U);
    EXPECT_EQ(_machine->totals().lost, 3U);
    _machine->report_topics();
    EXPECT_EQ(_out.said.back(), "recovery on topic \"a\": recovered 1, lost 3");
}

TEST_F(recovery_test, live_messages_stop_being_wanted_past_the_held_bound) {
    make(true, true, default_replay_window, 100);
    live("a", 1);
    live("a", 3);
    EXPECT_TRUE(_machine->wants_live());
    for (std::uint64_t s = 4; s < 10; ++s)
        live("a", s);
    EXPECT_FALSE(_machine->wants_live());
    replayed("a", 2);
    end(last_request_id(), replay_status::complete, 1);
    EXPECT_TRUE(_machine->wants_live());
    EXPECT_EQ(_out.delivered.size(), 9U);
}

TEST_F(recovery_test, untracked_messages_pass_in_order) {
    make(true);
    live("a", 1);
    live("a", 3);
    live("u", 0); // held like any other
    replayed("a", 2);
    end(last_request_id(), replay_status::complete, 1);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#3", "u#0"}));
    EXPECT_EQ(_machine->tracker().totals().untracked, 1U);
}

} // namespace
} // namespace zrelay::tool
