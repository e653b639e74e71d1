// socket_monitor: reads what libzmq reports about a socket's connections (zmq_socket_monitor).
//
// libzmq sends each event of the watched socket to an inproc PAIR it binds; this connects the
// other end and decodes the events. Shared by the relay (refused handshakes,
// handshake_watch.hpp) and the `zrelay` client tool (why it cannot connect).
//
// Threads: construct it on the watched socket's thread, before that socket binds or connects,
// so that no connection goes unseen. From then on the PAIR belongs to whichever one thread
// reads it (it may be handed over as any zmq socket is, with a full memory barrier).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <zmq.hpp>

namespace zrelay {

struct monitor_event {
    std::uint16_t event = 0; // one ZMQ_EVENT_* bit
    std::uint32_t value = 0; // an fd, an errno, a ZMQ_PROTOCOL_ERROR_* or a ZAP status code
    std::string endpoint;    // the watched socket's endpoint (for accepted peers: the bound one)
};

// What a ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL value means, in a few words.
[[nodiscard]] std::string describe_protocol_error(std::uint32_t code);

class socket_monitor {
public:
    // Starts monitoring `watched` for the ZMQ_EVENT_* bits in `events`. Throws zmq::error_t.
    socket_monitor(zmq::context_t &context, zmq::socket_t &watched, int events);

    // The PAIR, to poll for ZMQ_POLLIN.
    [[nodiscard]] zmq::socket_t &socket() noexcept { return _events; }

    // The next queued event, or nothing if none is queued. Never blocks.
    [[nodiscard]] std::optional<monitor_event> next();

    // Closes the PAIR; needed before closing the context, which would wait for it.
    void close() noexcept { _events.close(); }

private:
    zmq::socket_t _events;
};

} // namespace zrelay
