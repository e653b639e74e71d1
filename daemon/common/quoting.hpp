// quoting: how a value from outside (a config value, an endpoint, a key) is shown in an error
// message: quoted, escaped and cut short, so that a stray binary blob or a pasted paragraph cannot
// garble the log line. Shared by the config layer and the endpoint check (endpoint.hpp), which
// the client tool uses too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace zrelay {

// The character that starts at text[i], and its length in bytes; nullopt if the bytes there are
// not UTF-8 (overlong forms, surrogates and code points past U+10FFFF included).
struct utf8_char {
    char32_t code;
    std::size_t length;
};
[[nodiscard]] std::optional<utf8_char> decode_utf8(std::string_view text, std::size_t i);

// Whether `s` holds an ASCII control character, DEL included: what no path should hold.
[[nodiscard]] bool has_control_character(std::string_view s);

// `s` as quote() shows it, without the quotes, cut after `max_shown` characters.
[[nodiscard]] std::string escaped(std::string_view s, std::size_t max_shown);

// `s` in double quotes, escaped, cut after 80 characters.
[[nodiscard]] std::string quote(std::string_view s);

} // namespace zrelay
