#include "handshake_refusal.hpp"

#include <cerrno>

#include <zmq.h>

#include "socket_monitor.hpp"

namespace zrelay {

std::string_view to_string(relay_side side) noexcept {
    return side == relay_side::ingress ? "ingress" : "egress";
}

std::string_view to_string(refusal_reason reason) noexcept {
    switch (reason) {
    case refusal_reason::unknown_key:
        return "unknown_key";
    case refusal_reason::mechanism:
        return "mechanism";
    case refusal_reason::cryptographic:
        return "cryptographic";
    case refusal_reason::malformed:
        return "malformed";
    case refusal_reason::incomplete:
        return "incomplete";
    }
    return "?";
}

std::optional<refusal_reason> refusal_of(std::uint16_t event, std::uint32_t value,
                                         bool curve) noexcept {
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        switch (value) {
        case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            return refusal_reason::mechanism;
        case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
            return refusal_reason::cryptographic;
        default:
            return refusal_reason::malformed;
        }
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        // EPROTO is the frame guard's: a greeting that is not ZMTP 3 on a listener that takes
        // ZMTP 3 only (frame_guard.hpp), which libzmq itself would refuse without a word.
        if (value == EPROTO)
            return refusal_reason::malformed;
        // ENOPROTOOPT too: a client that closed on reading the relay's mechanism, before
        // naming its own, as a libzmq client of another mechanism does.
        if (value == ENOPROTOOPT)
            return refusal_reason::mechanism;
        // libzmq 4.3.4 also reports the end of every ZMTP 1.0/2.0 connection this way, working
        // ones included: only where CURVE keeps those out does it mean a handshake cut short.
        if (curve)
            return refusal_reason::incomplete;
        return std::nullopt;
    default:
        // ZMQ_EVENT_HANDSHAKE_FAILED_AUTH among them: the authenticator made that decision
        // and counted it.
        return std::nullopt;
    }
}

std::string describe_refusal(refusal_reason reason, std::uint32_t value) {
    switch (reason) {
    case refusal_reason::unknown_key:
        return "public key not in the allow-list";
    case refusal_reason::mechanism:
        return "another security mechanism than the side's";
    case refusal_reason::cryptographic:
        return describe_protocol_error(value);
    case refusal_reason::malformed:
        if (value == EPROTO)
            return "not ZMTP 3, which CURVE requires (junk, or a ZMTP 1.0/2.0 client)";
        return describe_protocol_error(value);
    case refusal_reason::incomplete:
        return "closed, or past security.handshake_timeout_ms, before the handshake finished";
    }
    return "?";
}

} // namespace zrelay
