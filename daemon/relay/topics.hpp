// topics: what the relay keeps per topic, bounded whatever topics clients invent.
//
// For each of the first `max_topics` distinct topics it publishes on, the table holds the number
// of messages published on it so far: the relay's sequence for the topic (stamper.hpp). A topic
// seen after that is "untracked": it gets sequence 0 and no entry, so the table's size is bounded
// by max_topics x (topic + map node), ~3.5 MB at the defaults at worst. Each tracked topic also
// gets an index, 0, 1, 2, ... in the order topics are first seen (< max_topics): what the
// retention log keys its last values by (retention_log.hpp).
//
// The first `max_labels` topics also get a series of zrelay_topic_messages_total; every other
// message counts under topic="_other". Labels are handed out at first sight and kept: a counter
// that moved between series as topics got busier would break rate() on both.
//
// Topics under `untracked_prefix` are never tracked (sequence 0, counted under "_other"): the
// healthcheck publishes each canary on a topic of its own, and a healthcheck every 30 s would
// otherwise use up the table in days and the labels in an hour.
//
// Threads: count() is called by the one thread that publishes (the writer); labelled() and
// other() by the metrics server's (readers), concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics.hpp"
#include "string_hash.hpp"

namespace zrelay {

// The index of a topic that is not tracked.
inline constexpr std::uint32_t no_topic_index = std::numeric_limits<std::uint32_t>::max();

// A message counted: its sequence on its topic and the topic's index.
struct topic_count {
    std::uint64_t sequence; // 1, 2, 3, ...; 0: the topic is not tracked
    std::uint32_t index;    // 0, 1, 2, ... in first-seen order; no_topic_index: not tracked
};

class topic_table {
public:
    // `max_topics` must fit an index: at most no_topic_index.
    topic_table(std::size_t max_topics, std::size_t max_labels, std::string untracked_prefix = {});

    // Writer. Counts one message published on `topic`; returns its sequence on the topic (1, 2,
    // 3, ...) and the topic's index, or {0, no_topic_index} if the topic is not tracked.
    // Allocates only the first time it sees a topic.
    topic_count count_indexed(std::string_view topic);
    // Writer. count_indexed() without the index.
    std::uint64_t count(std::string_view topic) { return count_indexed(topic).sequence; }
    // Writer. The sequence the next count(topic) will return, counting nothing.
    [[nodiscard]] std::uint64_t peek(std::string_view topic) const;

    // Readers. The labelled topics with their counts, in the order they were first seen.
    [[nodiscard]] std::vector<topic_series> labelled() const;
    // Messages on every other topic.
    [[nodiscard]] std::uint64_t other() const noexcept { return _other.value(); }

    // Writer.
    [[nodiscard]] std::size_t tracked() const noexcept { return _entries.size(); }

private:
    struct label {
        std::string topic; // written once, before _labels_used publishes it
        counter messages;
    };
    struct entry {
        std::uint64_t sequence = 0;
        counter *messages = nullptr; // its label's counter, or nullptr: counted under _other
        std::uint32_t index = 0;     // the entries' count when it was added (none is erased)
    };

    std::size_t _max_topics;
    std::size_t _max_labels;
    std::string _untracked_prefix;                                                 // "" = none
    std::unordered_map<std::string, entry, string_hash, std::equal_to<>> _entries; // writer only
    // The entry count() found last (nodes never move, and none is erased): writer only.
    std::pair<const std::string, entry> *_last = nullptr;
    std::unique_ptr<label[]> _labels; // max_labels slots, allocated up front: never moves
    // Slots in use. The writer fills slot n, then stores n + 1 (release); a reader that loads
    // it (acquire) sees the topics of every slot below.
    std::atomic<std::size_t> _labels_used{0};
    counter _other;
};

} // namespace zrelay
