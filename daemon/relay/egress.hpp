// egress: the last stage. It owns the XPUB socket and publishes each valid item as
// [topic][DataMessage], numbering it on its topic (topics.hpp) and appending the relay's stamp
// (stamper.hpp) on the way; it tracks subscriptions from the XPUB's subscribe frames, and
// publishes the drop notices due (drop_notices.hpp) from totals an injected source supplies.
//
// Sequences must follow the order messages leave in, so one thread runs egress: the direct
// path's only thread, or the pipelined composition's collector. It does not know which.
//
// With nodrop, a subscriber at its SNDHWM makes publish() wait. The wait is a blocking send with
// a short ZMQ_SNDTIMEO rather than DONTWAIT and a poll: an XPUB always polls writable (its
// distributor reports room even when a subscriber has none), but a blocking send is woken by the
// subscriber's pipe draining. The timeout lets it look at the shutdown state and subscriptions.
// A first DONTWAIT send tells whether it waits at all; only then is the wait timed (for
// zrelay_nodrop_wait_seconds_total), so the message path reads no clock.
//
// A message from another relay has its upstream's sequence checked (upstream_gaps.hpp): what is
// missing is counted, per ingress.subscribe link too, and announced on $zrelay/drops. With
// ingress.subscribe following the subscribers, each change the XPUB reports goes up the tree
// (upstream_links.hpp).
//
// With retention, each message goes into the retention log once its topic frame has been taken
// by the XPUB (from then on it is published: the body frame never waits), so the log holds
// exactly what subscribers were sent, with the sequences they saw. With egress.forward, each
// published message is then pushed on to another relay (forwarder.hpp), waiting as the XPUB does.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "drop_notices.hpp"
#include "forwarder.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "pipeline_control.hpp"
#include "retention_log.hpp"
#include "security.hpp"
#include "stamper.hpp"
#include "topics.hpp"
#include "upstream_gaps.hpp"

namespace zrelay {

// What the relay has dropped so far, by reason: called by egress when it looks for notices due
// (at most every 1024 messages and every idle_poll), never per message.
using drop_source = std::function<drop_totals()>;

// Egress's part in the links to other relays; each pointer null when there is none.
struct egress_links {
    forwarder *forward = nullptr;                     // egress.forward, closed by egress
    std::vector<link_counters> *subscribed = nullptr; // ingress.subscribe's, for their gaps
    zmq::socket_t *changes = nullptr; // a PAIR: subscription changes, up ingress.subscribe
};

class egress {
public:
    // Creates the XPUB socket and binds/connects every endpoint on the caller's thread; throws
    // endpoint_error naming the endpoint. `counters` is the block of the thread that will run
    // egress; `affinity` is ZMQ_AFFINITY (0 = any I/O thread). Stamps with `stamp_with` when
    // cfg.stamp; publishes notices from `drops` when cfg.drop_notices. Appends what it
    // publishes to `retention` when given, and takes part in `links` (each must outlive egress;
    // egress closes the forwarder).
    egress(zmq::context_t &context, const egress_config &cfg, const socket_security &security,
           std::uint64_t affinity, stamper stamp_with, topic_table &topics,
           thread_counters &counters, const pipeline_control &control, drop_source drops,
           retention_log *retention, egress_links links);

    // Sends [topic][body], stamped. False if the relay aborted while a slow subscriber held it
    // up. While held up it calls `held_up` (if set) every idle_poll, and keeps reading
    // subscriptions and publishing notices.
    bool publish(pipeline_item &item, const std::function<void()> &held_up);
    // Now and then (at least every idle_poll, and every 1024 items under load): takes the
    // subscribe frames queued in the XPUB and publishes the drop notices due.
    void tick();
    // Closes the socket, lingering up to the drain deadline for slow subscribers; after an abort
    // only long enough for a final drain_deadline notice to leave.
    void close();

    // Readable (ZMQ_POLLIN) when subscription frames are queued.
    [[nodiscard]] void *handle() noexcept { return _socket.handle(); }
    [[nodiscard]] const std::vector<std::string> &bound() const noexcept {
        return _bound.endpoints;
    }
    // Distinct topic prefixes subscribed to. Any thread.
    [[nodiscard]] std::int64_t subscriptions() const noexcept {
        return _subscriptions.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t instance() const noexcept { return _stamper.instance(); }

private:
    void read_subscriptions();
    void publish_drop_notices(drop_notices::clock::time_point now);
    void check_upstream(const pipeline_item &item, std::uint32_t topic_index);
    // Sends a message's topic frame, waiting (nodrop) while a subscriber has no room; false if
    // the relay was aborted meanwhile.
    bool send_topic(zmq::message_t &topic_frame, const std::function<void()> &held_up);
    // Sends one message of the relay's own on `topic`, without waiting (dropped for a subscriber
    // with no room, even with nodrop); false if it could not be sent at all.
    bool send_own(std::string_view topic, const std::string &content);

    zmq::socket_t _socket;
    topic_table &_topics;
    thread_counters &_counters;
    const pipeline_control &_control;
    stamper _stamper;
    bool _stamp;
    bool _nodrop;
    std::optional<drop_notices> _notices; // when egress.drop_notices
    drop_source _drops;
    retention_log *_retention;               // null: retention off
    forwarder *_forward;                     // null: no egress.forward
    std::vector<link_counters> *_subscribed; // null: no ingress.subscribe
    zmq::socket_t *_changes;                 // null: subscriptions not passed up
    upstream_gaps _upstream;
    std::vector<std::uint64_t> _link_instances; // per subscribe link, the upstream seen last
    std::unordered_set<std::string> _prefixes;  // subscribed to; the egress thread's
    // _prefixes.size(): written by the egress thread, read by the metrics server's.
    std::atomic<std::int64_t> _subscriptions{0};
    attached_endpoints _bound; // its ipc socket files are removed with it
};

} // namespace zrelay
