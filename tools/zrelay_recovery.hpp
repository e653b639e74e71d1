// recovery: what `zrelay sub` does between receiving a message and printing it, as a state
// machine with no socket and no clock, so that every path can be tested by feeding it events.
//
// Without --recover or --snapshot it only checks stamps (gap_tracker, and origin_tracker for
// messages that crossed a chain of relays) and passes every message on. With them it talks to the
// relay's replay endpoint (proto/zrelay/v1/replay.proto):
// - --recover: a gap (sequences first..last missing on a topic) becomes a Range request; the
//   replayed messages are delivered as they come, in sequence order, and live messages are held
//   back, in arrival order, until the ReplayEnd (or a timeout) says how it went. Then the held
//   ones are released through the same checks, so a gap among them starts the next recovery.
// - --snapshot: at start, a Snapshot request per subscribed prefix while live messages are held;
//   each topic's last value is delivered and becomes the topic's start. A held or later live
//   message the snapshot already covered is skipped; a first live one past snapshot + 1 (the
//   subscription took effect after the snapshot) is a seam, repaired by a Range request even
//   without --recover.
// One request is out at a time (the relay serves one per client). Replies that do not belong to
// the request in progress (after a timeout, say) are ignored, so nothing is delivered twice.
//
// Every gap found while recovering ends as recovered or lost, so recovered + lost = the
// sequences missing in gaps and seams this machine asked about.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "replay_protocol.hpp"
#include "string_hash.hpp"
#include "zrelay_gaps.hpp"
#include "zrelay_origins.hpp"

namespace zrelay::tool {

// One [topic][DataMessage] message as received, with the stamp already read from it. Views: valid
// for the call it is passed to.
struct stamped_message {
    std::string_view topic;
    std::string_view body; // the DataMessage's bytes
    std::uint64_t instance = 0;
    std::uint64_t sequence = 0; // 0: the relay does not track the topic
    relay_mark origin;          // relay_hops[0]'s stamp; none for a message that crossed one relay
};

enum class message_origin { live, replay, snapshot };

// What the machine asks of its owner (zrelay_sub.cpp: print, send on the DEALER, stderr).
class recovery_sink {
public:
    recovery_sink() = default;
    recovery_sink(const recovery_sink &) = delete;
    recovery_sink &operator=(const recovery_sink &) = delete;
    recovery_sink(recovery_sink &&) = delete;
    recovery_sink &operator=(recovery_sink &&) = delete;
    virtual ~recovery_sink() = default;

    virtual void deliver(const stamped_message &message, message_origin origin) = 0;
    // A request for the replay endpoint (a Range, a Snapshot or a Credit).
    virtual void send(const replay_request &request) = 0;
    // A line for stderr, without its newline.
    virtual void say(const std::string &line) = 0;
};

struct recovery_options {
    bool recover = false; // ask for every gap (--recover); seams are repaired regardless
    bool dedupe = false;  // skip live messages already delivered (set by --recover, --snapshot)
    std::uint32_t window = default_replay_window;
    std::size_t max_topics = 100000;         // topics checked, and remembered here
    std::size_t max_held_bytes = 64U << 20U; // wants_live() turns false past this
    std::string reply_timeout_text = "5 s";  // how long on_timeout() means, for its message
};

struct recovery_totals {
    std::uint64_t recovered = 0; // delivered by Range replies
    std::uint64_t lost = 0;      // asked for (or would have been) and not delivered
    std::uint64_t snapshot = 0;  // last values delivered by snapshots
    std::uint64_t skipped = 0;   // live messages a replay or snapshot had already delivered
    std::uint64_t stale = 0;     // replayed messages for no request in progress, ignored
};

class recovery {
public:
    // `sink` must outlive the machine.
    recovery(recovery_options options, recovery_sink &sink);

    // Asks for the last values under each prefix ("" when none), live messages held meanwhile.
    // Call once, after subscribing and before the first on_live().
    void start_snapshot(const std::vector<std::string> &prefixes);

    void on_live(const stamped_message &message);
    void on_replayed(const stamped_message &message);
    void on_end(const replay_end &end);
    // The reply to the request out has not come in time (its rest counts as lost). The owner
    // must drop the replay connection first (a new DEALER): its stale replies go with it, and the
    // relay starts a new client's window afresh.
    void on_timeout();
    // A reply frame that is no ReplayEnd: the request out fails as for a timeout.
    void on_bad_reply(const std::string &why);
    // Stops recovering (what is out or queued counts as lost) and releases every held message.
    void finish();

    // A request is out: the owner times its silence.
    [[nodiscard]] bool awaiting_reply() const noexcept { return !_jobs.empty(); }
    // False while the held messages are past max_held_bytes: the owner stops reading live ones
    // (they wait in zmq's queues, or the relay drops them and they become the next gap).
    [[nodiscard]] bool wants_live() const noexcept { return _held_bytes < _options.max_held_bytes; }
    [[nodiscard]] std::size_t held() const noexcept { return _held.size(); }

    [[nodiscard]] const gap_tracker &tracker() const noexcept { return _tracker; }
    [[nodiscard]] const origin_tracker &origins() const noexcept { return _origins; }
    [[nodiscard]] const recovery_totals &totals() const noexcept { return _totals; }
    // One line per topic that had something recovered or lost, for the end of a run.
    void report_topics();

private:
    struct job {
        bool snapshot = false;
        bool seam = false;
        std::string topic; // range: the topic; snapshot: the prefix
        std::uint64_t instance = 0;
        std::uint64_t first = 0; // range: first..last asked for
        std::uint64_t last = 0;
        std::uint64_t request_id = 0; // once sent
        std::uint64_t next = 0;       // range: the lowest sequence still to deliver
        std::uint64_t delivered = 0;
    };
    struct held_message {
        std::string topic;
        std::string body;
        std::uint64_t instance = 0;
        std::uint64_t sequence = 0;
        relay_mark origin;
        bool observed = false; // its gap was found (and asked about) already
        [[nodiscard]] stamped_message view() const {
            return {topic, body, instance, sequence, origin};
        }
    };
    struct topic_state {
        std::uint64_t instance = 0;
        std::uint64_t covered = 0; // the highest sequence a replay or snapshot delivered
        bool seam = false;         // a snapshot's last value, no live message seen since
        std::uint64_t recovered = 0;
        std::uint64_t lost = 0;
    };

    // Passes one live message through the checks; false if it started a recovery and must be
    // held (first in line) until that ends.
    bool process(const stamped_message &message, bool observed);
    // The origin's stamp, once gap_tracker found `last_gap` on the message.
    void check_origin(const stamped_message &message, const gap_event &last_gap);
    void hold(const stamped_message &message, bool observed, bool first);
    void release();
    // After a job ends: the next queued one, or the held messages.
    void advance();
    void send(job &j);
    // Acknowledges the replayed messages taken, once they are `threshold` or more.
    void credit(std::uint64_t request_id, std::uint32_t threshold);
    // Ends the job in progress, counting what it did not deliver as lost for `why`.
    void fail(const std::string &why);
    void end_range(const job &j, const std::string &why);
    // A gap that will not be asked about (relay restarted, replay off, stopping): lost at once.
    void lose_now(std::string_view topic, std::uint64_t first, std::uint64_t last,
                  const std::string &why);
    void count(std::string_view topic, std::uint64_t recovered, std::uint64_t lost);
    void cover(std::string_view topic, std::uint64_t instance, std::uint64_t sequence);
    [[nodiscard]] topic_state *find(std::string_view topic);
    topic_state *state(std::string_view topic); // null past max_topics

    recovery_options _options;
    recovery_sink &_sink;
    gap_tracker _tracker;
    origin_tracker _origins;
    std::deque<job> _jobs; // front: the request out
    std::deque<held_message> _held;
    std::size_t _held_bytes = 0;
    std::unordered_map<std::string, topic_state, string_hash, std::equal_to<>> _topics;
    std::unordered_set<std::uint64_t> _gone_instances; // WRONG_INSTANCE said they restarted
    std::uint64_t _relay_instance = 0;                 // the instance a ReplayEnd last named
    bool _disabled = false;                            // the relay said replay is off
    bool _finished = false;
    std::uint64_t _next_request_id = 1;
    std::uint32_t _uncredited = 0; // replayed messages taken and not yet acknowledged
    recovery_totals _totals;
};

} // namespace zrelay::tool
