// zmtp_meter: follows the frames of one ZMTP byte stream, as a peer sends them, and says when
// the message being sent grows past a limit.
//
// Why: libzmq queues the frames of a multi-part message until its last frame arrives, and
// counts only whole messages against the high-water mark; ZMQ_MAXMSGSIZE bounds one frame. So a
// peer sending MORE-flagged frames forever grows the receiver's memory without bound (and tiny
// frames cost ~64 bytes of queue each, a 20x amplification). libzmq has no option against it;
// the meter sees the bytes libzmq reads (frame_guard.hpp) and tells it to drop the connection.
//
// It knows the framings libzmq 4.3 accepts: ZMTP 3.x (64-byte greeting, then flags, a 1- or
// 8-byte size and the body; commands are single frames), ZMTP 2.0 (12-byte greeting, same
// frames) and ZMTP 1.0 with or without its signature (a size covering a flags byte and the
// body), choosing between them from the greeting as libzmq does. Under CURVE, libzmq boxes each
// frame in a MESSAGE command whose MORE flag is encrypted, so every frame looks whole here:
// there the allow-list is the defence, and the meter bounds only each boxed frame.
//
// It also repairs one header: libzmq up to 4.3.4 writes a SUBSCRIBE or CANCEL command of 256
// to 265 bytes (a prefix of 246-255 bytes plus the command's name) with an 8-byte size but
// without the long flag (libzmq issue #4367, fixed in 4.3.5), so a 4.3.4 receiver reads a
// 0-byte command and then the size and name as frames: the subscriber gets nothing, and the
// receiver sees stray subscriptions. filter() sets the missing flag before libzmq reads the
// byte, holding a command's first bytes back until there are enough to tell.
//
// One stream, one thread; no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace zrelay {

// The framing a stream's greeting chose, as libzmq reads it.
enum class zmtp_framing : std::uint8_t { unknown, v1, v2, v3 };

struct frame_limits {
    std::uint64_t max_message_bytes = 0; // the frames of one message, their bodies summed
    std::uint32_t max_message_frames = 0;
};

// What filter() made of a batch.
struct filtered {
    bool within = true;    // false: a limit was passed, drop the connection
    std::size_t taken = 0; // bytes the reader may have now; the rest are held back
};

class zmtp_meter {
public:
    // The most filter() holds back: a command's flags, its 8-byte size and a 10-byte name.
    static constexpr std::size_t max_held = 19;

    explicit zmtp_meter(frame_limits limits) noexcept : _limits(limits) {}

    // The next `size` bytes of the stream. False once the message in progress has more frames
    // or bytes than the limits allow (and from then on): the connection should be dropped.
    bool feed(const std::uint8_t *data, std::size_t size) noexcept;

    // As feed(), repairing a mis-encoded subscription header in place (see above). Bytes from
    // `taken` on were not read: the caller presents them again, ahead of whatever arrives next.
    // Only a command's first bytes are held, and the rest of a command is always on its way.
    filtered filter(std::uint8_t *data, std::size_t size) noexcept;

    [[nodiscard]] bool exceeded() const noexcept { return _stage == stage::exceeded; }
    // Known from the greeting's first byte (not 0xFF: ZMTP 1.0), its tenth (bit 0 clear: ZMTP
    // 1.0) or its eleventh (the revision), as libzmq decides.
    [[nodiscard]] zmtp_framing framing() const noexcept { return _framing; }
    // Bytes taken so far (not those held back).
    [[nodiscard]] std::uint64_t stream_bytes() const noexcept { return _stream_bytes; }

private:
    enum class stage : std::uint8_t {
        greeting, // the first bytes, until the framing is known
        flags,    // ZMTP 2/3: a frame's flags byte
        size,     // ZMTP 2/3: its size, 1 or 8 bytes big-endian
        v1_size,  // ZMTP 1.0: a frame's size byte (0xFF: 8 bytes follow)
        v1_size_long,
        v1_flags,
        body, // _remaining bytes to pass over (a frame's body, or the greeting's rest)
        exceeded,
    };

    // feed() and filter() in one: `writable` is `data`, or null to meter only.
    filtered walk(const std::uint8_t *data, std::uint8_t *writable, std::size_t size) noexcept;
    // walk() but for counting the stream's bytes.
    filtered walk_frames(const std::uint8_t *data, std::uint8_t *writable,
                         std::size_t size) noexcept;
    // A frame header is complete: counts it; false if a limit is passed.
    bool frame(std::uint64_t body_bytes, bool more) noexcept;
    // The greeting's first bytes are in _greeting: picks the framing.
    void choose_framing() noexcept;
    void start_v1() noexcept;

    frame_limits _limits;
    stage _stage = stage::greeting;
    stage _after_body = stage::flags; // where body leads
    zmtp_framing _framing = zmtp_framing::unknown;
    std::uint64_t _stream_bytes = 0;
    std::array<std::uint8_t, 11> _greeting{};
    std::size_t _greeting_bytes = 0;
    std::uint64_t _remaining = 0; // bytes left to skip (greeting or body)
    std::uint64_t _size = 0;      // a size being read
    unsigned _size_bytes_left = 0;
    bool _more = false;
    std::uint64_t _message_bytes = 0;
    std::uint32_t _message_frames = 0;
};

} // namespace zrelay
