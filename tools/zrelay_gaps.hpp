// gap_tracker: checks the relay's stamps (DataMessage fields 100-102) as a subscriber sees them.
//
// The relay numbers what it publishes on each exact topic 1, 2, 3, ... per relay instance, so a
// subscriber that sees sequence 7 right after 3 on a topic missed 4..6 (the relay dropped them,
// or this subscriber's queue overflowed). Sequence 0 means the relay does not track that topic.
// The first message of a topic, and the first after a relay restart (a new instance), start the
// count: before them nothing was promised to this subscriber.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "string_hash.hpp"

namespace zrelay::tool {

struct gap_totals {
    std::uint64_t gaps = 0;       // times a topic skipped sequences
    std::uint64_t missing = 0;    // sequences skipped, over all gaps
    std::uint64_t restarts = 0;   // relay instances seen after the first
    std::uint64_t duplicates = 0; // a sequence not above the topic's last: repeated or reordered
    std::uint64_t untracked = 0;  // sequence 0: the relay does not track the topic
    std::uint64_t overflow = 0;   // messages on topics past the table's bound, not checked
};

// What one message showed, for a report at once.
struct gap_event {
    enum class kind { none, gap, duplicate, restart };
    kind what = kind::none;
    std::uint64_t first = 0; // gap: the missing range first..last; duplicate: last = topic's last
    std::uint64_t last = 0;
};

class gap_tracker {
public:
    // At most `max_topics` topics are checked (and as many instances remembered), so a stream of
    // ever new topics cannot grow the subscriber without bound.
    explicit gap_tracker(std::size_t max_topics) : _max_topics(max_topics) {}

    gap_event observe(std::string_view topic, std::uint64_t instance, std::uint64_t sequence);
    // Starts (or starts again) `topic`'s count at `sequence` without judging it: what a snapshot
    // delivered, or the first message past a snapshot's seam once the seam is being repaired.
    void start(std::string_view topic, std::uint64_t instance, std::uint64_t sequence);

    [[nodiscard]] const gap_totals &totals() const noexcept { return _totals; }
    // False for a topic past max_topics: its gaps go unreported.
    [[nodiscard]] bool checks(std::string_view topic) const { return _topics.contains(topic); }
    [[nodiscard]] std::size_t topics() const noexcept { return _topics.size(); }
    [[nodiscard]] std::size_t max_topics() const noexcept { return _max_topics; }

private:
    struct topic_state {
        std::uint64_t instance;
        std::uint64_t last;
    };
    // Counts `instance` as a restart if it is new and not the first one seen.
    bool note_instance(std::uint64_t instance);

    std::size_t _max_topics;
    std::unordered_map<std::string, topic_state, string_hash, std::equal_to<>> _topics;
    std::unordered_set<std::uint64_t> _instances;
    gap_totals _totals;
};

// The line `zrelay sub` prints for an event (none: empty); `instance`: the message's.
[[nodiscard]] std::string describe(std::string_view topic, const gap_event &event,
                                   std::uint64_t instance);

} // namespace zrelay::tool
