// frame_guard: bounds what a peer can make libzmq hold for one message (see zmtp_meter.hpp).
//
// libzmq reads every tcp:// and ipc:// connection with recv() on its I/O thread, after accept4()
// or connect(). zrelayd defines those three functions itself: the dynamic linker binds
// libzmq's calls to the executable's definitions before libc's (symbol interposition, as an
// LD_PRELOAD library would, but linked in), and each makes the system call itself. On a thread
// named "ZMQbg/IO/..." (libzmq's own; the metrics server's threads are left alone), accept4()
// and connect() start a zmtp_meter for the new connection's fd, and recv() passes what was read
// through it (the meter may repair a mis-encoded subscription header, holding a command's first
// bytes until the next read); once a peer exceeds the limits, recv() reports ECONNRESET and
// libzmq drops the connection, freeing the partial message. Until enable() is called,
// everything passes through.
//
// The cost is one relaxed load per call when disabled; when enabled, a mutex held while the
// meter walks the frame headers of each recv() batch (up to 8 KiB), on the I/O thread only.
#pragma once

#include <cstdint>

#include "zmtp_meter.hpp"

namespace zrelay {

// Starts metering connections made from now on. Main's thread, before the relay binds.
void enable_frame_guard(frame_limits limits);

// Connections dropped for exceeding the limits, since start.
[[nodiscard]] std::uint64_t frame_guard_cuts() noexcept;

} // namespace zrelay
