#include "zmtp_meter.hpp"

#include <algorithm>

namespace zrelay {
namespace {

constexpr std::uint8_t more_flag = 0x01;
constexpr std::uint8_t long_flag = 0x02;
constexpr std::size_t signature_bytes = 10;
constexpr std::size_t v2_greeting_bytes = 12;
constexpr std::size_t v3_greeting_bytes = 64;
constexpr std::uint8_t zmtp_1_0 = 0;
constexpr std::uint8_t zmtp_2_0 = 1;

} // namespace

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

bool zmtp_meter::feed(const std::uint8_t *data, std::size_t size) noexcept {
    _stream_bytes += size;
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
                    return false;
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
                return false;
            _remaining = body;
            _after_body = stage::v1_size;
            _stage = body != 0 ? stage::body : stage::v1_size;
            break;
        }
        case stage::exceeded:
            return false;
        }
    }
    return _stage != stage::exceeded;
}

} // namespace zrelay
