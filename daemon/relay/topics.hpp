// topics: what the relay keeps per topic, bounded whatever topics clients invent.
//
// For each of the first `max_topics` distinct topics it publishes on, the table holds the number
// of messages published on it so far: the relay's sequence for the topic (stamper.hpp). A topic
// seen after that is "untracked": it gets sequence 0 and no entry, so the table's size is bounded
// by max_topics x (topic + map node), ~3.5 MB at the defaults at worst.
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
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics.hpp"
#include "string_hash.hpp"

namespace zrelay {

class topic_table {
public:
    topic_table(std::size_t max_topics, std::size_t max_labels, std::string untracked_prefix = {});

    // Writer. Counts one message published on `topic`; returns its sequence on the topic (1, 2,
    // 3, ...) or 0 if the topic is not tracked. Allocates only the first time it sees a topic.
    std::uint64_t count(std::string_view topic);
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
