// envelope: decoding and validating one DataMessage. Only envelope.cpp sees protobuf types.
//
// The relay forwards the client's bytes unchanged, so decoding is validation plus extracting
// the topic. A decoder is owned by one thread and reuses its message object, so decoding a
// steady stream does not allocate once the object's strings have grown to size.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace zrelay {

// Why a frame was refused. Each reason is a label value of zrelay_messages_invalid_total.
enum class invalid_reason : unsigned char {
    none = 0,
    malformed, // not a parseable DataMessage (garbage, truncated)
    bad_utf8,  // parses, but a string field (content, topic, a header) is not valid UTF-8
    oversize,  // larger than ingress.max_message_bytes (decided by the receiver)
    multipart, // more than one frame (decided by the receiver)
};
inline constexpr std::size_t invalid_reason_count = 5;

// "malformed", "bad_utf8", ... ("none" for none); stable: used as metric labels and in logs.
std::string_view to_string(invalid_reason reason) noexcept;

struct decode_result {
    invalid_reason reason = invalid_reason::none;
    // The message's topic (field 3); empty if it has none. Points into the decoder's message
    // object: valid until the next decode() on the same decoder.
    std::string_view topic;
};

class envelope_decoder {
public:
    envelope_decoder();
    ~envelope_decoder();
    envelope_decoder(const envelope_decoder &) = delete;
    envelope_decoder &operator=(const envelope_decoder &) = delete;
    envelope_decoder(envelope_decoder &&other) noexcept;
    envelope_decoder &operator=(envelope_decoder &&other) noexcept;

    // Never throws on any input. Fields it does not know (a newer client's) are accepted, as is
    // an empty frame: in proto3 that is the well-formed all-defaults message. A moved-from
    // decoder may only be assigned to or destroyed.
    decode_result decode(const void *data, std::size_t size) noexcept;

private:
    struct impl;
    std::unique_ptr<impl> _impl;
};

// Routes libprotobuf's own log lines (it logs an ERROR on every invalid UTF-8 string it parses)
// to spdlog at debug level, so a flood of bad input cannot flood the log. Call once at start-up.
void install_protobuf_log_handler();

} // namespace zrelay
