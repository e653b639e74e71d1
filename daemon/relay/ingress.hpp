// ingress: the first stage. It owns the PULL socket and takes messages from it one at a time,
// and from the links to upstream relays (upstream_links.hpp) if there are any, in turn,
// refusing at once what needs no decoding to refuse: a message of more than one frame (whose
// other frames it reads off, so they cannot poison the next message) and one over
// max_message_bytes. It counts what it takes, and what it refuses by reason, and notes the
// receive time for the relay's stamp. While draining it reads PULL only: producers' messages
// already sent are the relay's to deliver, an upstream relay's stream never ends.
//
// It does not know what runs after it: the direct path calls receive() and hands the item on
// itself; the pipelined one's dispatcher deals it to a worker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "invalid_log.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "pipeline_control.hpp"
#include "security.hpp"
#include "upstream_links.hpp"

namespace zrelay {

class ingress {
public:
    struct options {
        bool take_time = false;    // set item.received_ns (for egress.stamp)
        bool keep_refused = false; // keep a refused message's other frames (for dead letters)
        // ZMQ_AFFINITY: the I/O threads that may serve the socket's connections; 0 = any.
        std::uint64_t affinity = 0;
    };

    // Creates the PULL socket and binds/connects every ingress endpoint on the caller's thread,
    // so a bad endpoint fails start-up: throws endpoint_error naming it and the OS reason.
    // `links` (if any) must outlive ingress; ingress closes it.
    ingress(zmq::context_t &context, const ingress_config &cfg, const socket_security &security,
            options opts, thread_counters &counters, const pipeline_control &control,
            upstream_links *links = nullptr);

    // Takes the next message into `item`, waiting up to idle_poll for one if `wait`. True if it
    // took one; item.reason then says whether it was refused (oversize, multipart), and the
    // item holds the message's other frames in item.rest if those are kept.
    bool receive(pipeline_item &item, bool wait);

    // Waits while PULL is empty for input, for `also_watch` (a zmq socket, or nullptr), or for
    // the shutdown state to change. False once ingress should stop reading: on abort, or when
    // draining and PULL stayed quiet for drain_quiet (or the reading half of the drain is over).
    bool wait_for_input(void *also_watch);

    // The endpoints actually bound (wildcard ports resolved), for the log.
    [[nodiscard]] const std::vector<std::string> &bound() const noexcept {
        return _bound.endpoints;
    }
    // Whatever is still queued was never received: nothing to keep (linger 0).
    void close();

private:
    bool take(pipeline_item &item);
    void refuse(pipeline_item &item);
    // Counts what was taken, and refuses what is over max_message_bytes.
    void account(pipeline_item &item, std::size_t bytes);

    zmq::socket_t _socket;
    std::size_t _max_message_bytes;
    options _options;
    thread_counters &_counters;
    const pipeline_control &_control;
    invalid_log _invalid_log;
    attached_endpoints _bound; // its ipc socket files are removed with it
    upstream_links *_links;    // null: no ingress.subscribe
    bool _links_first = false; // which of PULL and the links take() tries first: they alternate
    std::size_t _since_changes = 0;     // takes since the subscription changes were passed on
    std::vector<zmq::pollitem_t> _poll; // wait_for_input()'s, reused
};

} // namespace zrelay
