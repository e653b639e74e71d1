// pipeline: what flows between the relay's threads, and the shared shutdown state.
//
//   receiver --pipe--> worker i --pipe--> publisher        (workers > 0, one pair of pipes each)
//   receiver --------------pipe---------> publisher        (workers == 0: receiver validates)
//
// The receiver deals items to the workers' pipes round-robin and the publisher reads the
// workers' output pipes in the same round-robin order, so messages leave in the order they
// arrived with no sequence numbers and no reorder buffer: every item the receiver dispatches,
// valid or not, yields exactly one item on the matching output pipe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <zmq.hpp>

#include "channel.hpp"
#include "envelope.hpp"
#include "signaler.hpp"

namespace zrelay {

struct pipeline_item {
    zmq::message_t body;          // the client's DataMessage, forwarded byte for byte
    zmq::message_t topic;         // filled in by the validating stage
    std::int64_t received_ns = 0; // when the receiver took it (ns since the epoch), if stamping
    // A refused multi-frame message's frames after the first, carried only to a dead-letter
    // socket (nullptr otherwise: the common item allocates nothing for this).
    std::unique_ptr<std::vector<zmq::message_t>> rest;
    invalid_reason reason = invalid_reason::none;
    bool end = false; // the sender has stopped: nothing follows on this pipe
};

// 256 items a chunk: one chunk is ~35 KB, and a steady stream recycles the spare chunk.
using pipe = channel<pipeline_item, 256>;

// Items a stage handles before it flushes its output (and the publisher returns credits): one
// CAS per batch instead of per item, and a sleeping reader is woken at most once per batch.
inline constexpr std::size_t batch_size = 64;

// How long a stage sleeps before it looks at the shutdown state again when nothing else wakes it.
inline constexpr std::chrono::milliseconds idle_poll{100};

// While draining, the receiver stops reading once its PULL socket stayed empty this long.
inline constexpr std::chrono::milliseconds drain_quiet{100};

// Shutdown state, written by main and read by every stage. Each signaler's fd stays readable
// once sent (nobody consumes it), so a thread can keep it in its zmq_poll set.
class pipeline_control {
public:
    // Stop taking input, finish what was taken. `deadline` bounds how long the publisher may
    // linger on its sockets for slow subscribers.
    void request_drain(std::chrono::steady_clock::time_point deadline) noexcept {
        const auto now = std::chrono::steady_clock::now();
        _deadline_ns.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
        _read_until_ns.store((now + (deadline - now) / 2).time_since_epoch().count(),
                             std::memory_order_relaxed);
        _draining.store(true, std::memory_order_release);
        _drain_signal.send();
    }
    // Stop now; what is in flight is lost (and counted by the caller).
    void abort() noexcept {
        _aborted.store(true, std::memory_order_release);
        _abort_signal.send();
    }

    [[nodiscard]] bool draining() const noexcept {
        return _draining.load(std::memory_order_acquire);
    }
    [[nodiscard]] bool aborted() const noexcept { return _aborted.load(std::memory_order_acquire); }
    [[nodiscard]] int drain_fd() const noexcept { return _drain_signal.fd(); }
    [[nodiscard]] int abort_fd() const noexcept { return _abort_signal.fd(); }

    // Time left before the drain deadline; zero if not draining or past it.
    [[nodiscard]] std::chrono::milliseconds drain_time_left() const noexcept {
        return time_left(_deadline_ns);
    }
    // Time left for the receiver to read during a drain: the first half of the drain time.
    [[nodiscard]] std::chrono::milliseconds reading_time_left() const noexcept {
        return time_left(_read_until_ns);
    }

private:
    [[nodiscard]] std::chrono::milliseconds
    time_left(const std::atomic<std::chrono::steady_clock::rep> &until_ns) const noexcept {
        if (!draining())
            return std::chrono::milliseconds(0);
        const auto until = std::chrono::steady_clock::time_point(
            std::chrono::steady_clock::duration(until_ns.load(std::memory_order_relaxed)));
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        return std::max(left, std::chrono::milliseconds(0));
    }

    std::atomic<bool> _draining{false};
    std::atomic<bool> _aborted{false};
    // Written before _draining's release store, read after its acquire load.
    std::atomic<std::chrono::steady_clock::rep> _deadline_ns{0};
    std::atomic<std::chrono::steady_clock::rep> _read_until_ns{0};
    signaler _drain_signal;
    signaler _abort_signal;
};

} // namespace zrelay
