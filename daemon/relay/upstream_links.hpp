// upstream_links: ingress.subscribe, taking messages from other relays' egress (a regional relay
// under a central one; docs/topologies.md).
//
// One XSUB per endpoint, each connected to that endpoint alone, so that what arrives is counted
// per link and each link's connection is watched. What the links ask upstream for is either fixed
// (ingress.subscribe_topics) or follows this relay's own subscribers: egress passes each change
// its XPUB reports (the first subscription to a prefix, the last unsubscription) through an
// inproc PAIR, and this sends it up every link, as an XSUB/XPUB forwarder does. An XSUB keeps
// its subscriptions and sends them again on every reconnection, so a restarted upstream is asked
// again by itself.
//
// An upstream relay publishes [topic][DataMessage]; the DataMessage (with the upstream's stamp)
// goes on through the pipeline as a producer's would, and the topic frame is dropped: the
// validator reads the topic from the message, as for any other.
//
// Threads: built on the relay's builder thread; from start on, ingress's thread alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

namespace zrelay {

class handshake_watch;

class upstream_links {
public:
    // Creates an XSUB per cfg.subscribe endpoint, subscribes it to cfg.subscribe_topics (if
    // any), and connects it; throws endpoint_error naming the endpoint. `links` holds one block
    // per endpoint, in order; `watch` (if set) keeps their `connected`. `changes`: the PAIR end
    // egress's subscription changes arrive on (none with fixed topics). Links run without CURVE.
    upstream_links(zmq::context_t &context, const ingress_config &cfg, std::int64_t max_frame_bytes,
                   std::vector<link_counters> &links, handshake_watch *watch,
                   std::optional<zmq::socket_t> changes);

    // Takes one message from the next link that has one, without waiting, into `item` (its
    // body, and item.link: 1 + the link's position). False if none had one. A message of other
    // than two frames is refused as multipart, its frames read off.
    bool take(pipeline_item &item);
    // Sends the subscription changes queued by egress up every link.
    void pass_subscriptions();

    // What to poll for input: each link, and the changes PAIR. Stable while this lives.
    [[nodiscard]] const std::vector<void *> &handles() const noexcept { return _handles; }
    // Closes the sockets (linger 0: what upstream sent and was not taken is the upstream's).
    void close();

private:
    std::vector<zmq::socket_t> _sockets;
    std::vector<link_counters *> _counters;
    std::optional<zmq::socket_t> _changes;
    std::vector<void *> _handles;
    std::size_t _next = 0; // the link take() tries first: each gets its turn
};

} // namespace zrelay
