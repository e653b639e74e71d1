#include "zrelay_text.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include <fmt/format.h>

namespace zrelay::tool {

namespace {

// The length of the well-formed UTF-8 sequence at s[at], or 0 if there is none (RFC 3629's
// table: the second byte's range depends on the first, which rules out overlongs, surrogates
// and code points past U+10FFFF).
std::size_t utf8_length(std::string_view s, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[at + i]); };
    const unsigned char first = byte(0);
    if (first < 0x80)
        return 1;
    std::size_t n = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (first >= 0xc2 && first <= 0xdf) {
        n = 2;
    } else if (first >= 0xe0 && first <= 0xef) {
        n = 3;
        low = first == 0xe0 ? 0xa0 : low;
        high = first == 0xed ? 0x9f : high;
    } else if (first >= 0xf0 && first <= 0xf4) {
        n = 4;
        low = first == 0xf0 ? 0x90 : low;
        high = first == 0xf4 ? 0x8f : high;
    } else {
        return 0;
    }
    if (s.size() - at < n || byte(1) < low || byte(1) > high)
        return 0;
    for (std::size_t i = 2; i < n; ++i)
        if ((byte(i) & 0xc0) != 0x80)
            return 0;
    return n;
}

void append_escape(std::string &out, const char *format, unsigned value) {
    std::array<char, 8> buffer{};
    const int n = std::snprintf(buffer.data(), buffer.size(), format, value);
    out.append(buffer.data(), static_cast<std::size_t>(n));
}

} // namespace

bool valid_utf8(std::string_view s) {
    for (std::size_t at = 0; at < s.size();) {
        const std::size_t n = utf8_length(s, at);
        if (n == 0)
            return false;
        at += n;
    }
    return true;
}

std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t at = 0; at < s.size();) {
        const std::size_t n = utf8_length(s, at);
        const auto c = static_cast<unsigned char>(s[at]);
        if (n == 0) {
            append_escape(out, "\\x%02x", c);
            at += 1;
            continue;
        }
        if (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[at + 1]) < 0xa0) {
            // C1 controls (U+0080..U+009F): some terminals act on them as on ESC sequences.
            append_escape(out, "\\u%04x", static_cast<unsigned char>(s[at + 1]));
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            append_escape(out, "\\x%02x", c);
        } else {
            out.append(s.substr(at, n));
        }
        at += n;
    }
    return out;
}

void append_json_string(std::string &out, std::string_view s) {
    out += '"';
    for (std::size_t at = 0; at < s.size();) {
        const std::size_t n = utf8_length(s, at);
        const auto c = static_cast<unsigned char>(s[at]);
        if (n == 0) {
            out += "\\ufffd";
            at += 1;
            continue;
        }
        if (c == '"') {
            out += "\\\"";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            append_escape(out, "\\u%04x", c);
        } else {
            out.append(s.substr(at, n));
        }
        at += n;
    }
    out += '"';
}

std::string base64(std::string_view bytes) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t at = 0; at < bytes.size(); at += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - at);
        std::uint32_t group = 0;
        for (std::size_t i = 0; i < 3; ++i)
            group = (group << 8) | (i < n ? static_cast<unsigned char>(bytes[at + i]) : 0U);
        for (std::size_t i = 0; i < 4; ++i)
            out += i <= n ? alphabet[(group >> (18 - 6 * i)) & 0x3f] : '=';
    }
    return out;
}

std::string hex_instance(std::uint64_t instance) {
    return fmt::format("{:016x}", instance);
}

std::string iso8601_ms(std::int64_t epoch_ns) {
    using namespace std::chrono;
    const sys_time<milliseconds> at{floor<milliseconds>(nanoseconds(epoch_ns))};
    const sys_days day = floor<days>(at);
    const year_month_day date(day);
    const hh_mm_ss time(at - day);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                       time.hours().count(), time.minutes().count(), time.seconds().count(),
                       time.subseconds().count());
}

std::string sequences(std::uint64_t first, std::uint64_t last) {
    return first == last ? fmt::format("sequence {}", first)
                         : fmt::format("sequences {}..{}", first, last);
}

} // namespace zrelay::tool
