#include "zrelay_connection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <zmq.h>

namespace zrelay::tool {

namespace {

std::string handshake_protocol_error(int code) {
    if (code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return "it uses another security mechanism (CURVE?); this tool speaks NULL only";
    if ((code & 0xF0000000) == ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED)
        return "it does not speak ZMTP as expected (" +
               describe_protocol_error(static_cast<std::uint32_t>(code)) + ")";
    return describe_protocol_error(static_cast<std::uint32_t>(code));
}

constexpr int watched_events =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

} // namespace

connection_watch::connection_watch(zmq::context_t &context, zmq::socket_t &watched,
                                   std::string endpoint, std::string who)
    : _monitor(context, watched, watched_events), _endpoint(std::move(endpoint)),
      _who(std::move(who)) {}

void connection_watch::read_events() {
    while (const auto e = _monitor.next())
        if (const std::string line = on_event(e->event, static_cast<int>(e->value)); !line.empty())
            std::cerr << line << '\n';
}

std::string connection_watch::on_event(int event, int value) {
    switch (event) {
    case ZMQ_EVENT_CONNECTED:
        _reached = true; // a transport connection; the handshake is still to come
        return {};
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
        _connected = true;
        _ever_connected = true;
        if (_said.empty())
            return {}; // the usual start: nothing went wrong, nothing to say
        _said.clear();
        return fmt::format("{}: connected to {}", _who, _endpoint);
    }
    case ZMQ_EVENT_DISCONNECTED:
        // Also follows every failed handshake, which says what went wrong itself.
        if (!_connected)
            return {};
        _connected = false;
        return problem(fmt::format("lost the connection to {}; reconnecting", _endpoint));
    case ZMQ_EVENT_CONNECT_RETRIED:
        // zmq schedules a retry after any failed attempt. One that reached the peer failed
        // later, and that failure was reported; only one that never connected is news.
        if (std::exchange(_reached, false))
            return {};
        // zmq does not say why (refused, no such host, no such ipc path): the endpoint is what
        // the user can check.
        return problem(fmt::format("cannot connect to {} ({}); retrying", _endpoint,
                                   _endpoint.starts_with("ipc://")
                                       ? "no socket at that path, or nothing listens on it"
                                       : "nothing accepts connections there, or the host "
                                         "does not resolve"));
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return problem(fmt::format("{} refused the handshake: {}; retrying", _endpoint,
                                   handshake_protocol_error(value)));
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return problem(fmt::format("{} refused this client (authentication, ZAP status {}); "
                                   "retrying",
                                   _endpoint, value));
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        // A peer that closes at once shows as either, by timing: one cause, one line. A CURVE
        // relay closes on a NULL greeting, and its reset may beat its own greeting here, so
        // the mechanism is not always what zmq reports.
        if (value == ECONNRESET || value == EPIPE || value == 0)
            return problem(fmt::format("{} closed the connection during the handshake (a relay "
                                       "that wants CURVE, or not a zmq socket?); retrying",
                                       _endpoint));
        return problem(fmt::format("the handshake with {} failed: {}; retrying", _endpoint,
                                   std::generic_category().message(value)));
    default:
        return {};
    }
}

std::string connection_watch::problem(std::string text) {
    // Said once an outage: zmq retries every 100 ms, and two causes may alternate.
    if (std::find(_said.begin(), _said.end(), text) != _said.end())
        return {};
    _said.push_back(std::move(text));
    return fmt::format("{}: {}", _who, _said.back());
}

} // namespace zrelay::tool
