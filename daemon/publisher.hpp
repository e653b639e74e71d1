// publisher: owns the egress XPUB socket. It reads the output pipes in the receiver's
// round-robin order, publishes each valid item as [topic][DataMessage], returns one credit per
// item, and tracks subscriptions from the XPUB's subscribe/unsubscribe frames.
//
// With workers: 0 there are no pipes and no publisher thread: the receiver's thread owns the
// publisher and calls publish() for each message it validated (the direct path), so a message
// crosses no thread of ours between PULL and XPUB.
//
// Being the one thread that sees what leaves, in the order it leaves, it is also where the
// relay's stamp is added (topics.hpp, stamper.hpp), where refused input goes to the dead-letter
// socket, and where drop notices are published (drop_notices.hpp).
//
// With nodrop, a subscriber at its SNDHWM makes send() wait. The wait is a blocking send with a
// short ZMQ_SNDTIMEO rather than DONTWAIT and a poll: an XPUB always polls writable (its
// distributor reports room even when a subscriber has none), but a blocking send is woken by the
// subscriber's pipe draining. The timeout lets it look at the shutdown state and subscriptions.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "credits.hpp"
#include "dead_letters.hpp"
#include "drop_notices.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "security.hpp"
#include "stamper.hpp"
#include "topics.hpp"

namespace zrelay {

class publisher {
public:
    // Creates the XPUB socket (and the dead-letter one, if configured) and binds/connects every
    // endpoint on the caller's thread; throws endpoint_error naming the endpoint.
    // `counters` is this publisher's block; `all` every thread's, read for drop notices.
    publisher(zmq::context_t &context, const config &cfg, const socket_security &security,
              std::vector<pipe *> inputs, credits &credits, thread_counters &counters,
              std::span<const thread_counters> all, topic_table &topics,
              const pipeline_control &control);

    [[nodiscard]] const std::vector<std::string> &bound() const noexcept { return _bound; }
    [[nodiscard]] std::vector<std::string> dead_letter_bound() const {
        return _dead_letters ? _dead_letters->bound() : std::vector<std::string>{};
    }
    // Distinct topic prefixes subscribed to. Written by the thread that owns the publisher only.
    [[nodiscard]] std::int64_t subscriptions() const noexcept {
        return _subscriptions.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t instance() const noexcept { return _stamper.instance(); }

    // The thread body: returns once every input pipe delivered its end item (after a drain) or
    // on abort(). Closes the socket, lingering up to the drain deadline for slow subscribers.
    void run();

    // The direct path, for the one thread that owns the publisher instead of run().
    // Sends [topic][body]; false if the relay aborted while a slow subscriber held it up.
    bool publish(pipeline_item &item);
    // A refused item: to the dead-letter socket, if there is one.
    void reject(pipeline_item &item);
    // Now and then (at least every idle_poll, and every 1024 items): takes the subscribe frames
    // queued in the XPUB and publishes the drop notices due.
    void tick();
    // Readable (ZMQ_POLLIN) when subscription frames are queued.
    [[nodiscard]] void *handle() noexcept { return _socket.handle(); }
    // Closes the sockets, lingering up to the drain deadline for slow subscribers (not at all
    // after an abort).
    void close();

private:
    void return_credits();
    void read_subscriptions();
    void publish_drop_notices(drop_notices::clock::time_point now);
    // Sends one message of the relay's own on `topic`, without waiting (dropped for a subscriber
    // with no room, even with nodrop); false if it could not be sent at all.
    bool send_own(std::string_view topic, const std::string &content);
    [[nodiscard]] drop_totals totals() const noexcept;

    zmq::socket_t _socket;
    std::optional<dead_letters> _dead_letters;
    std::vector<pipe *> _inputs;
    credits &_credits;
    thread_counters &_counters;
    std::span<const thread_counters> _all;
    topic_table &_topics;
    const pipeline_control &_control;
    stamper _stamper;
    bool _stamp;
    bool _nodrop;
    std::optional<drop_notices> _notices; // when egress.drop_notices
    std::uint64_t _drain_losses = 0;      // in flight when a drain ran out of time
    std::int64_t _unreturned = 0;         // credits for items handled but not yet returned
    std::atomic<std::int64_t> _subscriptions{0};
    std::vector<std::string> _bound;
};

} // namespace zrelay
