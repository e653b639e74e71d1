// pipeline: what flows from stage to stage, and the timing constants the stages share.
//
// The relay's stages (ingress, validator, egress, dead letters; relay.hpp) are composed one of
// two ways, and a pipeline_item carries a message through either:
//
//   direct (workers: 0), one thread, no pipe: one item, handed on by plain calls
//     ingress.receive() -> validator.process() -> egress.publish() (or dead letters)
//
//   pipelined (workers: N), N + 2 threads, a pair of ypipe channels (`pipe`) per worker:
//     ingress -dispatcher-> in pipe i -> worker i (validator) -> out pipe i -collector-> egress
//
// The dispatcher deals items to the workers' pipes round-robin and the collector reads their
// output pipes in the same order, so messages leave in the order they arrived with no sequence
// numbers and no reorder buffer: every item dealt, valid or not, yields exactly one item on the
// matching output pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <zmq.hpp>

#include "channel.hpp"
#include "envelope.hpp"
#include "idle_poll.hpp" // the stages' wake-up interval

namespace zrelay {

struct pipeline_item {
    zmq::message_t body;          // the client's DataMessage, forwarded byte for byte
    zmq::message_t topic;         // filled in by the validating stage
    std::int64_t received_ns = 0; // when ingress took it (ns since the epoch), if stamping
    // The stamp of the relay it came from (instance 0: it came from a producer), kept as a hop.
    relay_stamp upstream;
    // Where ingress took it: 0 the PULL socket, i + 1 ingress.subscribe's link i.
    std::uint16_t link = 0;
    // A refused multi-frame message's frames after the first, carried only to a dead-letter
    // socket (nullptr otherwise: the common item allocates nothing for this).
    std::unique_ptr<std::vector<zmq::message_t>> rest;
    invalid_reason reason = invalid_reason::none;
    bool end = false; // pipelined only: the sender has stopped, nothing follows on this pipe
};

// 256 items a chunk: one chunk is ~35 KB, and a steady stream recycles the spare chunk.
using pipe = channel<pipeline_item, 256>;

// Items a pipelined stage handles before it flushes its output pipe (and the collector returns
// credits): one CAS per batch instead of per item, and a sleeping reader is woken at most once
// per batch.
inline constexpr std::size_t batch_size = 64;

// While draining, ingress stops reading once its PULL socket stayed empty this long.
inline constexpr std::chrono::milliseconds drain_quiet{100};

} // namespace zrelay
