// envelope: decoding and validating one DataMessage. No protobuf type appears here: the wire
// layer's sources alone see protobuf (envelope.cpp its public reader and writer and the generated
// field numbers, utf8.cpp its one internal function).
//
// The relay forwards the client's bytes unchanged, so decoding is validation plus extracting
// the topic, and it need not build a message object: decode_envelope() walks the wire format
// with protobuf's reader and checks exactly what protobuf's generated parser checks (structure,
// UTF-8 in string fields, utf8.hpp), copying nothing and allocating nothing. The payload is
// skipped, so its size costs nothing. tests/envelope_test.cpp holds it to protobuf's own verdict on
// mutated and random inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invalid_reason.hpp"
#include "reserved_topics.hpp"

namespace zrelay {

// A relay's stamp (DataMessage fields 100-102, or one RelayHop of field 103).
struct relay_stamp {
    std::uint64_t sequence = 0;
    std::int64_t received_ns = 0;
    std::uint64_t instance = 0; // 0: no stamp (no relay picks 0)
};

struct decode_result {
    invalid_reason reason = invalid_reason::none;
    // The message's topic (field 3); empty if it has none. A view into the decoded bytes.
    std::string_view topic;
    // The stamp of the last relay the message crossed (fields 100-102, the last of each winning
    // as in protobuf); instance 0 for a message that crossed none, such as a producer's.
    relay_stamp upstream;
    // How many relays' stamps the message carries: relay_hops entries, plus one for `upstream`.
    std::uint32_t relays_crossed = 0;
    // decode_envelope()'s `self` is the instance of some stamp in the message (a loop).
    bool crossed_self = false;
};

// Never throws, never allocates, on any input. Fields it does not know (a newer client's) are
// accepted, as is an empty frame: in proto3 that is the well-formed all-defaults message.
// `self`: a relay instance to look for among the message's stamps (0: none).
decode_result decode_envelope(const void *data, std::size_t size, std::uint64_t self = 0) noexcept;

// The relay's stamp as bytes to append to a serialized DataMessage: `upstream`'s stamp (if its
// instance is not 0) as one more relay_hops entry, then `own` as fields 100-102. The result
// parses as the original with the stamp fields set, whatever the original held in them, and
// with one more hop.
inline constexpr std::size_t max_hop_bytes = 2 + 1 + 9 + 11 + 11;  // tag, length, 3 fields
inline constexpr std::size_t max_stamp_bytes = 34 + max_hop_bytes; // 2+10 + 2+10 + 2+8, the hop
// Writes the stamp's wire bytes into `out`; returns how many. Never allocates.
std::size_t write_stamp(const relay_stamp &own, const relay_stamp &upstream,
                        std::array<char, max_stamp_bytes> &out) noexcept;

// A serialized DataMessage with just `content` and `topic` (the healthcheck's canary).
std::string encode_envelope(std::string_view topic, std::string_view content);

// Routes libprotobuf's own log lines (it logs an ERROR on every invalid UTF-8 string it parses)
// to spdlog at debug level, so a flood of bad input cannot flood the log. Call once at start-up.
void install_protobuf_log_handler();

} // namespace zrelay
