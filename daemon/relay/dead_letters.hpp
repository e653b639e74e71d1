// dead_letters: the optional PUB socket (invalid.dead_letter) where refused input is
// republished raw, as [reason][original frames...], so an operator can see what was refused
// and why (subscribe to "" for all, or to a reason such as "malformed").
//
// It never waits: a PUB drops what a subscriber past its SNDHWM (invalid.dead_letter_hwm) has
// no room for, and sends to nobody when nobody subscribes, so a slow or absent consumer never
// slows the main path. Secured like egress (its CURVE keys and allow-list, its ipc mode).
// Used by the thread that runs egress (so that refused input keeps its place among the rest).
#pragma once

#include <string>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "security.hpp"

namespace zrelay {

class dead_letters {
public:
    // Binds cfg.dead_letter on the caller's thread; throws endpoint_error naming it.
    // `counters`: the block of the thread that will send.
    dead_letters(zmq::context_t &context, const invalid_config &cfg,
                 const socket_security &security, thread_counters &counters);

    // Sends a refused item as [reason][body][rest...], taking the frames' contents.
    void send(pipeline_item &item);

    [[nodiscard]] const std::vector<std::string> &bound() const noexcept {
        return _bound.endpoints;
    }
    void close() { _socket.close(); }

private:
    zmq::socket_t _socket;
    thread_counters &_counters;
    attached_endpoints _bound; // its ipc socket files are removed with it
};

} // namespace zrelay
