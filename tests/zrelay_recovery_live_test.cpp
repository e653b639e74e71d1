// `zrelay sub`'s recovery state machine (tools/zrelay_recovery.*) and what the live stream shows
// it besides gaps: a relay restarted under the subscriber (a new relay_instance), the origin's
// stamp on messages that crossed a chain of relays, and the relay's own $zrelay/ topics, which
// are never part of a snapshot. The requests, replies and held
// messages of a recovery are zrelay_recovery_test.cpp's.
#include "zrelay_recovery.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace zrelay::tool {
namespace {

constexpr std::uint64_t old_instance = 0x0123456789abcdef;
constexpr std::uint64_t new_instance = 0xdeadbeef;
constexpr std::uint64_t first_relay = 0x0a0a0a0a0a0a0a0a; // the origin of a chain

using strings = std::vector<std::string>;

// Records what the machine asks for: deliveries as "topic#sequence" ("(r)" replayed, "(s)" from a
// snapshot), requests other than credit, and stderr lines.
struct recorder final : recovery_sink {
    strings delivered;
    std::vector<replay_request> asked;
    strings said;

    void deliver(const stamped_message &m, message_origin origin) override {
        const char *mark = origin == message_origin::replay     ? "(r)"
                           : origin == message_origin::snapshot ? "(s)"
                                                                : "";
        delivered.push_back(fmt::format("{}#{}{}", m.topic, m.sequence, mark));
    }
    void send(const replay_request &request) override {
        if (!std::holds_alternative<replay_credit>(request.what))
            asked.push_back(request);
    }
    void say(const std::string &line) override { said.push_back(line); }

    [[nodiscard]] long lines_containing(const std::string &text) const {
        return std::count_if(said.begin(), said.end(),
                             [&](const auto &l) { return l.find(text) != std::string::npos; });
    }
};

class recovery_live_test : public ::testing::Test {
protected:
    void make(bool recover) {
        _machine.emplace(recovery_options{.recover = recover, .dedupe = true}, _out);
    }

    // A message kept alive for the whole test (the machine is given views).
    stamped_message message(const std::string &topic, std::uint64_t sequence, std::uint64_t from,
                            relay_mark first = {}) {
        _topics.push_back(topic);
        _bodies.push_back(fmt::format("{}#{} from {:x}", topic, sequence, from));
        return {_topics.back(), _bodies.back(), from, sequence, first};
    }
    void live(const std::string &topic, std::uint64_t sequence, std::uint64_t from = old_instance) {
        _machine->on_live(message(topic, sequence, from));
    }
    // A live message that crossed `first_relay` (its sequence `first`) before the last relay.
    void chained(std::uint64_t first, std::uint64_t sequence, std::uint64_t from = old_instance) {
        _machine->on_live(message("a", sequence, from, {first_relay, first}));
    }
    void replayed(const std::string &topic, std::uint64_t sequence,
                  std::uint64_t from = old_instance, relay_mark first = {}) {
        _machine->on_replayed(message(topic, sequence, from, first));
    }
    void end_complete(std::uint64_t messages) {
        replay_end e;
        e.request_id = _out.asked.back().request_id;
        e.status = replay_status::complete;
        e.instance = old_instance;
        e.messages = messages;
        _machine->on_end(e);
    }

    recorder _out;
    std::optional<recovery> _machine;
    std::deque<std::string> _topics; // deques: growing them moves no element
    std::deque<std::string> _bodies;
};

TEST_F(recovery_live_test, a_new_instance_is_said_once_and_every_topic_starts_again) {
    make(true);
    live("a", 1);
    live("a", 2);
    live("b", 7);
    // The relay restarted: its sequences begin again, and nothing spans the two instances.
    live("a", 1, new_instance);
    live("b", 3, new_instance); // its first under the new instance: a start, not a gap
    live("a", 2, new_instance);
    EXPECT_TRUE(_out.asked.empty());
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2", "b#7", "a#1", "b#3", "a#2"}));
    EXPECT_EQ(_out.lines_containing("relay restart"), 1);
    EXPECT_EQ(_out.said,
              (strings{fmt::format("relay restart seen on topic \"a\": new instance {:016x}",
                                   new_instance)}));
    EXPECT_EQ(_machine->tracker().totals().restarts, 1U);
    EXPECT_EQ(_machine->tracker().totals().gaps, 0U);
    EXPECT_EQ(_machine->totals().lost, 0U);

    live("a", 4, new_instance); // a gap within the new instance is asked of the new instance
    ASSERT_EQ(_out.asked.size(), 1U);
    EXPECT_EQ(_out.asked[0].instance, new_instance);
    EXPECT_EQ(std::get<replay_range>(_out.asked[0].what), (replay_range{"a", 3, 3}));
}

TEST_F(recovery_live_test, what_a_replay_covered_skips_only_messages_of_its_own_instance) {
    make(true);
    live("a", 1);
    live("a", 4);
    replayed("a", 2);
    replayed("a", 3);
    end_complete(2);
    // After a restart, sequences 2 and 3 are new messages, not the replayed ones again.
    live("a", 2, new_instance);
    live("a", 3, new_instance);
    live("a", 3, new_instance); // but a repeat within the new instance is still skipped
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#3(r)", "a#4", "a#2", "a#3"}));
    EXPECT_EQ(_out.asked.size(), 1U);
    EXPECT_EQ(_machine->totals().recovered, 2U);
}

TEST_F(recovery_live_test, the_relays_own_topics_are_never_taken_from_a_snapshot) {
    make(false);
    _machine->start_snapshot({});
    replayed("$zrelay/drops", 9); // the relay leaves them out; one that comes is ignored
    replayed("a", 3);
    end_complete(1);
    EXPECT_EQ(_out.delivered, (strings{"a#3(s)"}));
    EXPECT_EQ(_machine->totals().snapshot, 1U);
    EXPECT_EQ(_machine->totals().stale, 1U);

    // Live, they pass like any topic first seen after a snapshot: a start, no seam to repair.
    live("$zrelay/drops", 12);
    live("a", 4);
    EXPECT_EQ(_out.delivered, (strings{"a#3(s)", "$zrelay/drops#12", "a#4"}));
    EXPECT_EQ(_out.asked.size(), 1U);
}

TEST_F(recovery_live_test, a_snapshot_of_the_old_instance_does_not_hide_the_new_ones_messages) {
    make(false);
    _machine->start_snapshot({"a"});
    replayed("a", 5);
    end_complete(1);
    live("a", 5);               // the snapshot had it
    live("a", 2, new_instance); // restarted: not covered by the old snapshot, and no seam
    live("a", 3, new_instance);
    EXPECT_EQ(_out.delivered, (strings{"a#5(s)", "a#2", "a#3"}));
    EXPECT_EQ(_out.asked.size(), 1U);
    EXPECT_EQ(_machine->totals().skipped, 1U);
}

TEST_F(recovery_live_test, a_chain_whose_last_relay_restarted_says_what_the_origin_lost) {
    make(false);
    chained(10, 1);
    chained(11, 2);
    chained(15, 1, new_instance); // the origin's 12..14 died with the last relay
    chained(16, 2, new_instance);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2", "a#1", "a#2"}));
    EXPECT_EQ(_out.said,
              (strings{fmt::format("relay restart seen on topic \"a\": new instance {:016x}",
                                   new_instance),
                       fmt::format("topic \"a\": 3 lost between relay {:016x} and here (its "
                                   "sequences 12..14; relay {:016x} restarted)",
                                   first_relay, old_instance)}));
    EXPECT_EQ(_machine->origins().totals().lost, 3U);
    EXPECT_EQ(_machine->origins().totals().checked, 4U);
    EXPECT_EQ(_machine->tracker().totals().missing, 0U);
}

TEST_F(recovery_live_test, a_recovered_gap_of_a_chain_is_not_the_origins_loss_too) {
    make(true);
    chained(10, 1);
    chained(13, 4); // the last relay's 2..3 (the origin's 11..12) missed here: asked for
    ASSERT_EQ(_out.asked.size(), 1U);
    chained(14, 5); // held while the replay runs, then checked in order
    replayed("a", 2, old_instance, {first_relay, 11});
    replayed("a", 3, old_instance, {first_relay, 12});
    end_complete(2);
    EXPECT_EQ(_out.delivered, (strings{"a#1", "a#2(r)", "a#3(r)", "a#4", "a#5"}));
    EXPECT_EQ(_out.lines_containing("lost between relay"), 0);
    EXPECT_EQ(_machine->origins().totals().lost, 0U);
    EXPECT_EQ(_machine->totals().recovered, 2U);
}

TEST_F(recovery_live_test, a_snapshot_seam_explains_the_origins_skip) {
    make(false);
    _machine->start_snapshot({"a"});
    replayed("a", 5, old_instance, {first_relay, 50}); // the last value: the origin's count starts
    end_complete(1);
    chained(53, 8); // live from 8: the seam 6..7 (the origin's 51..52) is asked for
    ASSERT_EQ(_out.asked.size(), 2U);
    EXPECT_EQ(std::get<replay_range>(_out.asked[1].what), (replay_range{"a", 6, 7}));
    EXPECT_EQ(_out.lines_containing("lost between relay"), 0);
    EXPECT_EQ(_machine->origins().totals().lost, 0U);
}

TEST_F(recovery_live_test, messages_the_last_relay_does_not_number_are_not_checked_at_origin) {
    make(false);
    chained(10, 0);
    chained(20, 0);
    EXPECT_EQ(_machine->origins().totals().checked, 0U);
    EXPECT_EQ(_machine->tracker().totals().untracked, 2U);
    EXPECT_TRUE(_out.said.empty());
}

} // namespace
} // namespace zrelay::tool
