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
//
// It also makes one of libzmq's silent refusals visible. A CURVE socket refuses a peer whose
// greeting is not ZMTP 3 (junk, or ZMTP 1.0/2.0) without a monitor event, so nobody could count
// it. The guard sees that greeting first: on a connection accepted by a listener that takes
// ZMTP 3 only, recv() reports EPROTO instead, and libzmq closes the connection as it would have,
// but reports ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL with EPROTO (handshake_watch.hpp). A listener
// is marked when it is made: libzmq's bind() calls listen() on the binding thread, which
// zrelayd also defines, so a listener is marked before it can accept anyone. Likewise a ZMTP 3
// peer that closes right after the version byte, before naming its mechanism, is reported with
// ENOPROTOOPT rather than as a plain close: that is a libzmq client of another mechanism (NULL
// or PLAIN against CURVE, or the reverse) that read the relay's whole greeting at once.
#pragma once

#include <cstdint>

#include "zmtp_meter.hpp"

namespace zrelay {

// While one lives on a thread with `zmtp3_only` true, the listening sockets that thread makes
// (bind) take ZMTP 3 peers only, as above; others are left as libzmq makes them.
class zmtp3_only_listeners {
public:
    explicit zmtp3_only_listeners(bool zmtp3_only) noexcept;
    ~zmtp3_only_listeners();
    zmtp3_only_listeners(const zmtp3_only_listeners &) = delete;
    zmtp3_only_listeners &operator=(const zmtp3_only_listeners &) = delete;
    zmtp3_only_listeners(zmtp3_only_listeners &&) = delete;
    zmtp3_only_listeners &operator=(zmtp3_only_listeners &&) = delete;

private:
    bool _previous;
};

// Starts metering connections made from now on. Main's thread, before the relay binds.
void enable_frame_guard(frame_limits limits);

// Connections dropped for exceeding the limits, since start.
[[nodiscard]] std::uint64_t frame_guard_cuts() noexcept;

} // namespace zrelay
