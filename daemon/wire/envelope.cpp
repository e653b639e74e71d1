#include "envelope.hpp"

#include <climits>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "utf8.hpp"
#include "zrelay/v1/data_message.pb.h"

namespace zrelay {

namespace {

namespace pb = google::protobuf;
using data_message = v1::DataMessage;

// DataMessage's string fields and the stamp's, as the generated code numbers them.
constexpr int content_field = data_message::kContentFieldNumber;
constexpr int topic_field = data_message::kTopicFieldNumber;
constexpr int headers_field = data_message::kHeadersFieldNumber;
// A headers entry is a map<string, string> entry, whose key and value are fields 1 and 2 by the
// language guide's definition of maps (the generated entry type is not public API).
constexpr int entry_key_field = 1;
constexpr int entry_value_field = 2;

// The wire types and tag layout of protobuf's encoding (its documented wire format).
enum wire_type : std::uint32_t {
    varint = 0,
    fixed64 = 1,
    length_delimited = 2,
    start_group = 3,
    end_group = 4,
    fixed32 = 5,
};
constexpr int field_of(std::uint32_t tag) noexcept {
    return static_cast<int>(tag >> 3);
}
constexpr std::uint32_t wire_type_of(std::uint32_t tag) noexcept {
    return tag & 7U;
}
constexpr std::uint32_t tag_of(int field, wire_type type) noexcept {
    return static_cast<std::uint32_t>(field) << 3 | type;
}

// protobuf's default recursion limit: how deeply groups and nested messages may nest.
constexpr int max_depth = 100;

enum class scope : unsigned char {
    message, // DataMessage itself
    entry,   // a headers entry (map<string, string>)
    group,   // the inside of an unknown group field: structure only
};

struct scan_state {
    bool utf8_ok = true;
    std::string_view topic;
};

// The largest length protobuf's parser reads (ReadSizeFallback in parse_context.cc: it keeps
// kSlopBytes, 16, below INT32_MAX so that its limits cannot overflow).
constexpr std::uint64_t max_length = INT32_MAX - 16;
// ...and the most bytes its varint may take.
constexpr int max_length_bytes = 5;

// A length-delimited field's bytes, in place in the input; nullopt if truncated, or if its
// length is one protobuf's parser refuses. ReadVarint32 takes up to 10 bytes and keeps the low
// 32 bits, so "80 80 80 80 90 80 90 80 1c" would read as 0 here; protobuf reads a length as at
// most 5 bytes below 2^31 and refuses it.
std::optional<std::string_view> read_in_place(pb::io::CodedInputStream &in) {
    const int start = in.CurrentPosition();
    std::uint64_t wide = 0;
    if (!in.ReadVarint64(&wide) || in.CurrentPosition() - start > max_length_bytes ||
        wide > max_length)
        return std::nullopt;
    const auto length = static_cast<std::uint32_t>(wide);
    const void *at = nullptr;
    int available = 0;
    if (length == 0)
        return std::string_view();
    if (!in.GetDirectBufferPointer(&at, &available) ||
        static_cast<std::uint32_t>(available) < length)
        return std::nullopt;
    in.Skip(static_cast<int>(length));
    return std::string_view(static_cast<const char *>(at), length);
}

bool scan(pb::io::CodedInputStream &in, int size, scope where, int group_field, int depth,
          scan_state &state);

// Scans a length-delimited submessage (a headers entry) in a stream of its own.
bool scan_entry(std::string_view bytes, int depth, scan_state &state) {
    const int size = static_cast<int>(bytes.size());
    pb::io::CodedInputStream in(
        static_cast<const std::uint8_t *>(static_cast<const void *>(bytes.data())), size);
    return scan(in, size, scope::entry, 0, depth, state);
}

// Walks a message's fields with protobuf's wire-format reader and checks what protobuf's
// generated parser checks: every field's framing (unknown fields included, groups too), tags of
// at most 5 bytes, no field number 0, nesting within max_depth, and UTF-8 in string fields. It
// copies nothing: the payload is skipped, and the topic is a view into the input. False if the
// bytes are not a well-formed message. Bad UTF-8 is noted in `state` and the walk goes on, so
// that malformed wins over bad_utf8 as it does for protobuf. A known field number with an
// unexpected wire type is an unknown field, as protobuf keeps it.
bool scan(pb::io::CodedInputStream &in, int size, scope where, int group_field, int depth,
          scan_state &state) {
    for (;;) {
        const int at = in.CurrentPosition();
        const std::uint32_t tag = in.ReadTag();
        if (tag == 0) // the end, or a zero tag, which is invalid; a group must end with its tag
            return where != scope::group && at == size;
        // ReadTag takes a varint of up to 10 bytes (keeping its low 32 bits); protobuf's parser
        // refuses a tag of more than 5.
        if (in.CurrentPosition() - at > 5)
            return false;
        const int field = field_of(tag);
        if (field == 0)
            return false;
        switch (wire_type_of(tag)) {
        case varint: {
            std::uint64_t ignored = 0;
            if (!in.ReadVarint64(&ignored))
                return false;
            break;
        }
        case fixed64:
            if (!in.Skip(8))
                return false;
            break;
        case fixed32:
            if (!in.Skip(4))
                return false;
            break;
        case start_group:
            if (depth + 1 > max_depth || !scan(in, size, scope::group, field, depth + 1, state))
                return false;
            break;
        case end_group:
            return where == scope::group && field == group_field;
        case length_delimited: {
            const auto bytes = read_in_place(in);
            if (!bytes)
                return false;
            const bool is_string =
                (where == scope::message && (field == content_field || field == topic_field)) ||
                (where == scope::entry && (field == entry_key_field || field == entry_value_field));
            if (is_string) {
                if (!valid_utf8(*bytes))
                    state.utf8_ok = false;
                if (where == scope::message && field == topic_field)
                    state.topic = *bytes; // the last one wins, as in protobuf
            } else if (where == scope::message && field == headers_field) {
                if (depth + 1 > max_depth || !scan_entry(*bytes, depth + 1, state))
                    return false;
            }
            break;
        }
        default:
            return false; // wire types 6 and 7 do not exist
        }
    }
}

} // namespace

decode_result decode_envelope(const void *data, std::size_t size) noexcept {
    // protobuf takes an int size; nothing that large is a message the relay would accept.
    if (size > static_cast<std::size_t>(INT_MAX))
        return {invalid_reason::malformed, {}};
    if (size == 0)
        return {invalid_reason::none, {}}; // proto3's well-formed all-defaults message
    if (data == nullptr)
        return {invalid_reason::malformed, {}};
    const int length = static_cast<int>(size);
    pb::io::CodedInputStream in(static_cast<const std::uint8_t *>(data), length);
    // The limits, explicitly: no read past this frame (the receiver has already refused frames
    // over ingress.max_message_bytes), and nesting counted by scan() against max_depth, since
    // it walks groups and entries itself rather than through the stream's recursion budget.
    in.SetTotalBytesLimit(length);
    in.SetRecursionLimit(max_depth);
    scan_state state;
    if (!scan(in, length, scope::message, 0, 0, state))
        return {invalid_reason::malformed, {}};
    if (!state.utf8_ok)
        return {invalid_reason::bad_utf8, {}};
    return {invalid_reason::none, state.topic};
}

std::size_t write_stamp(const relay_stamp &stamp, std::array<char, max_stamp_bytes> &out) noexcept {
    using out_stream = pb::io::CodedOutputStream;
    auto *at = reinterpret_cast<std::uint8_t *>(out.data()); // NOLINT: protobuf writes bytes
    std::uint8_t *const start = at;
    // uint64 relay_sequence, int64 relay_received_ns (a varint of its two's complement, as
    // protobuf writes an int64), fixed64 relay_instance.
    at = out_stream::WriteTagToArray(tag_of(data_message::kRelaySequenceFieldNumber, varint), at);
    at = out_stream::WriteVarint64ToArray(stamp.sequence, at);
    at = out_stream::WriteTagToArray(tag_of(data_message::kRelayReceivedNsFieldNumber, varint), at);
    at = out_stream::WriteVarint64ToArray(static_cast<std::uint64_t>(stamp.received_ns), at);
    at = out_stream::WriteTagToArray(tag_of(data_message::kRelayInstanceFieldNumber, fixed64), at);
    at = out_stream::WriteLittleEndian64ToArray(stamp.instance, at);
    return static_cast<std::size_t>(at - start);
}

std::string encode_envelope(std::string_view topic, std::string_view content) {
    data_message message;
    message.set_content(std::string(content));
    message.set_topic(std::string(topic));
    return message.SerializeAsString();
}

namespace {

void forward_protobuf_log(google::protobuf::LogLevel level, const char *filename, int line,
                          const std::string &message) {
    const char *file = filename != nullptr ? filename : "?";
    // After FATAL libprotobuf aborts, so that one must be seen. Everything else it logs at run
    // time is about the input (one ERROR per invalid UTF-8 string), which the invalid-message
    // metric already counts: keep it out of the default log.
    if (level == google::protobuf::LOGLEVEL_FATAL)
        spdlog::critical("libprotobuf: {} ({}:{})", message, file, line);
    else
        spdlog::debug("libprotobuf: {} ({}:{})", message, file, line);
}

} // namespace

void install_protobuf_log_handler() {
    // SetLogHandler writes a plain global; call_once makes concurrent or repeated calls safe.
    static std::once_flag installed;
    std::call_once(installed, [] { google::protobuf::SetLogHandler(&forward_protobuf_log); });
}

} // namespace zrelay
