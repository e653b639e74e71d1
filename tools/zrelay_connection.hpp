// connection_watch: says on stderr what zmq does in silence with a connecting socket.
//
// A SUB socket connects in the background and retries for ever: pointed at the wrong port, a
// host that does not resolve, a relay that is down or one that wants CURVE, `zrelay sub` would
// wait without a word. This reads the socket's monitor events (zmq_socket_monitor) and reports
// each distinct problem once per outage (not once per retry, every 100 ms), then that the
// connection is up again. It is read in the caller's own poll, next to the socket it watches;
// the events are decoded by the relay's own socket_monitor (daemon/wire/socket_monitor.hpp).
#pragma once

#include <string>
#include <vector>

#include <zmq.hpp>

#include "socket_monitor.hpp"

namespace zrelay::tool {

class connection_watch {
public:
    // Starts monitoring `watched`, connected or about to connect to `endpoint`; `who` prefixes
    // each line ("zrelay sub").
    connection_watch(zmq::context_t &context, zmq::socket_t &watched, std::string endpoint,
                     std::string who);

    // The monitor socket, to poll for ZMQ_POLLIN next to the watched one.
    [[nodiscard]] zmq::socket_t &events() noexcept { return _monitor.socket(); }

    // Reads every event queued and reports what needs saying. Never blocks.
    void read_events();

    // Closes the monitor socket; needed before closing the context, which would wait for it.
    void close() noexcept { _monitor.close(); }

    // True once a handshake succeeded: a relay has been there at least once.
    [[nodiscard]] bool ever_connected() const noexcept { return _ever_connected; }

private:
    // The line to say, if any, for one event (`value` as the monitor gives it).
    [[nodiscard]] std::string on_event(int event, int value);
    // `text` prefixed with who says it, or nothing if this outage said it already.
    [[nodiscard]] std::string problem(std::string text);

    socket_monitor _monitor;
    std::string _endpoint;
    std::string _who;
    std::vector<std::string> _said; // problems said since the last handshake (a handful)
    bool _reached = false;          // the current attempt made a transport connection
    bool _connected = false;        // between a handshake and the next disconnect
    bool _ever_connected = false;   // a handshake succeeded once
};

} // namespace zrelay::tool
