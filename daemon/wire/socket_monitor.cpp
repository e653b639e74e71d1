#include "socket_monitor.hpp"

#include <cstring>
#include <sstream>
#include <string_view>

#include <zmq.h>

namespace zrelay {
namespace {

constexpr int max_queued_events = 100'000;

// One PAIR per watched socket: the address is made unique by the socket's handle.
std::string monitor_address(const zmq::socket_t &watched) {
    std::ostringstream address;
    address << "inproc://zrelay-monitor-" << watched.handle();
    return address.str();
}

std::string hex(std::uint32_t value) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string text = "0x";
    for (int shift = 28; shift >= 0; shift -= 4)
        text.push_back(digits[(value >> static_cast<unsigned>(shift)) & 0xFU]);
    return text;
}

} // namespace

std::string describe_protocol_error(std::uint32_t code) {
    switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "another security mechanism";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "a cryptographic error (the wrong server key?)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
        return "a failed key exchange";
    case ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND:
    case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE:
        return "a handshake command out of order";
    case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA:
        return "invalid handshake metadata";
    default:
        break;
    }
    if (code >= ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED &&
        code <= ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME)
        return "a malformed handshake command " + hex(code);
    return "protocol error " + hex(code);
}

socket_monitor::socket_monitor(zmq::context_t &context, zmq::socket_t &watched, int events)
    : _events(context, zmq::socket_type::pair) {
    const std::string address = monitor_address(watched);
    if (zmq_socket_monitor(watched.handle(), address.c_str(), events) != 0)
        throw zmq::error_t();
    _events.set(zmq::sockopt::linger, 0);
    // libzmq drops events its PAIR cannot queue (1000 by default): room for a burst of
    // connections, each event a few dozen bytes.
    _events.set(zmq::sockopt::rcvhwm, max_queued_events);
    _events.connect(address);
}

std::optional<monitor_event> socket_monitor::next() {
    // Each event is two frames: 6 bytes (uint16 event, uint32 value, native order), then the
    // endpoint. Anything else is not libzmq 4.x's layout and is skipped.
    zmq::message_t head;
    zmq::message_t where;
    while (_events.recv(head, zmq::recv_flags::dontwait)) {
        if (!head.more() || !_events.recv(where, zmq::recv_flags::none))
            continue;
        if (head.size() != sizeof(std::uint16_t) + sizeof(std::uint32_t))
            continue;
        monitor_event e;
        std::memcpy(&e.event, head.data(), sizeof e.event);
        std::memcpy(&e.value, static_cast<const char *>(head.data()) + sizeof e.event,
                    sizeof e.value);
        e.endpoint = where.to_string();
        return e;
    }
    return std::nullopt;
}

} // namespace zrelay
