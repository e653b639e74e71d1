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

stamper::stamper(std::size_t max_topics, std::uint64_t instance)
    : _max_topics(max_topics), _instance(instance != 0 ? instance : random_instance()) {}

std::uint64_t stamper::next_sequence(std::string_view topic) {
    if (const auto found = _sequences.find(topic); found != _sequences.end())
        return ++found->second;
    if (_sequences.size() >= _max_topics)
        return 0;
    _sequences.emplace(std::string(topic), 1);
    return 1;
}

zmq::message_t stamper::stamp(std::string_view topic, const zmq::message_t &body,
                              std::int64_t received_ns) {
    std::array<char, max_stamp_bytes> suffix{};
    const std::size_t n = write_stamp({next_sequence(topic), received_ns, _instance}, suffix);
    zmq::message_t stamped(body.size() + n);
    auto *out = static_cast<char *>(stamped.data());
    if (!body.empty())
        std::memcpy(out, body.data(), body.size());
    std::memcpy(out + body.size(), suffix.data(), n);
    return stamped;
}

} // namespace zrelay
