// The message `zrelay bench` sends: a DataMessage with the bench's topic and a payload of --size
// bytes that starts with a stamp (bench_stamp). It is serialized once, with protobuf; each message
// sent is a copy with its stamp written in place, and the subscribers read the stamp back at the
// same offset of what the relay publishes (the producer's bytes unchanged, then the relay's own
// stamp), so no message is built or parsed by protobuf on the measured path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zrelay::tool {

enum class bench_kind : std::uint16_t { warmup = 1, measured = 2 };

// At the start of the payload, in host byte order (the publishers and subscribers are threads of
// one process). The send time is steady_clock's: unlike DataMessage.timestamp's wall clock it
// cannot step under NTP during a run, and carrying it in the payload adds no field to the wire.
struct bench_stamp {
    std::uint32_t run = 0; // random per run: another run's messages on the topic are not ours
    std::uint16_t publisher = 0;
    bench_kind kind = bench_kind::warmup;
    std::uint64_t sequence = 0; // per publisher and kind, from 0
    std::int64_t sent_ns = 0;   // steady_clock, ns
};
static_assert(sizeof(bench_stamp) == 24);
inline constexpr std::size_t bench_stamp_bytes = sizeof(bench_stamp);

class bench_message {
public:
    // `payload_size` must be at least bench_stamp_bytes (the caller checks, with a usage error).
    bench_message(const std::string &topic, std::size_t payload_size);

    // The serialized DataMessage with a zero stamp: copy it, then stamp() the copy.
    [[nodiscard]] std::string_view bytes() const noexcept { return _wire; }
    // Writes `stamp` into a copy of bytes().
    void stamp(void *copy, const bench_stamp &stamp) const noexcept;
    // The stamp of a published DataMessage built from this template (any relay stamp after it),
    // or nothing if `body` is not one.
    [[nodiscard]] std::optional<bench_stamp> read(const void *body,
                                                  std::size_t size) const noexcept;

private:
    std::string _wire;
    std::size_t _stamp_at = 0; // where the payload, so the stamp, starts in _wire
};

} // namespace zrelay::tool
