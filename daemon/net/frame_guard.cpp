#include "frame_guard.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "log_event.hpp"

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
int system_listen(int fd, int backlog) {
    return static_cast<int>(::syscall(SYS_listen, fd, backlog));
}

// One connection libzmq reads: its framing, whether its listener takes ZMTP 3 only, and the
// bytes its meter held back (read from the kernel, not yet given to libzmq: they go first in the
// next recv() on that fd).
struct connection {
    zmtp_meter meter;
    bool zmtp3_only = false;
    std::array<std::uint8_t, zmtp_meter::max_held> held{};
    std::size_t held_bytes = 0;
};

// Set by zmtp3_only_listeners on the thread that binds.
bool &binding_zmtp3_only() {
    thread_local bool flag = false;
    return flag;
}

// The guard's state, one per process, built on first use (not a global: the interposed
// functions may run before any global constructor of this file).
struct guard_state {
    std::atomic<bool> enabled{false};
    std::atomic<std::uint64_t> cuts{0};
    std::atomic<std::int64_t> last_logged_ms{0};
    frame_limits limits;     // written before `enabled` is published
    std::mutex meters_mutex; // guards meters and zmtp3_listeners
    // By fd. An entry outlives its connection (close() is not hooked: every close in the
    // process would pass through it) and is replaced when libzmq accepts or connects on that fd
    // number again, which is the only way its I/O thread gets an fd to recv() on: at most one
    // small entry per fd number.
    std::unordered_map<int, connection> meters;
    // Listening fds that take ZMTP 3 only. A number is dropped when listen() is called on it
    // again unmarked, the only way it can become another listener.
    std::unordered_set<int> zmtp3_listeners;
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

// `listener`: the listening fd that accepted `fd`, or -1 (a connection libzmq made).
void start_meter(int fd, int listener) {
    guard_state &g = state();
    const std::lock_guard lock(g.meters_mutex);
    g.meters.insert_or_assign(
        fd, connection{zmtp_meter(g.limits), g.zmtp3_listeners.contains(listener)});
}

void note_listener(int fd) {
    guard_state &g = state();
    const std::lock_guard lock(g.meters_mutex);
    if (binding_zmtp3_only())
        g.zmtp3_listeners.insert(fd);
    else
        g.zmtp3_listeners.erase(fd);
}

// True if the peer went away right after the first 11 bytes of a ZMTP 3 greeting (signature
// and version), before naming its mechanism: what a libzmq client of another mechanism does when
// the relay's whole greeting reaches it at once (it reads "CURVE", fails, and closes with its own
// mechanism still unsent), where libzmq would report only a closed connection.
bool left_at_the_mechanism(const zmtp_meter &meter) {
    constexpr std::uint64_t signature_and_version = 11;
    return meter.framing() == zmtp_framing::v3 && meter.stream_bytes() == signature_and_version;
}

void report_cut(int fd);

ssize_t cut(std::unique_lock<std::mutex> &lock, int fd) {
    lock.unlock();
    report_cut(fd);
    errno = ECONNRESET;
    return -1;
}

// recv() on a guarded thread: what the meter held back first, then what the kernel has, all
// through the meter; what it holds back now waits for the next call. Under the lock throughout
// (the recv is non-blocking, and only the fd's own I/O thread reads it).
ssize_t metered_recv(int fd, void *buffer, std::size_t length, int flags) {
    guard_state &g = state();
    std::unique_lock lock(g.meters_mutex);
    const auto found = g.meters.find(fd);
    if (found == g.meters.end()) {
        lock.unlock();
        return system_recv(fd, buffer, length, flags);
    }
    connection &c = found->second;
    auto *const bytes = static_cast<std::uint8_t *>(buffer);
    const std::size_t held = std::min(c.held_bytes, length);
    std::copy_n(c.held.begin(), held, bytes);
    if (held < c.held_bytes) {
        // libzmq asked for less than was held (it never does at a frame's start): hand over
        // what fits, metered but not held again, and keep the rest in order.
        std::copy(c.held.begin() + static_cast<std::ptrdiff_t>(held),
                  c.held.begin() + static_cast<std::ptrdiff_t>(c.held_bytes), c.held.begin());
        c.held_bytes -= held;
        return c.meter.feed(bytes, held) ? static_cast<ssize_t>(held) : cut(lock, fd);
    }
    c.held_bytes = 0;
    const ssize_t got = system_recv(fd, bytes + held, length - held, flags);
    if (got == 0 || (got < 0 && (held == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)))) {
        // Closed or failed (what was held goes with it), or simply nothing to read.
        const int error = errno;
        if ((got == 0 || error == ECONNRESET) && left_at_the_mechanism(c.meter)) {
            // Reported as ENOPROTOOPT rather than end-of-file (frame_guard.hpp).
            errno = ENOPROTOOPT;
            return -1;
        }
        errno = error;
        return got;
    }
    const std::size_t total = held + (got > 0 ? static_cast<std::size_t>(got) : 0);
    const filtered result = c.meter.filter(bytes, total);
    const zmtp_framing framing = c.meter.framing();
    if (c.zmtp3_only && framing != zmtp_framing::unknown && framing != zmtp_framing::v3) {
        // libzmq would refuse it silently; this way it reports EPROTO (frame_guard.hpp).
        errno = EPROTO;
        return -1;
    }
    if (!result.within)
        return cut(lock, fd);
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
        spdlog::warn("{}", log_event("dropped a connection whose message passed the frame or "
                                     "byte limit before its last frame")
                               .add("fd", fd)
                               .add("max_frames", g.limits.max_message_frames)
                               .add("max_bytes", g.limits.max_message_bytes)
                               .add("total", total)
                               .str());
}

} // namespace

zmtp3_only_listeners::zmtp3_only_listeners(bool zmtp3_only) noexcept
    : _previous(binding_zmtp3_only()) {
    binding_zmtp3_only() = zmtp3_only;
}

zmtp3_only_listeners::~zmtp3_only_listeners() {
    binding_zmtp3_only() = _previous;
}

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
        zrelay::start_meter(accepted, fd);
    return accepted;
}

int accept(int fd, sockaddr *address, socklen_t *length) {
    const int accepted = zrelay::system_accept4(fd, address, length, 0);
    if (accepted >= 0 && zrelay::guarding())
        zrelay::start_meter(accepted, fd);
    return accepted;
}

int connect(int fd, const sockaddr *address, socklen_t length) {
    // Whether it succeeds at once or goes on in the background, this fd is a new connection.
    if (zrelay::guarding())
        zrelay::start_meter(fd, -1);
    return zrelay::system_connect(fd, address, length);
}

int listen(int fd, int backlog) {
    const int rc = zrelay::system_listen(fd, backlog);
    if (rc == 0)
        zrelay::note_listener(fd);
    return rc;
}
// NOLINTEND(readability-inconsistent-declaration-parameter-name)

} // extern "C"
