// handshake_refusal: why the relay refused a client's handshake, on which side, and which of
// libzmq's monitor events say so.
//
// Every refusal is counted once, by whoever learns of it first with its reason: the ZAP
// handler (authenticator.hpp) for a CURVE key not in the allow-list, the handshake watch
// (handshake_watch.hpp) for everything libzmq refuses before asking it. refusal_of() therefore
// leaves ZMQ_EVENT_HANDSHAKE_FAILED_AUTH out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zrelay {

enum class relay_side : std::uint8_t { ingress, egress };
inline constexpr std::size_t relay_side_count = 2;

enum class refusal_reason : std::uint8_t {
    unknown_key,   // a CURVE client whose public key is not in the side's allow-list
    mechanism,     // NULL or PLAIN where the side runs CURVE, or CURVE or PLAIN where it does not
    cryptographic, // a CURVE box that does not open: the wrong server key, or forged
    malformed,     // not ZMTP 3 where CURVE requires it (junk, ZMTP 1.0/2.0), a broken command
    incomplete,    // closed, or cut at the handshake deadline, before finishing (CURVE sides)
};
inline constexpr std::size_t refusal_reason_count = 5;

[[nodiscard]] std::string_view to_string(relay_side side) noexcept;
[[nodiscard]] std::string_view to_string(refusal_reason reason) noexcept;

// The refusal a monitor event reports (event, value as zmq_socket_monitor gives them) on a side
// that runs CURVE or not; nothing if the event is no refusal, or one counted elsewhere.
[[nodiscard]] std::optional<refusal_reason> refusal_of(std::uint16_t event, std::uint32_t value,
                                                       bool curve) noexcept;

// What happened, in a few words, for the log line (`value` as for refusal_of()).
[[nodiscard]] std::string describe_refusal(refusal_reason reason, std::uint32_t value);

} // namespace zrelay
