// invalid_reason: why the relay refused a client's frame. Its own header, so the counters
// (net/metrics.hpp) and everything that reports them need not see the decoder (envelope.hpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace zrelay {

// Why a frame was refused (or, for the last two, not relayed again). Each reason is a label value
// of zrelay_messages_invalid_total.
enum class invalid_reason : unsigned char {
    none = 0,
    malformed,      // not a parseable DataMessage (garbage, truncated)
    bad_utf8,       // parses, but a string field (content, topic, a header) is not valid UTF-8
    oversize,       // larger than ingress.max_message_bytes (decided by the receiver)
    multipart,      // more than one frame (decided by the receiver)
    reserved_topic, // a topic starting with $zrelay/drops, which only the relay publishes on
    loop,           // it carries this relay's own stamp: it came back round a loop of relays
    too_many_hops,  // it has crossed routing.max_hops relays already
};
inline constexpr std::size_t invalid_reason_count = 8;

// "malformed", "bad_utf8", ... ("none" for none); stable: used as metric labels and in logs.
std::string_view to_string(invalid_reason reason) noexcept;

} // namespace zrelay
