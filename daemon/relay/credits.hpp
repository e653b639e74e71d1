// credits: the cap on items in flight through a pipeline, and the source of its backpressure.
//
// The first stage takes a credit for every item it admits and the last stage gives it back when
// the item has left. While no credit is left the first stage stops admitting (the relay's
// receiver stops reading its PULL sockets, so zmq's own high-water marks push back on the
// producers). Every pipe in between then holds at most `capacity` items, so its memory is bounded
// by capacity / N + 3 chunks (the partly filled ends and the spare).
//
// One thread acquires; any number release. The count is a single atomic: acquire() is a load and
// a fetch_sub, release() a fetch_add, batched by callers. A release that lifts the count from zero
// signals fd(), which the acquirer sleeps on (alone via wait(), or inside zmq_poll) when it finds
// the count at zero. The acquirer is the only thread that lowers the count, so "it saw zero, then
// slept" and "a release lifted it from zero, then signalled" cannot miss each other.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "signaler.hpp"

namespace zrelay {

class credits {
public:
    explicit credits(std::int64_t capacity) : _capacity(capacity), _available(capacity) {}

    // Acquirer: takes up to `want` credits without waiting; returns how many it took.
    std::int64_t acquire(std::int64_t want) noexcept {
        // Acquire: pairs with release()'s release, so the last stage's work on an item happens
        // before the first stage reuses the memory that credit stood for.
        const std::int64_t have = _available.load(std::memory_order_acquire);
        const std::int64_t take = std::min(have, want);
        if (take > 0)
            _available.fetch_sub(take, std::memory_order_relaxed);
        return take;
    }

    // Acquirer: waits until a credit is available or timeout passes (negative: forever).
    bool wait(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (_available.load(std::memory_order_acquire) <= 0) {
            auto left = std::chrono::milliseconds(-1);
            if (timeout.count() >= 0) {
                left = std::chrono::ceil<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0)
                    return false;
            }
            _wakeup.wait(left);
        }
        return true;
    }

    // Any thread: returns n credits.
    void release(std::int64_t n) noexcept {
        if (n > 0 && _available.fetch_add(n, std::memory_order_release) <= 0)
            _wakeup.send();
    }

    // Readable after a release lifted the count from zero; the acquirer calls rearm() then.
    [[nodiscard]] int fd() const noexcept { return _wakeup.fd(); }
    void rearm() noexcept { _wakeup.consume(); }

    [[nodiscard]] std::int64_t capacity() const noexcept { return _capacity; }
    [[nodiscard]] std::int64_t in_flight() const noexcept {
        return _capacity - _available.load(std::memory_order_relaxed);
    }

private:
    const std::int64_t _capacity;
    std::atomic<std::int64_t> _available;
    signaler _wakeup;
};

} // namespace zrelay
