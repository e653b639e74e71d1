#include "zrelay_bench_message.hpp"

#include <cstring>
#include <stdexcept>

#include "zrelay/v1/data_message.pb.h"

namespace zrelay::tool {

bench_message::bench_message(const std::string &topic, std::size_t payload_size) {
    std::string payload(payload_size, '\0');
    for (std::size_t i = bench_stamp_bytes; i < payload_size; ++i)
        payload[i] = static_cast<char>('a' + i % 26);
    zrelay::v1::DataMessage message;
    message.set_topic(topic);
    message.set_payload(payload);
    _wire = message.SerializeAsString();
    // The payload is the last field set (protobuf writes fields in number order, and none after
    // field 4 is set), so it ends the message.
    if (_wire.size() < payload_size ||
        _wire.compare(_wire.size() - payload_size, payload_size, payload) != 0)
        throw std::logic_error("bench_message: the payload does not end the serialized message");
    _stamp_at = _wire.size() - payload_size;
}

void bench_message::stamp(void *copy, const bench_stamp &stamp) const noexcept {
    std::memcpy(static_cast<char *>(copy) + _stamp_at, &stamp, sizeof(stamp));
}

std::optional<bench_stamp> bench_message::read(const void *body, std::size_t size) const noexcept {
    // The same topic field and payload length as ours, so the stamp is where ours is.
    if (size < _wire.size() || std::memcmp(body, _wire.data(), _stamp_at) != 0)
        return std::nullopt;
    bench_stamp stamp;
    std::memcpy(&stamp, static_cast<const char *>(body) + _stamp_at, sizeof(stamp));
    return stamp;
}

} // namespace zrelay::tool
