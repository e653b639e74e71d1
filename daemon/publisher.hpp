// publisher: owns the egress XPUB socket. It reads the output pipes in the receiver's
// round-robin order, publishes each valid item as [topic][DataMessage], returns one credit per
// item, and tracks subscriptions from the XPUB's subscribe/unsubscribe frames.
//
// With workers: 0 there are no pipes and no publisher thread: the receiver's thread owns the
// publisher and calls publish() for each message it validated (the direct path), so a message
// crosses no thread of ours between PULL and XPUB.
//
// With nodrop, a subscriber at its SNDHWM makes send() wait. The wait is a blocking send with a
// short ZMQ_SNDTIMEO rather than DONTWAIT and a poll: an XPUB always polls writable (its
// distributor reports room even when a subscriber has none), but a blocking send is woken by the
// subscriber's pipe draining. The timeout lets it look at the shutdown state and subscriptions.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "credits.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "security.hpp"

namespace zrelay {

class publisher {
public:
    // Creates the XPUB socket and binds/connects every egress endpoint on the caller's thread;
    // throws endpoint_error naming the endpoint.
    publisher(zmq::context_t &context, const egress_config &cfg, const socket_security &security,
              std::vector<pipe *> inputs, credits &credits, thread_counters &counters,
              const pipeline_control &control);

    [[nodiscard]] const std::vector<std::string> &bound() const noexcept { return _bound; }
    // Distinct topic prefixes subscribed to. Written by the thread that owns the publisher only.
    [[nodiscard]] std::int64_t subscriptions() const noexcept {
        return _subscriptions.load(std::memory_order_relaxed);
    }

    // The thread body: returns once every input pipe delivered its end item (after a drain) or
    // on abort(). Closes the socket, lingering up to the drain deadline for slow subscribers.
    void run();

    // The direct path, for the one thread that owns the publisher instead of run().
    // Sends [topic][body]; false if the relay aborted while a slow subscriber held it up.
    bool publish(pipeline_item &item);
    // Takes the subscribe/unsubscribe frames queued in the XPUB, without waiting.
    void read_subscriptions();
    // Readable (ZMQ_POLLIN) when subscription frames are queued.
    [[nodiscard]] void *handle() noexcept { return _socket.handle(); }
    // Closes the socket, lingering up to the drain deadline for slow subscribers (not at all
    // after an abort).
    void close();

private:
    void return_credits();

    zmq::socket_t _socket;
    std::vector<pipe *> _inputs;
    credits &_credits;
    thread_counters &_counters;
    const pipeline_control &_control;
    std::int64_t _unreturned = 0; // credits for items handled but not yet returned
    std::atomic<std::int64_t> _subscriptions{0};
    std::vector<std::string> _bound;
};

} // namespace zrelay
