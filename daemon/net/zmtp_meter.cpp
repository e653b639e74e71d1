#include "zmtp_meter.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace zrelay {
namespace {

constexpr std::uint8_t more_flag = 0x01;
constexpr std::uint8_t long_flag = 0x02;
constexpr std::uint8_t command_flag = 0x04;
constexpr std::size_t signature_bytes = 10;
constexpr std::size_t v2_greeting_bytes = 12;
constexpr std::size_t v3_greeting_bytes = 64;
constexpr std::uint8_t zmtp_1_0 = 0;
constexpr std::uint8_t zmtp_2_0 = 1;

enum class header { sound, miscoded, undecided };

// Whether the command starting at `p` (flags 0x04: short, no more) is libzmq 4.3.4's
// mis-encoded SUBSCRIBE or CANCEL: an 8-byte size of 256 + L where the flag says one byte, then
// the name, then a prefix of 246-255 bytes (SUBSCRIBE, L 0-9) or 249-255 bytes (CANCEL, L 0-6).
// A sound stream never has a 0-byte command, so this never matches one.
header classify(const std::uint8_t *p, std::size_t n) noexcept {
    constexpr std::array<std::uint8_t, 7> size_head{0, 0, 0, 0, 0, 0, 1}; // then L
    constexpr std::string_view subscribe = "\x09SUBSCRIBE";
    constexpr std::string_view cancel = "\x06"
                                        "CANCEL"; // split: C is a hex digit
    std::size_t i = 1;
    for (; i < 8; ++i) {
        if (i == n)
            return header::undecided;
        if (p[i] != size_head.at(i - 1))
            return header::sound;
    }
    if (n < 10)
        return header::undecided;
    const std::uint8_t low = p[8];
    const std::string_view name = p[9] == subscribe[0] ? subscribe : cancel;
    if (p[9] != static_cast<std::uint8_t>(name[0]) || low >= name.size())
        return header::sound;
    for (i = 1; i < name.size(); ++i) {
        if (9 + i == n)
            return header::undecided;
        if (p[9 + i] != static_cast<std::uint8_t>(name[i]))
            return header::sound;
    }
    return header::miscoded;
}

} // namespace

bool zmtp_meter::feed(const std::uint8_t *data, std::size_t size) noexcept {
    return walk(data, nullptr, size).within;
}

filtered zmtp_meter::filter(std::uint8_t *data, std::size_t size) noexcept {
    if (data == nullptr) // nothing to read; and null would mean "meter only" to walk()
        return {.within = !exceeded(), .taken = 0};
    return walk(data, data, size);
}

bool zmtp_meter::frame(std::uint64_t body_bytes, bool more) noexcept {
    ++_message_frames;
    if (_message_frames > _limits.max_message_frames ||
        body_bytes > _limits.max_message_bytes - _message_bytes) {
        _stage = stage::exceeded;
        return false;
    }
    _message_bytes += body_bytes;
    if (!more) {
        _message_frames = 0;
        _message_bytes = 0;
    }
    return true;
}

void zmtp_meter::start_v1() noexcept {
    // No (or an unversioned) signature: ZMTP 1.0 framing from the first byte, as libzmq reads
    // it; the bytes taken for a greeting were frame bytes all along.
    const std::array<std::uint8_t, 11> taken = _greeting;
    const std::size_t count = _greeting_bytes;
    _framing = zmtp_framing::v1;
    _stage = stage::v1_size;
    _stream_bytes -= count; // counted once already
    (void)feed(taken.data(), count);
}

void zmtp_meter::choose_framing() noexcept {
    // libzmq's zmtp_engine: a first byte other than 0xFF, or a tenth byte with bit 0 clear, is
    // ZMTP 1.0 without a signature; otherwise byte 10 is the revision.
    if ((_greeting_bytes == 1 && _greeting[0] != 0xFF) ||
        (_greeting_bytes == signature_bytes && (_greeting[9] & 0x01U) == 0)) {
        start_v1();
    } else if (_greeting_bytes == signature_bytes + 1) {
        const std::uint8_t revision = _greeting[signature_bytes];
        const bool v3 = revision != zmtp_1_0 && revision != zmtp_2_0;
        _framing =
            v3 ? zmtp_framing::v3 : (revision == zmtp_1_0 ? zmtp_framing::v1 : zmtp_framing::v2);
        _remaining = (v3 ? v3_greeting_bytes : v2_greeting_bytes) - _greeting_bytes;
        _after_body = revision == zmtp_1_0 ? stage::v1_size : stage::flags;
        _stage = stage::body;
    }
}

filtered zmtp_meter::walk(const std::uint8_t *data, std::uint8_t *writable,
                          std::size_t size) noexcept {
    const filtered result = walk_frames(data, writable, size);
    _stream_bytes += result.taken;
    return result;
}

filtered zmtp_meter::walk_frames(const std::uint8_t *data, std::uint8_t *writable,
                                 std::size_t size) noexcept {
    std::size_t i = 0;
    while (i < size) {
        switch (_stage) {
        case stage::greeting:
            _greeting.at(_greeting_bytes++) = data[i++];
            choose_framing();
            break;
        case stage::body: {
            const auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(_remaining, static_cast<std::uint64_t>(size - i)));
            i += n;
            _remaining -= n;
            if (_remaining == 0)
                _stage = _after_body;
            break;
        }
        case stage::flags: {
            if (writable != nullptr && _framing == zmtp_framing::v3 && data[i] == command_flag) {
                const header h = classify(data + i, size - i);
                if (h == header::undecided)
                    return {.within = true, .taken = i};
                if (h == header::miscoded)
                    writable[i] |= long_flag;
            }
            const std::uint8_t flags = data[i++];
            _more = (flags & more_flag) != 0;
            _size = 0;
            _size_bytes_left = (flags & long_flag) != 0 ? 8 : 1;
            _stage = stage::size;
            break;
        }
        case stage::size:
            _size = (_size << 8U) | data[i++];
            if (--_size_bytes_left == 0) {
                if (!frame(_size, _more))
                    return {.within = false, .taken = i};
                _remaining = _size;
                _after_body = stage::flags;
                _stage = _remaining != 0 ? stage::body : stage::flags;
            }
            break;
        case stage::v1_size: {
            const std::uint8_t first = data[i++];
            _size = first;
            _size_bytes_left = 8;
            _stage = first == 0xFF ? stage::v1_size_long : stage::v1_flags;
            if (first == 0xFF)
                _size = 0;
            break;
        }
        case stage::v1_size_long:
            _size = (_size << 8U) | data[i++];
            if (--_size_bytes_left == 0)
                _stage = stage::v1_flags;
            break;
        case stage::v1_flags: {
            _more = (data[i++] & more_flag) != 0;
            const std::uint64_t body = _size == 0 ? 0 : _size - 1; // the size counts the flags
            if (!frame(body, _more))
                return {.within = false, .taken = i};
            _remaining = body;
            _after_body = stage::v1_size;
            _stage = body != 0 ? stage::body : stage::v1_size;
            break;
        }
        case stage::exceeded:
            return {.within = false, .taken = i};
        }
    }
    return {.within = _stage != stage::exceeded, .taken = size};
}

} // namespace zrelay
