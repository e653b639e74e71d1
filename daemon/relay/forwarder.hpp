// forwarder: egress.forward, pushing every message the relay publishes on to other relays'
// ingress (an edge relay feeding a central tier; docs/topologies.md).
//
// One PUSH socket per endpoint, each connected to that endpoint alone, so that the relay, not
// libzmq, chooses where a message goes: forward_by: topic sends each topic always to the same
// endpoint (a stable hash of the topic, the same in every relay and every run), so the topic's
// order survives spreading topics over several central relays; round_robin deals messages in
// turn. A PUSH queues up to egress.sndhwm messages for its endpoint even while disconnected, and
// libzmq reconnects by itself.
//
// What is forwarded is the published frame, stamp included: the receiving relay keeps that stamp
// as a hop (envelope.hpp) and checks its sequences for gaps. Spread round robin, each next relay
// gets part of a topic: egress stamps that copy with sequence 0 ("not numbered") instead.
//
// Backpressure as on the XPUB: with nodrop, a link at its SNDHWM makes forward() wait (a blocking
// send with a short SNDTIMEO, turning to look at the shutdown state and call `held_up`); without
// it, a message the link has no room for is dropped and counted on the link. One thread, egress's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "metrics.hpp"
#include "pipeline_control.hpp"
#include "security.hpp"

namespace zrelay {

class handshake_watch;

// The endpoint forward_by: topic sends `topic` to, of `count`: FNV-1a, fixed by definition so
// that it never changes between builds, platforms or relays.
[[nodiscard]] std::size_t forward_slot(std::string_view topic, std::size_t count) noexcept;

class forwarder {
public:
    // Creates a PUSH per cfg.forward endpoint and connects it, on the caller's thread; throws
    // endpoint_error naming the endpoint. `links` holds one block per endpoint, in order; `watch`
    // (if set) keeps their `connected`. Links run without CURVE.
    forwarder(zmq::context_t &context, const egress_config &cfg, std::vector<link_counters> &links,
              handshake_watch *watch, const pipeline_control &control);

    // Pushes `body` (taking it) to the topic's link. False if the relay aborted while a full
    // link held it up (nodrop).
    bool forward(std::string_view topic, zmq::message_t &body,
                 const std::function<void()> &held_up);

    // round_robin: a topic's messages are spread over the links.
    [[nodiscard]] bool spreads() const noexcept { return !_by_topic && _links.size() > 1; }

    // Closes the sockets, letting each deliver what it holds for up to `linger`.
    void close(std::chrono::milliseconds linger);

private:
    struct link {
        zmq::socket_t socket;
        link_counters *counters;
    };

    std::vector<link> _links;
    std::vector<attached_endpoints> _attached;
    bool _by_topic;
    bool _nodrop;
    std::size_t _next = 0; // round_robin's turn
    const pipeline_control &_control;
};

} // namespace zrelay
