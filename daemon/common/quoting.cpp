#include "quoting.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace zrelay {
namespace {

bool is_control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// Shown escaped: what a terminal or a log viewer could act on or break a line at (C0 and C1
// controls, DEL, U+2028/U+2029) and the noncharacters U+FFFE/U+FFFF. The rest of UTF-8 is shown
// as it is, so a path or topic in any script reads as written.
bool shown_escaped(char32_t c) {
    return c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == 0xfffe ||
           c == 0xffff;
}

} // namespace

std::optional<utf8_char> decode_utf8(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const auto continuation = [&](std::size_t k) {
        return k < text.size() && (byte(k) & 0xC0U) == 0x80U;
    };
    const unsigned lead = byte(i);
    std::size_t length = 0;
    unsigned min_second = 0x80;
    unsigned max_second = 0xBF;
    char32_t code = 0;
    if (lead < 0x80)
        return utf8_char{lead, 1};
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code = lead & 0x1FU;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code = lead & 0x0FU;
        min_second = lead == 0xE0 ? 0xA0 : 0x80; // overlong
        max_second = lead == 0xED ? 0x9F : 0xBF; // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code = lead & 0x07U;
        min_second = lead == 0xF0 ? 0x90 : 0x80; // overlong
        max_second = lead == 0xF4 ? 0x8F : 0xBF; // past U+10FFFF
    } else {
        return std::nullopt;
    }
    if (!continuation(i + 1) || byte(i + 1) < min_second || byte(i + 1) > max_second)
        return std::nullopt;
    for (std::size_t k = 1; k < length; ++k) {
        if (!continuation(i + k))
            return std::nullopt;
        code = (code << 6U) | (byte(i + k) & 0x3FU);
    }
    return utf8_char{code, length};
}

bool has_control_character(std::string_view s) {
    return std::any_of(s.begin(), s.end(), is_control);
}

// `s` as quote() shows it, without the quotes, cut after `max_shown` characters.
std::string escaped(std::string_view s, std::size_t max_shown) {
    std::string out;
    std::size_t shown = 0;
    for (std::size_t i = 0; i < s.size(); ++shown) {
        if (shown == max_shown) {
            out += "...";
            break;
        }
        const std::optional<utf8_char> c = decode_utf8(s, i);
        if (!c) { // not UTF-8: the byte, so the message itself stays UTF-8
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
            ++i;
            continue;
        }
        if (c->code == '"' || c->code == '\\') {
            out += '\\';
            out += s[i];
        } else if (c->code < 0x80 && shown_escaped(c->code)) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(c->code));
        } else if (shown_escaped(c->code)) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c->code));
        } else {
            out.append(s.substr(i, c->length));
        }
        i += c->length;
    }
    return out;
}

std::string quote(std::string_view s) {
    constexpr std::size_t max_shown = 80; // characters
    return '"' + escaped(s, max_shown) + '"';
}

} // namespace zrelay
