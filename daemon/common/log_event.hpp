// log_event: a log line's message with named fields, so that `log.format: json` writes each as a
// JSON member a collector can filter on, and text writes it as key=value. Below every layer that
// logs; the formatter that takes the fields apart is ops' (log_format.hpp).
//
//   spdlog::warn("{}", log_event("dropped invalid messages").add("reason", "malformed")
//                          .add("count", n).str());
//
// The fields travel inside spdlog's message text, each as the unit separator 0x1f, a type letter
// (s: string, n: integer), the key, '=' and the value. A 0x1f inside the message or a value becomes
// a space, so no text, whoever wrote it, can forge a field.
#pragma once

#include <algorithm>
#include <concepts>
#include <string>
#include <string_view>

namespace zrelay {

inline constexpr char log_field_separator = '\x1f';

class log_event {
public:
    explicit log_event(std::string_view message) { append_clean(message); }

    // `key` is a constant of the caller's: lower case and underscores.
    log_event &add(std::string_view key, std::string_view value) {
        open(key, 's');
        append_clean(value);
        return *this;
    }
    log_event &add(std::string_view key, const char *value) {
        return add(key, std::string_view(value));
    }
    log_event &add(std::string_view key, const std::string &value) {
        return add(key, std::string_view(value));
    }
    template <std::integral T>
    log_event &add(std::string_view key, T value) {
        open(key, 'n');
        _text += std::to_string(value);
        return *this;
    }

    [[nodiscard]] const std::string &str() const noexcept { return _text; }

private:
    void open(std::string_view key, char type) {
        _text += log_field_separator;
        _text += type;
        _text += key;
        _text += '=';
    }
    void append_clean(std::string_view text) {
        const std::size_t from = _text.size();
        _text += text;
        std::replace(_text.begin() + static_cast<std::ptrdiff_t>(from), _text.end(),
                     log_field_separator, ' ');
    }

    std::string _text;
};

} // namespace zrelay
