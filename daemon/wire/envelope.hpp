// envelope: decoding and validating one DataMessage. Only envelope.cpp sees protobuf types.
//
// The relay forwards the client's bytes unchanged, so decoding is validation plus extracting
// the topic, and it need not build a message object: decode_envelope() walks the wire format
// with protobuf's reader and checks exactly what protobuf's generated parser checks (structure,
// UTF-8 in string fields), copying nothing and allocating nothing. The payload is skipped, so
// its size costs nothing. tests/envelope_test.cpp holds it to protobuf's own verdict on
// mutated and random inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zrelay {

// Why a frame was refused. Each reason is a label value of zrelay_messages_invalid_total.
enum class invalid_reason : unsigned char {
    none = 0,
    malformed,      // not a parseable DataMessage (garbage, truncated)
    bad_utf8,       // parses, but a string field (content, topic, a header) is not valid UTF-8
    oversize,       // larger than ingress.max_message_bytes (decided by the receiver)
    multipart,      // more than one frame (decided by the receiver)
    reserved_topic, // a topic starting with $zrelay/drops, which only the relay publishes on
};
inline constexpr std::size_t invalid_reason_count = 6;

// Where the relay says what it dropped and why (see drop_notices.hpp). A client's message on a
// topic starting with it is refused (reserved_topic): subscribers filter by prefix, so nobody
// may forge a notice or slip into their stream. (The rest of $zrelay/ is free: the
// healthcheck's canaries travel as ordinary messages on $zrelay/health/.)
inline constexpr std::string_view drops_topic = "$zrelay/drops";
inline constexpr std::string_view reserved_topic_prefix = drops_topic;

// "malformed", "bad_utf8", ... ("none" for none); stable: used as metric labels and in logs.
std::string_view to_string(invalid_reason reason) noexcept;

struct decode_result {
    invalid_reason reason = invalid_reason::none;
    // The message's topic (field 3); empty if it has none. A view into the decoded bytes.
    std::string_view topic;
};

// Never throws, never allocates, on any input. Fields it does not know (a newer client's) are
// accepted, as is an empty frame: in proto3 that is the well-formed all-defaults message.
decode_result decode_envelope(const void *data, std::size_t size) noexcept;

// The relay's stamp (DataMessage fields 100-102), as bytes to append to a serialized
// DataMessage: the result parses as the original with the stamp fields set, whatever the
// original held in them.
struct relay_stamp {
    std::uint64_t sequence = 0;
    std::int64_t received_ns = 0;
    std::uint64_t instance = 0;
};
inline constexpr std::size_t max_stamp_bytes = 34; // 2+10 + 2+10 + 2+8
// Writes the stamp's wire bytes into `out`; returns how many. Never allocates.
std::size_t write_stamp(const relay_stamp &stamp, std::array<char, max_stamp_bytes> &out) noexcept;

// A serialized DataMessage with just `content` and `topic` (the healthcheck's canary).
std::string encode_envelope(std::string_view topic, std::string_view content);

// Routes libprotobuf's own log lines (it logs an ERROR on every invalid UTF-8 string it parses)
// to spdlog at debug level, so a flood of bad input cannot flood the log. Call once at start-up.
void install_protobuf_log_handler();

} // namespace zrelay
