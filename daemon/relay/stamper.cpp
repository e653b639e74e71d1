#include "stamper.hpp"

#include <array>
#include <cstring>
#include <random>

#include "envelope.hpp"

namespace zrelay {

namespace {

std::uint64_t random_instance() {
    std::random_device random;
    std::uint64_t id = 0;
    while (id == 0) // 0 is "no stamp" to a reader
        id = (std::uint64_t{random()} << 32U) | random();
    return id;
}

} // namespace

stamper::stamper(std::uint64_t instance)
    : _instance(instance != 0 ? instance : random_instance()) {}

zmq::message_t stamper::stamp(const zmq::message_t &body, std::uint64_t sequence,
                              std::int64_t received_ns, const relay_stamp &upstream) const {
    std::array<char, max_stamp_bytes> suffix{};
    const std::size_t n = write_stamp({sequence, received_ns, _instance}, upstream, suffix);
    zmq::message_t stamped(body.size() + n);
    auto *out = static_cast<char *>(stamped.data());
    if (!body.empty())
        std::memcpy(out, body.data(), body.size());
    std::memcpy(out + body.size(), suffix.data(), n);
    return stamped;
}

} // namespace zrelay
