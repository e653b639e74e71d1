// channel: a ypipe with its wake-up, the unit the relay's threads are wired with.
//
// The writer writes and flushes as it likes (once per batch is cheapest); when flush() finds the
// reader asleep it wakes it through the signaler. The reader reads until the pipe is empty, then
// either calls wait() (spin briefly, then sleep) or, when it must also watch zmq sockets, puts
// fd() into its zmq_poll set and calls rearm() when that fd turns readable.
//
// Why a bounded spin first: a hand-off that finds the reader awake costs the writer no syscall
// and the reader no sleep/wake cycle, which under a steady stream is most of them. The spin uses
// ypipe::has_data(), which does not mark the reader asleep, so the writer stays on its fast path
// while the reader spins. The spin is short and configurable because on a 2-core machine a
// spinning reader takes the core the writer needs.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "signaler.hpp"
#include "ypipe.hpp"

namespace zrelay {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

template <typename T, std::size_t N = 256, typename Alloc = std::allocator<T>>
class channel {
public:
    explicit channel(unsigned spin_iterations = 200) : _spin(spin_iterations) {}

    // Writer half.
    template <typename U>
    void write(U &&value, bool incomplete = false) {
        _pipe.write(std::forward<U>(value), incomplete);
    }
    std::optional<T> unwrite() { return _pipe.unwrite(); }
    // Returns true if the reader was asleep and had to be woken (a syscall): callers may count it.
    bool flush() noexcept {
        if (_pipe.flush())
            return false;
        _wakeup.send();
        return true;
    }

    // Reader half. read() returns nullopt when empty, and then the reader counts as asleep: the
    // next flush() will signal fd().
    std::optional<T> read() { return _pipe.read(); }

    // Waits until an object can be read or timeout passes (negative: forever). True if readable.
    bool wait(std::chrono::milliseconds timeout) {
        for (unsigned i = 0; i < _spin; ++i) {
            if (_pipe.has_data())
                return true;
            cpu_relax();
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!_pipe.check_read()) {
            auto left = std::chrono::milliseconds(-1);
            if (timeout.count() >= 0) {
                left = std::chrono::ceil<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() < 0)
                    return false;
            }
            _wakeup.wait(left);
        }
        return true;
    }

    // For zmq_poll: readable when the writer flushed after read() found the pipe empty.
    [[nodiscard]] int fd() const noexcept { return _wakeup.fd(); }
    // Call when zmq_poll reported fd() readable, before reading again.
    void rearm() noexcept { _wakeup.consume(); }

private:
    ypipe<T, N, Alloc> _pipe;
    signaler _wakeup;
    unsigned _spin;
};

} // namespace zrelay
