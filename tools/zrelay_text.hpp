// Text for people and for JSON readers: UTF-8 checks, one-line escaping, JSON strings, base64,
// and the way the tool writes times, instances and sequence ranges. Hand-written because zrelay's
// dependencies have no JSON library (and these are all it needs).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zrelay::tool {

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as
// protobuf requires of string fields: it refuses to parse a message that breaks that.
[[nodiscard]] bool valid_utf8(std::string_view s);

// `s` on one line and safe for a terminal: backslash, \n, \r, \t and the other control
// characters (C0, DEL, C1) escaped, bytes that are not UTF-8 as \xHH.
[[nodiscard]] std::string one_line(std::string_view s);

// Appends `s` to `out` as a quoted JSON string; bytes that are not UTF-8 become U+FFFD.
void append_json_string(std::string &out, std::string_view s);

// Standard base64 (RFC 4648, with padding).
[[nodiscard]] std::string base64(std::string_view bytes);

// A relay instance as the tool prints it everywhere: 16 hex digits.
[[nodiscard]] std::string hex_instance(std::uint64_t instance);

// Nanoseconds since the Unix epoch (DataMessage.timestamp, relay_received_ns) as ISO 8601 UTC
// with milliseconds, rounded down: "2024-05-01T12:34:56.789Z".
[[nodiscard]] std::string iso8601_ms(std::int64_t epoch_ns);

// "sequence 3" or "sequences 3..7".
[[nodiscard]] std::string sequences(std::uint64_t first, std::uint64_t last);

} // namespace zrelay::tool
