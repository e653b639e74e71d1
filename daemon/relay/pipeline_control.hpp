// pipeline_control: the relay's shutdown state, written by main and read by every stage.
//
// Two ways to stop: a drain (stop taking input, publish everything taken, linger for slow
// subscribers until a deadline) and an abort (stop now; what is in flight is lost and counted).
// Each has a signaler whose fd stays readable once sent (nobody consumes it), so a thread can
// keep it in its zmq_poll set.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>

#include "signaler.hpp"

namespace zrelay {

class pipeline_control {
public:
    // Stop taking input, finish what was taken. `deadline` bounds how long egress may
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
    // Time left for ingress to read during a drain: the first half of the drain time.
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
