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
constexpr int sequence_field = data_message::kRelaySequenceFieldNumber;
constexpr int received_field = data_message::kRelayReceivedNsFieldNumber;
constexpr int instance_field = data_message::kRelayInstanceFieldNumber;
constexpr int hops_field = data_message::kRelayHopsFieldNumber;
constexpr int hop_instance_field = v1::RelayHop::kInstanceFieldNumber;
constexpr int hop_sequence_field = v1::RelayHop::kSequenceFieldNumber;
constexpr int hop_received_field = v1::RelayHop::kReceivedNsFieldNumber;
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
    hop,     // a relay_hops entry (RelayHop)
    group,   // the inside of an unknown group field: structure only
};

struct scan_state {
    std::uint64_t self = 0; // the instance to look for (0: none)
    bool utf8_ok = true;
    std::string_view topic;
    relay_stamp upstream;
    std::uint32_t hops = 0;
    bool crossed_self = false;
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

// Scans a length-delimited submessage (a headers entry, a hop) in a stream of its own.
bool scan_submessage(std::string_view bytes, scope where, int depth, scan_state &state) {
    const int size = static_cast<int>(bytes.size());
    pb::io::CodedInputStream in(
        static_cast<const std::uint8_t *>(static_cast<const void *>(bytes.data())), size);
    return scan(in, size, where, 0, depth, state);
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
            std::uint64_t value = 0;
            if (!in.ReadVarint64(&value))
                return false;
            if (where == scope::message && field == sequence_field)
                state.upstream.sequence = value; // the last one wins, as in protobuf
            else if (where == scope::message && field == received_field)
                state.upstream.received_ns = static_cast<std::int64_t>(value);
            break;
        }
        case fixed64: {
            std::uint64_t value = 0;
            if (!in.ReadLittleEndian64(&value))
                return false;
            const bool stamp = where == scope::message && field == instance_field;
            if (stamp)
                state.upstream.instance = value;
            if ((stamp || (where == scope::hop && field == hop_instance_field)) && value != 0 &&
                value == state.self)
                state.crossed_self = true;
            break;
        }
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
            } else if (where == scope::message && (field == headers_field || field == hops_field)) {
                const bool hop = field == hops_field;
                if (depth + 1 > max_depth ||
                    !scan_submessage(*bytes, hop ? scope::hop : scope::entry, depth + 1, state))
                    return false;
                if (hop)
                    ++state.hops;
            }
            break;
        }
        default:
            return false; // wire types 6 and 7 do not exist
        }
    }
}

decode_result refused(invalid_reason reason) noexcept {
    decode_result r;
    r.reason = reason;
    return r;
}

} // namespace

decode_result decode_envelope(const void *data, std::size_t size, std::uint64_t self) noexcept {
    // protobuf takes an int size; nothing that large is a message the relay would accept.
    if (size > static_cast<std::size_t>(INT_MAX))
        return refused(invalid_reason::malformed);
    if (size == 0)
        return {}; // proto3's well-formed all-defaults message
    if (data == nullptr)
        return refused(invalid_reason::malformed);
    const int length = static_cast<int>(size);
    pb::io::CodedInputStream in(static_cast<const std::uint8_t *>(data), length);
    // The limits, explicitly: no read past this frame (the receiver has already refused frames
    // over ingress.max_message_bytes), and nesting counted by scan() against max_depth, since
    // it walks groups and entries itself rather than through the stream's recursion budget.
    in.SetTotalBytesLimit(length);
    in.SetRecursionLimit(max_depth);
    scan_state state;
    state.self = self;
    if (!scan(in, length, scope::message, 0, 0, state))
        return refused(invalid_reason::malformed);
    if (!state.utf8_ok)
        return refused(invalid_reason::bad_utf8);
    const std::uint32_t crossed = state.hops + (state.upstream.instance != 0 ? 1U : 0U);
    return {invalid_reason::none, state.topic, state.upstream, crossed, state.crossed_self};
}

std::size_t write_stamp(const relay_stamp &own, const relay_stamp &upstream,
                        std::array<char, max_stamp_bytes> &out) noexcept {
    using out_stream = pb::io::CodedOutputStream;
    auto *at = reinterpret_cast<std::uint8_t *>(out.data()); // NOLINT: protobuf writes bytes
    std::uint8_t *const start = at;
    if (upstream.instance != 0) {
        // One RelayHop: its length first, so the fields are written after a one-byte gap.
        at = out_stream::WriteTagToArray(tag_of(hops_field, length_delimited), at);
        std::uint8_t *const length_at = at++;
        std::uint8_t *const hop_start = at;
        at = out_stream::WriteTagToArray(tag_of(hop_instance_field, fixed64), at);
        at = out_stream::WriteLittleEndian64ToArray(upstream.instance, at);
        at = out_stream::WriteTagToArray(tag_of(hop_sequence_field, varint), at);
        at = out_stream::WriteVarint64ToArray(upstream.sequence, at);
        at = out_stream::WriteTagToArray(tag_of(hop_received_field, varint), at);
        at = out_stream::WriteVarint64ToArray(static_cast<std::uint64_t>(upstream.received_ns), at);
        *length_at = static_cast<std::uint8_t>(at - hop_start); // at most 31: one byte
    }
    // uint64 relay_sequence, int64 relay_received_ns (a varint of its two's complement, as
    // protobuf writes an int64), fixed64 relay_instance.
    at = out_stream::WriteTagToArray(tag_of(sequence_field, varint), at);
    at = out_stream::WriteVarint64ToArray(own.sequence, at);
    at = out_stream::WriteTagToArray(tag_of(received_field, varint), at);
    at = out_stream::WriteVarint64ToArray(static_cast<std::uint64_t>(own.received_ns), at);
    at = out_stream::WriteTagToArray(tag_of(instance_field, fixed64), at);
    at = out_stream::WriteLittleEndian64ToArray(own.instance, at);
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
