// origin_tracker: for a message that crossed a chain of relays, checks the first relay's stamp
// (relay_hops[0], the origin) besides the last one's (gap_tracker).
//
// The last relay numbers what it publishes, so its sequence shows what was lost at it or after
// it, but not what was lost before it (a middle relay's restart, a link that dropped), nor across
// its own restart: a new instance starts the count, and what it held when it died is gone without
// a number. The origin numbered the message before all that, per topic, and keeps numbering while
// the relays after it restart. So a skip in the origin's sequence that the last relay's gaps do
// not account for is loss that nothing else reports.
//
// Accounting, per topic: the sequences gap_tracker reported missing add up (whatever the messages
// that showed them: any origin's, or ones without hops). Between two messages of one origin, its
// skip minus what was reported missing meanwhile is lost. Never more than was lost: with several
// origins on one topic a reported gap may hold another origin's messages, so a loss can go
// under-counted, never counted twice. It relies on the relays keeping a topic's order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "string_hash.hpp"
#include "zrelay_gaps.hpp"

namespace zrelay::tool {

// A relay's stamp as the origin check needs it: instance 0 when there is none.
struct relay_mark {
    std::uint64_t instance = 0;
    std::uint64_t sequence = 0; // 0: the relay does not track the topic
};

struct origin_totals {
    std::uint64_t checked = 0;    // messages with hops whose origin stamp was checked
    std::uint64_t losses = 0;     // times an origin's sequence showed a loss nothing else reported
    std::uint64_t lost = 0;       // sequences lost, over all losses
    std::uint64_t duplicates = 0; // an origin sequence not above its last, the last relay's was
};

// What one message showed, for a report at once.
struct origin_event {
    enum class kind { none, loss, duplicate };
    kind what = kind::none;
    std::uint64_t origin = 0; // the origin relay's instance
    // loss: the origin's sequences first..last were skipped; duplicate: first came after last.
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t lost = 0;      // loss: of first..last, those no last-relay gap accounts for
    std::uint64_t relay = 0;     // loss: the last relay's instance now
    std::uint64_t restarted = 0; // loss: the last relay's instance before, if it changed; else 0
};

class origin_tracker {
public:
    // At most `max_topics` topics are checked, and on each the last few origins (a tree's
    // sources; a restarted origin's old instance ages out): memory stays bounded.
    explicit origin_tracker(std::size_t max_topics) : _max_topics(max_topics) {}

    // One message, after gap_tracker checked it and found `last_gap`. `origin`: relay_hops[0]'s
    // stamp, instance 0 for a message without hops (only its gap is counted); `relay`: the last
    // relay's instance. Call it for every message gap_tracker checks, in the order it does.
    origin_event observe(std::string_view topic, relay_mark origin, std::uint64_t relay,
                         const gap_event &last_gap);
    // Starts `origin`'s count on `topic` without judging it: what gap_tracker::start() is for.
    void start(std::string_view topic, relay_mark origin, std::uint64_t relay);

    [[nodiscard]] const origin_totals &totals() const noexcept { return _totals; }
    [[nodiscard]] std::size_t topics() const noexcept { return _topics.size(); }

    static constexpr std::size_t max_origins = 4; // per topic

private:
    struct origin_state {
        std::uint64_t instance = 0; // 0: a free slot
        std::uint64_t sequence = 0; // the highest seen
        std::uint64_t relay = 0;    // the last relay's instance on that message
        std::uint64_t reported = 0; // the topic's `reported` after that message
        std::uint64_t used = 0;     // when last seen, to replace the oldest
    };
    struct topic_state {
        std::uint64_t reported = 0; // sequences gap_tracker reported missing on the topic
        std::array<origin_state, max_origins> origins{};
    };
    // The topic's state, created if there is room and `create`; null otherwise.
    topic_state *find(std::string_view topic, bool create);
    // `instance`'s slot on `topic`, taking a free or the least recently used one if it is new
    // (`fresh` says so).
    static origin_state &slot(topic_state &topic, std::uint64_t instance, bool &fresh);

    std::size_t _max_topics;
    std::unordered_map<std::string, topic_state, string_hash, std::equal_to<>> _topics;
    std::uint64_t _clock = 0;
    origin_totals _totals;
};

// The line `zrelay sub` prints for an event (none: empty).
[[nodiscard]] std::string describe(std::string_view topic, const origin_event &event);

} // namespace zrelay::tool
