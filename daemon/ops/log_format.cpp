#include "log_format.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <spdlog/pattern_formatter.h>

#include "log_event.hpp"

namespace zrelay {

namespace {

using buffer = spdlog::memory_buf_t;

void append(buffer &dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

std::string_view payload(const spdlog::details::log_msg &msg) {
    return {msg.payload.data(), msg.payload.size()};
}

// A log_event's text taken apart: the message, then each field in turn.
class event_reader {
public:
    struct field {
        char type; // 's' or 'n'
        std::string_view key;
        std::string_view value;
    };
    explicit event_reader(std::string_view text) : _rest(text) {}

    std::string_view message() {
        const auto end = _rest.find(log_field_separator);
        const std::string_view m = _rest.substr(0, end);
        _rest = end == std::string_view::npos ? std::string_view() : _rest.substr(end);
        return m;
    }
    // After message(): the next field, if any.
    bool next(field &f) {
        if (_rest.empty())
            return false;
        std::string_view item = _rest.substr(1); // past the separator
        const auto end = item.find(log_field_separator);
        _rest = end == std::string_view::npos ? std::string_view() : item.substr(end);
        item = item.substr(0, end);
        const auto eq = item.find('=');
        if (item.empty() || eq == std::string_view::npos) { // not ours: shown whole as text
            f = {'s', "field", item};
            return true;
        }
        f = {item[0], item.substr(1, eq - 1), item.substr(eq + 1)};
        return true;
    }

private:
    std::string_view _rest;
};

void append_hex_escape(buffer &dest, char prefix, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    const std::array<char, 6> json{'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
    const std::array<char, 4> text{'\\', 'x', hex[c >> 4], hex[c & 0xf]};
    if (prefix == 'u')
        dest.append(json.data(), json.data() + json.size());
    else
        dest.append(text.data(), text.data() + text.size());
}

// The body of a JSON string, so one event is one valid JSON object per line whatever it holds.
void append_json_string(buffer &dest, std::string_view text) {
    for (const char c : text) {
        switch (c) {
        case '"':
            append(dest, "\\\"");
            break;
        case '\\':
            append(dest, "\\\\");
            break;
        case '\n':
            append(dest, "\\n");
            break;
        case '\r':
            append(dest, "\\r");
            break;
        case '\t':
            append(dest, "\\t");
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                append_hex_escape(dest, 'u', static_cast<unsigned char>(c));
            else
                dest.push_back(c);
        }
    }
}

// A text value: bare when it can be read back unambiguously, else quoted.
void append_text_value(buffer &dest, std::string_view value) {
    const bool bare = !value.empty() && value.find_first_of(" \"=\\") == std::string_view::npos &&
                      std::none_of(value.begin(), value.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20; });
    if (bare) {
        append(dest, value);
        return;
    }
    dest.push_back('"');
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            dest.push_back('\\');
            dest.push_back(c);
        } else if (static_cast<unsigned char>(c) < 0x20) {
            append_hex_escape(dest, 'x', static_cast<unsigned char>(c));
        } else {
            dest.push_back(c);
        }
    }
    dest.push_back('"');
}

class flag : public spdlog::custom_flag_formatter {
protected:
    template <class Self>
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone_as() const {
        return std::make_unique<Self>();
    }
};

// %q: the level as the config spells it.
class level_flag final : public flag {
public:
    void format(const spdlog::details::log_msg &msg, const std::tm & /*tm*/,
                buffer &dest) override {
        static constexpr std::array<std::string_view, 7> names{"trace", "debug",    "info", "warn",
                                                               "error", "critical", "off"};
        append(dest, names.at(static_cast<std::size_t>(msg.level)));
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return clone_as<level_flag>();
    }
};

// %Q: the priority prefix journald reads (sd-daemon(3)): <7> debug ... <2> critical.
class priority_flag final : public flag {
public:
    void format(const spdlog::details::log_msg &msg, const std::tm & /*tm*/,
                buffer &dest) override {
        static constexpr std::array<std::string_view, 7> prefixes{"<7>", "<7>", "<6>", "<4>",
                                                                  "<3>", "<2>", "<6>"};
        append(dest, prefixes.at(static_cast<std::size_t>(msg.level)));
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return clone_as<priority_flag>();
    }
};

// %k: the message, then each field as key=value.
class text_event_flag final : public flag {
public:
    void format(const spdlog::details::log_msg &msg, const std::tm & /*tm*/,
                buffer &dest) override {
        event_reader event(payload(msg));
        append(dest, event.message());
        event_reader::field f{};
        while (event.next(f)) {
            dest.push_back(' ');
            append(dest, f.key);
            dest.push_back('=');
            append_text_value(dest, f.value);
        }
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return clone_as<text_event_flag>();
    }
};

// %J: "msg":"...", then each field as a JSON member (integers as numbers).
class json_event_flag final : public flag {
public:
    void format(const spdlog::details::log_msg &msg, const std::tm & /*tm*/,
                buffer &dest) override {
        event_reader event(payload(msg));
        append(dest, R"("msg":")");
        append_json_string(dest, event.message());
        dest.push_back('"');
        event_reader::field f{};
        while (event.next(f)) {
            append(dest, ",\"");
            append_json_string(dest, f.key);
            append(dest, "\":");
            if (f.type == 'n' && !f.value.empty()) {
                append(dest, f.value);
            } else {
                dest.push_back('"');
                append_json_string(dest, f.value);
                dest.push_back('"');
            }
        }
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return clone_as<json_event_flag>();
    }
};

} // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(log_format format, bool journal) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<level_flag>('q')
        .add_flag<priority_flag>('Q')
        .add_flag<text_event_flag>('k')
        .add_flag<json_event_flag>('J');
    if (format == log_format::json)
        formatter->set_pattern(
            journal ? R"(%Q{"level":"%q","thread":%t,%J})"
                    : R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%q","thread":%t,%J})");
    else
        formatter->set_pattern(journal ? "%Q%q [%t] %k" : "%Y-%m-%dT%H:%M:%S.%e%z %q [%t] %k");
    return formatter;
}

} // namespace zrelay
