#include "config_values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "endpoint.hpp"
#include "errors.hpp"
#include "quoting.hpp"
#include "reserved_topics.hpp"
#include "suggest.hpp"

namespace zrelay {
namespace {

constexpr std::size_t max_topic_bytes = 255;

// Decimal digits only: "0x10", "1e3", "+5" and " 5" are not what an operator means by a count.
std::optional<std::int64_t> to_integer(std::string_view text) {
    std::int64_t value = 0;
    const char *const last = text.data() + text.size();
    const auto [end, error] = std::from_chars(text.data(), last, value);
    if (error != std::errc{} || end != last)
        return std::nullopt;
    return value;
}

class value_reader {
public:
    explicit value_reader(problem_list &problems) : _problems(problems) {}

    std::optional<std::int64_t> integer(const entry &e, std::int64_t min, std::int64_t max) {
        std::optional<std::int64_t> v;
        if (e.value.IsScalar())
            v = to_integer(e.value.Scalar());
        if (!v || *v < min || *v > max)
            return _problems.add(e, fmt::format("expected an integer in [{}, {}], got {}", min, max,
                                                describe(e.value)));
        return v;
    }

    // YAML 1.2's booleans only. yaml-cpp would also take YAML 1.1's y/n/yes/no/on/off, which
    // YAML 1.2 tools (linters, templating) read as strings; refusing them keeps the file meaning
    // the same thing to every tool that touches it.
    std::optional<bool> boolean(const entry &e) {
        const std::string text = e.value.IsScalar() ? e.value.Scalar() : "";
        if (text == "true" || text == "True" || text == "TRUE")
            return true;
        if (text == "false" || text == "False" || text == "FALSE")
            return false;
        return _problems.add(e, "expected true or false, got " + describe(e.value));
    }

    std::optional<std::string> string(const entry &e, std::string_view expected = "a string") {
        if (!e.value.IsScalar())
            return _problems.add(e, "expected " + std::string(expected) + ", got " +
                                        describe(e.value));
        if (const auto problem = unwritable_problem(e.value.Scalar()))
            return _problems.add(e, *problem);
        return e.value.Scalar();
    }

    std::optional<std::string> one_of(const entry &e, std::span<const std::string_view> allowed) {
        auto v = string(e, "one of " + joined(allowed));
        if (v && std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
            const auto guess = closest(*v, allowed);
            return _problems.add(
                e, "expected one of " + joined(allowed) + ", got " + quote(*v) +
                       (guess ? "; did you mean '" + std::string(*guess) + "'?" : ""));
        }
        return v;
    }

    std::optional<std::string> topic(const entry &e) {
        auto v = string(e);
        if (v && v->size() > max_topic_bytes)
            return _problems.add(e,
                                 "a topic is at most 255 bytes, got " + std::to_string(v->size()));
        if (v && v->starts_with(reserved_topic_prefix))
            return _problems.add(e, "topics starting with " + std::string(reserved_topic_prefix) +
                                        " are the relay's own, got " + quote(*v));
        return v;
    }

    std::optional<std::string> listen_address(const entry &e) {
        auto v = string(e, "\"\" (disabled) or host:port");
        if (v && !v->empty())
            if (const auto problem = host_port_problem(*v, *v, "host:port", false))
                return _problems.add(e, *problem + " (\"\" disables metrics)");
        return v;
    }

    std::optional<std::string> path(const entry &e) {
        auto v = string(e, "a file path");
        if (v && has_control_character(*v))
            return _problems.add(e, "a path holds a control character, got " + quote(*v));
        return v;
    }

    // Octal, as chmod takes it: 0660, 660 or 0o660 (YAML 1.1 and 1.2 disagree on what a bare
    // 0660 means, so the text is read here, not by yaml-cpp). Permission bits only.
    std::optional<std::int64_t> file_mode(const entry &e) {
        const auto text = string(e, "an octal file mode like 0660");
        if (!text)
            return std::nullopt;
        std::string_view digits = *text;
        if (digits.starts_with("0o"))
            digits.remove_prefix(2);
        unsigned mode = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), mode, 8);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            mode > 0777)
            return _problems.add(e, "expected an octal file mode from 0 to 0777 like 0660, got " +
                                        quote(*text));
        if ((mode & 0600U) != 0600U)
            return _problems.add(e, "the owner (zrelayd itself) needs read and write (0600), got " +
                                        quote(*text));
        return mode;
    }

    std::optional<std::string> group_name(const entry &e) {
        auto v = string(e, "a group name");
        if (v && !std::all_of(v->begin(), v->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
                       c == '.';
            }))
            return _problems.add(e,
                                 "expected a group name (letters, digits, _ - .) or \"\" for the "
                                 "process's own, got " +
                                     quote(*v));
        return v;
    }

    // A string or a sequence of strings: one endpoint needs no brackets.
    std::optional<std::vector<endpoint_at>> endpoints(const entry &e, endpoint_use use) {
        std::vector<endpoint_at> out;
        bool all_good = true;
        const auto add = [&](const entry &item) {
            auto endpoint = string(item, "an endpoint string");
            if (endpoint)
                if (const auto problem = endpoint_problem(*endpoint, use))
                    endpoint = _problems.add(item, *problem);
            if (endpoint)
                out.push_back({std::move(*endpoint), item.path, item.at()});
            all_good = all_good && endpoint;
        };
        if (e.value.IsScalar()) {
            add(entry{e.path + "[0]", e.key_at, e.value});
        } else if (e.value.IsSequence()) {
            for (std::size_t i = 0; i < e.value.size(); ++i)
                add(entry{e.path + "[" + std::to_string(i) + "]", e.at(), e.value[i]});
        } else {
            return _problems.add(e, "expected an endpoint or a sequence of endpoints, got " +
                                        describe(e.value) +
                                        (e.value.IsNull() ? " (write [] for none)" : ""));
        }
        if (!all_good)
            return std::nullopt;
        return out;
    }

    // One endpoint to bind, or "" for none.
    std::optional<std::vector<endpoint_at>> dead_letter(const entry &e) {
        if (e.value.IsScalar() && e.value.Scalar().empty())
            return std::vector<endpoint_at>{};
        if (!e.value.IsScalar())
            return _problems.add(e, "expected \"\" (none) or one endpoint to bind, got " +
                                        describe(e.value));
        return endpoints(e, endpoint_use::bind);
    }

private:
    problem_list &_problems;
};

} // namespace

std::optional<text_place> place_of(const YAML::Mark &mark) {
    if (mark.line < 0)
        return std::nullopt;
    return text_place{mark.line + 1, mark.column + 1}; // yaml-cpp counts from 0, editors from 1
}

std::string describe(const YAML::Node &node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar:
        return quote(node.Scalar());
    case YAML::NodeType::Sequence:
        return "a sequence";
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        break;
    }
    return "null";
}

std::nullopt_t problem_list::add(std::optional<text_place> at, std::string_view key,
                                 std::string_view what) {
    _problems.emplace_back(at, (key.empty() ? "" : std::string(key) + ": ") + std::string(what));
    return std::nullopt;
}

void problem_list::throw_if_any(std::string_view source) {
    if (_problems.empty())
        return;
    std::stable_sort(_problems.begin(), _problems.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    std::string message;
    for (const auto &[at, text] : _problems) {
        message += message.empty() ? "" : "\n";
        message += source;
        if (at)
            message += fmt::format(":{}:{}", at->line, at->column);
        message += ": " + text;
    }
    throw config_error(message);
}

std::optional<key_value> read_value(const key_row &row, const entry &e, problem_list &problems) {
    value_reader r(problems);
    const auto as_value = [](auto v) {
        return v ? std::optional<key_value>(std::move(*v)) : std::nullopt;
    };
    switch (row.kind) {
    case key_kind::integer:
        return as_value(r.integer(e, row.min, row.max));
    case key_kind::boolean:
        return as_value(r.boolean(e));
    case key_kind::one_of:
        return as_value(r.one_of(e, row.choices));
    case key_kind::topic:
        return as_value(r.topic(e));
    case key_kind::path:
        return as_value(r.path(e));
    case key_kind::group:
        return as_value(r.group_name(e));
    case key_kind::file_mode:
        return as_value(r.file_mode(e));
    case key_kind::listen:
        return as_value(r.listen_address(e));
    case key_kind::bind:
    case key_kind::connect:
        return as_value(r.endpoints(e, row.kind == key_kind::connect ? endpoint_use::connect
                                                                     : endpoint_use::bind));
    case key_kind::bind_one:
        return as_value(r.dead_letter(e));
    }
    return std::nullopt;
}

void store(const key_row &row, config &cfg, const key_value &value) {
    std::visit(
        [&](auto *field) {
            using T = std::remove_pointer_t<decltype(field)>;
            const auto *endpoints = std::get_if<std::vector<endpoint_at>>(&value);
            if constexpr (std::is_same_v<T, log_format>) {
                const auto &choices = row.choices;
                *field = static_cast<log_format>(
                    std::find(choices.begin(), choices.end(), std::get<std::string>(value)) -
                    choices.begin());
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                field->clear();
                for (const endpoint_at &e : *endpoints)
                    field->push_back(e.endpoint);
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (endpoints) // one endpoint, or none
                    *field = endpoints->empty() ? "" : endpoints->front().endpoint;
                else
                    *field = std::get<std::string>(value);
            } else if constexpr (std::is_same_v<T, bool>) {
                *field = std::get<bool>(value);
            } else {
                *field = T(std::get<std::int64_t>(value)); // the integers and milliseconds
            }
        },
        row.at.mut(cfg));
}

} // namespace zrelay
