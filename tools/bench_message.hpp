// bench_message.hpp: the stamped DataMessage the benchmarks send, and how they find the stamp
// again on the far side. Shared by bench_driver (zmq), nats_bench_driver and `zrelay bench`, so
// every system and the client tool carry the same bytes.
//
// A message is a valid zrelay.v1.DataMessage: a topic (field 3; the drivers' is "bench"), and a
// payload (field 4) starting with a 24-byte stamp, in host byte order (sender and receiver are
// one process) [u32 run][u16 producer][u16 kind][u64 sequence][u64 steady-clock send time, ns],
// then filler up to the size. The receiver finds field 4 by walking the protobuf wire format, so it
// accepts the bare forwarders' one frame [DataMessage], zrelayd's second frame, and fields a relay
// appends after the client's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

inline std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
            .count());
}

enum class kind : std::uint16_t { warmup = 1, measured = 2, probe = 3 };

struct stamp {
    std::uint32_t run; // tells one run's messages from another's on the same topic (drivers: 0)
    std::uint16_t producer;
    kind what;
    std::uint64_t sequence;
    std::uint64_t sent_ns;
};
static_assert(sizeof(stamp) == 24);

inline std::size_t put_varint(unsigned char *out, std::uint64_t v) {
    std::size_t n = 0;
    while (v >= 0x80) {
        out[n++] = static_cast<unsigned char>(v | 0x80);
        v >>= 7;
    }
    out[n++] = static_cast<unsigned char>(v);
    return n;
}

inline std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// A DataMessage with `topic` and a payload of `payload` bytes (at least a stamp's): the stamp's
// room, then filler. Fields in number order, as protobuf writes them, so the payload ends it.
// Returns the message and the stamp's offset in it.
inline std::pair<std::vector<unsigned char>, std::size_t> make_message(std::string_view topic,
                                                                       std::size_t payload) {
    if (payload < sizeof(stamp))
        throw std::invalid_argument("a stamped payload needs at least 24 bytes");
    // Two tags, and two lengths of at most 10 varint bytes each.
    std::vector<unsigned char> out(topic.size() + payload + 22, 0);
    std::size_t at = 0;
    if (!topic.empty()) {
        out[at++] = (3 << 3) | 2;
        at += put_varint(&out[at], topic.size());
        std::memcpy(&out[at], topic.data(), topic.size());
        at += topic.size();
    }
    out[at++] = (4 << 3) | 2;
    at += put_varint(&out[at], payload);
    const std::size_t stamp_at = at;
    out.resize(stamp_at + payload);
    for (std::size_t i = stamp_at + sizeof(stamp); i < out.size(); ++i)
        out[i] = static_cast<unsigned char>('a' + i % 26);
    return {std::move(out), stamp_at};
}

// A DataMessage on topic "bench" of exactly `size` bytes; returns it and the stamp's offset.
inline std::pair<std::vector<unsigned char>, std::size_t> make_template(std::size_t size) {
    static constexpr std::string_view topic = "bench";
    const std::size_t topic_field = 1 + 1 + topic.size();
    std::size_t payload = sizeof(stamp);
    // Grow the payload until tag + length + payload fills the size exactly.
    while (topic_field + 1 + varint_size(payload) + payload < size)
        ++payload;
    if (topic_field + 1 + varint_size(payload) + payload != size)
        throw std::runtime_error("--size too small for a stamped DataMessage (min 33 bytes)");
    return make_message(topic, payload);
}

inline bool get_varint(const unsigned char *&p, const unsigned char *end, std::uint64_t &v) {
    v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
        const unsigned char b = *p++;
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

// The stamp at the start of field 4, if the bytes are a DataMessage carrying one.
inline std::optional<stamp> find_stamp(const void *data, std::size_t size) {
    const auto *p = static_cast<const unsigned char *>(data);
    const auto *end = p + size;
    while (p < end) {
        std::uint64_t tag = 0;
        if (!get_varint(p, end, tag))
            return std::nullopt;
        std::uint64_t len = 0;
        switch (tag & 7) {
        case 0:
            if (!get_varint(p, end, len))
                return std::nullopt;
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        case 2:
            if (!get_varint(p, end, len) || len > static_cast<std::uint64_t>(end - p))
                return std::nullopt;
            if ((tag >> 3) == 4 && len >= sizeof(stamp)) {
                stamp s{};
                std::memcpy(&s, p, sizeof(s));
                return s;
            }
            p += len;
            break;
        default:
            return std::nullopt;
        }
    }
    return std::nullopt;
}

} // namespace bench
