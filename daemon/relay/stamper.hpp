// stamper: the relay's stamp on what it publishes: the message's sequence on its topic (from
// topics.hpp), the receive time, and this relay instance's id, appended to the producer's bytes
// after the stamp of the relay it came from, if any, as one more hop (see write_stamp() in
// envelope.hpp for why appending is enough). Immutable after construction.
#pragma once

#include <cstdint>

#include <zmq.hpp>

#include "envelope.hpp"

namespace zrelay {

class stamper {
public:
    // `instance`: this relay's id, random at start (0 picks one).
    explicit stamper(std::uint64_t instance = 0);

    // `body` with the stamp appended (after `upstream` as a hop when its instance is not 0), as
    // a new message (one allocation: the new frame).
    [[nodiscard]] zmq::message_t stamp(const zmq::message_t &body, std::uint64_t sequence,
                                       std::int64_t received_ns,
                                       const relay_stamp &upstream = {}) const;

    [[nodiscard]] std::uint64_t instance() const noexcept { return _instance; }

private:
    std::uint64_t _instance;
};

} // namespace zrelay
