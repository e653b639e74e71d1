#include "frame_guard.hpp"

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
    std::unordered_map<int, zmtp_meter> meters;
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
    g.meters.insert_or_assign(fd, zmtp_meter(g.limits));
}

// False once the connection on `fd` has passed the limits; true for a connection not metered.
bool meter_read(int fd, const void *data, std::size_t size) {
    guard_state &g = state();
    const std::lock_guard lock(g.meters_mutex);
    const auto meter = g.meters.find(fd);
    return meter == g.meters.end() ||
           meter->second.feed(static_cast<const std::uint8_t *>(data), size);
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
    const ssize_t got = zrelay::system_recv(fd, buffer, length, flags);
    if (got <= 0 || (flags & MSG_PEEK) != 0 || !zrelay::guarding())
        return got;
    if (zrelay::meter_read(fd, buffer, static_cast<std::size_t>(got)))
        return got;
    zrelay::report_cut(fd);
    errno = ECONNRESET;
    return -1;
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
