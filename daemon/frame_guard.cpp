#include "frame_guard.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace zrelay {
namespace {

// The real calls, made as the system calls themselves: nothing else between libzmq and the
// kernel (a sanitizer's interceptors then see libzmq's reads as they did without the guard).
ssize_t system_recv(int fd, void *buffer, size_t length, int flags) {
    return ::syscall(SYS_recvfrom, fd, buffer, length, flags, nullptr, nullptr);
}
int system_accept4(int fd, sockaddr *address, socklen_t *length, int flags) {
    return static_cast<int>(::syscall(SYS_accept4, fd, address, length, flags));
}
int system_connect(int fd, const sockaddr *address, socklen_t length) {
    return static_cast<int>(::syscall(SYS_connect, fd, address, length));
}

// A connection's meter, and the bytes it held back (read from the kernel, not yet given to
// libzmq: they go first in the next recv() on that fd).
struct metered_connection {
    explicit metered_connection(frame_limits limits) noexcept : meter(limits) {}
    zmtp_meter meter;
    std::array<std::uint8_t, zmtp_meter::max_held> held{};
    std::size_t held_bytes = 0;
};

// The guard's state, one per process, built on first use (not a global: the interposed
// functions may run before any global constructor of this file).
struct guard_state {
    std::atomic<bool> enabled{false};
    std::atomic<std::uint64_t> cuts{0};
    std::atomic<std::int64_t> last_logged_ms{0};
    frame_limits limits;     // written before `enabled` is published
    std::mutex meters_mutex; // guards meters
    // By fd. An entry outlives its connection (close() is not hooked: every close in the
    // process would pass through it) and is replaced when libzmq accepts or connects on that fd
    // number again, which is the only way its I/O thread gets an fd to recv() on: at most one
    // small entry per fd number.
    std::unordered_map<int, metered_connection> meters;
};

guard_state &state() {
    static guard_state instance;
    return instance;
}

// libzmq names its I/O threads "ZMQbg/IO/<n>"; asked once per thread.
bool on_zmq_io_thread() {
    thread_local const bool io = [] {
        char name[16] = {};
        return pthread_getname_np(pthread_self(), name, sizeof name) == 0 &&
               std::strncmp(name, "ZMQbg/IO/", 9) == 0;
    }();
    return io;
}

bool guarding() {
    return state().enabled.load(std::memory_order_acquire) && on_zmq_io_thread();
}

void start_meter(int fd) {
    guard_state &g = state();
    const std::lock_guard lock(g.meters_mutex);
    g.meters.insert_or_assign(fd, metered_connection(g.limits));
}

void report_cut(int fd);

// recv() on a metered connection: what was held back first, then what the kernel has, all
// through the meter; the bytes it holds back wait for the next call. Under the lock throughout
// (the recv is non-blocking, and only the fd's own I/O thread reads it).
ssize_t metered_recv(int fd, void *buffer, std::size_t length, int flags) {
    guard_state &g = state();
    std::unique_lock lock(g.meters_mutex);
    const auto found = g.meters.find(fd);
    if (found == g.meters.end()) {
        lock.unlock();
        return system_recv(fd, buffer, length, flags);
    }
    metered_connection &c = found->second;
    auto *const bytes = static_cast<std::uint8_t *>(buffer);
    const std::size_t held = std::min(c.held_bytes, length);
    std::copy_n(c.held.begin(), held, bytes);
    std::size_t total = held;
    if (held < c.held_bytes) {
        // libzmq asked for less than was held (it never does at a frame's start): hand over
        // what fits, metered but not held again, and keep the rest in order.
        std::copy(c.held.begin() + static_cast<std::ptrdiff_t>(held),
                  c.held.begin() + static_cast<std::ptrdiff_t>(c.held_bytes), c.held.begin());
        c.held_bytes -= held;
        if (c.meter.feed(bytes, held))
            return static_cast<ssize_t>(held);
        lock.unlock();
        report_cut(fd);
        errno = ECONNRESET;
        return -1;
    }
    c.held_bytes = 0;
    const ssize_t got = system_recv(fd, bytes + held, length - held, flags);
    if (got <= 0 && held == 0)
        return got;
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return got; // the connection failed; what was held goes with it
    if (got == 0)
        return 0; // the peer closed mid-command: nothing whole was held
    total += got > 0 ? static_cast<std::size_t>(got) : 0;
    const filtered result = c.meter.filter(bytes, total);
    if (!result.within) {
        lock.unlock();
        report_cut(fd);
        errno = ECONNRESET;
        return -1;
    }
    c.held_bytes = total - result.taken;
    std::copy_n(bytes + result.taken, c.held_bytes, c.held.begin());
    if (result.taken == 0) {
        // All held, waiting for the rest of a command: nothing to read yet.
        errno = EAGAIN;
        return -1;
    }
    return static_cast<ssize_t>(result.taken);
}

void report_cut(int fd) {
    guard_state &g = state();
    const std::uint64_t total = g.cuts.fetch_add(1, std::memory_order_relaxed) + 1;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    std::int64_t last = g.last_logged_ms.load(std::memory_order_relaxed);
    if (now - last >= 1000 && g.last_logged_ms.compare_exchange_strong(last, now))
        spdlog::warn("dropped a connection (fd {}) whose message passed {} frames or {} bytes "
                     "before its last frame; {} dropped so far",
                     fd, g.limits.max_message_frames, g.limits.max_message_bytes, total);
}

} // namespace

void enable_frame_guard(frame_limits limits) {
    state().limits = limits;
    state().enabled.store(true, std::memory_order_release);
}

std::uint64_t frame_guard_cuts() noexcept {
    return state().cuts.load(std::memory_order_relaxed);
}

} // namespace zrelay

// The interposed definitions (see frame_guard.hpp). Default visibility, C linkage: these are
// the names libzmq's calls bind to.
extern "C" {

// glibc's own declarations name the parameters __fd and so on.
// NOLINTBEGIN(readability-inconsistent-declaration-parameter-name)
ssize_t recv(int fd, void *buffer, size_t length, int flags) {
    if ((flags & MSG_PEEK) != 0 || !zrelay::guarding())
        return zrelay::system_recv(fd, buffer, length, flags);
    return zrelay::metered_recv(fd, buffer, length, flags);
}

int accept4(int fd, sockaddr *address, socklen_t *length, int flags) {
    const int accepted = zrelay::system_accept4(fd, address, length, flags);
    if (accepted >= 0 && zrelay::guarding())
        zrelay::start_meter(accepted);
    return accepted;
}

int accept(int fd, sockaddr *address, socklen_t *length) {
    const int accepted = zrelay::system_accept4(fd, address, length, 0);
    if (accepted >= 0 && zrelay::guarding())
        zrelay::start_meter(accepted);
    return accepted;
}

int connect(int fd, const sockaddr *address, socklen_t length) {
    // Whether it succeeds at once or goes on in the background, this fd is a new connection.
    if (zrelay::guarding())
        zrelay::start_meter(fd);
    return zrelay::system_connect(fd, address, length);
}
// NOLINTEND(readability-inconsistent-declaration-parameter-name)

} // extern "C"
