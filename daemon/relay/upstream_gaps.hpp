// upstream_gaps: checking the sequences of the relays this one takes messages from, and when to
// announce what is missing.
//
// A message another relay published carries that relay's stamp (its instance, and its sequence
// on the topic: 1, 2, 3, ...). Every message an upstream relay publishes on a topic comes here
// too (egress.forward pushes all of them; ingress.subscribe gets every topic it asked for whole),
// so a skipped sequence is a loss on the way: the upstream dropped it (a full link without
// nodrop), the link broke, or a relay in between restarted. The first message seen of an
// (instance, topic) starts its count without judging it: this relay may have started after it,
// or the upstream restarted (a new instance starts at 1).
//
// Bounded whatever upstreams do: per tracked topic (topic_table's index, below egress.max_topics)
// the last sequence of at most `ways` upstream instances, the least recently seen replaced; and
// announcements pending for at most `max_announced` instances, the rest summed under instance 0.
//
// Announcements go out on $zrelay/drops at most once a second per upstream instance, as
//   {"reason":"upstream_gap","upstream":"00112233aabbccdd","count":12,"total":40}
// (count: missing since that instance's previous notice; total: since this relay started).
// A link whose upstream restarted (the caller tells, restarted()) is announced once, as
//   {"reason":"upstream_restart","upstream":"<the old instance>","instance":"<the new one>"}
// : what the old instance held when it stopped is lost, and nobody downstream can count it.
//
// Pure bookkeeping, no sockets and no clock of its own; one thread, egress's.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace zrelay {

class upstream_gaps {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t ways = 4;
    static constexpr std::size_t max_announced = 64;

    explicit upstream_gaps(std::size_t max_topics,
                           clock::duration interval = std::chrono::seconds(1));

    // Checks one message: `sequence` from `instance` on the topic with index `topic`. Returns how
    // many of that upstream's sequences on the topic were skipped (0: none, or first seen).
    std::uint64_t check(std::uint64_t instance, std::uint32_t topic, std::uint64_t sequence);

    struct notice {
        std::uint64_t instance; // 0: upstreams past max_announced, together
        std::uint64_t count;
        std::uint64_t total;
    };
    // The next notice due at `now`, if any; the caller publishes it and calls sent().
    // The link's upstream was `before` and now is `now`: a restart, announced once. At most
    // max_announced wait; past that the oldest is dropped (they carry no count).
    void restarted(std::uint64_t before, std::uint64_t now);

    [[nodiscard]] std::optional<notice> due(clock::time_point now) const;
    void sent(const notice &n, clock::time_point now);
    // The notice's text (the DataMessage's content).
    [[nodiscard]] static std::string content(const notice &n);
    // The next restart to announce, as its text, if any; the caller publishes it and calls
    // restart_sent().
    [[nodiscard]] std::optional<std::string> restart_due() const;
    void restart_sent();

private:
    struct way {
        std::uint64_t instance = 0; // 0: free
        std::uint64_t last = 0;
        std::uint64_t seen = 0; // _clock when last used: the least recent is replaced
    };
    struct announced {
        std::uint64_t instance = 0;
        std::uint64_t total = 0;    // missing since start
        std::uint64_t notified = 0; // total as of the last notice
        std::optional<clock::time_point> last;
    };

    void record(std::uint64_t instance, std::uint64_t missing);

    std::size_t _max_topics;
    clock::duration _interval;
    std::vector<std::array<way, ways>> _topics; // grows to the highest index seen
    std::uint64_t _clock = 0;
    std::vector<announced> _announced; // at most max_announced + 1 (the rest, instance 0)
    std::deque<std::pair<std::uint64_t, std::uint64_t>> _restarts; // (before, now), oldest first
};

} // namespace zrelay
