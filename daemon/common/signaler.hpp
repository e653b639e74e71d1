// signaler: a wake-up that a thread can sleep on, alone or inside zmq_poll.
//
// Built on an eventfd, like libzmq's own signaler_t, rather than on a futex
// (std::atomic::wait): the relay's publisher must sleep on "a pipe has data" and on its XPUB
// socket at once, and only a file descriptor can sit in the same zmq_poll set as a zmq socket.
// The cost is the same where it matters: one syscall to wake a sleeping reader, none while the
// reader is awake.
//
// The eventfd is a counter: any number of send()s before a wait() collapse into one wake-up, and
// a send() before the wait() is never lost. A wake-up may be spurious (a stale send() from a
// round in which the reader did not sleep after all); callers re-check their condition.
#pragma once

#include <chrono>

namespace zrelay {

class signaler {
public:
    signaler();
    ~signaler();
    signaler(const signaler &) = delete;
    signaler &operator=(const signaler &) = delete;
    signaler(signaler &&) = delete;
    signaler &operator=(signaler &&) = delete;

    // Any thread: wakes the sleeper (or the next one to sleep).
    void send() noexcept;

    // Sleeper: waits up to timeout for a send() and consumes it. True if one came. A negative
    // timeout waits forever.
    bool wait(std::chrono::milliseconds timeout);

    // Sleeper: consumes a pending send() without waiting; true if there was one. For use after
    // zmq_poll reported fd() readable.
    bool consume() noexcept;

    // Readable while a send() is pending; never written to by the caller.
    [[nodiscard]] int fd() const noexcept { return _fd; }

private:
    int _fd;
};

} // namespace zrelay
