// Checking one scalar value's text by its row's kind (config_table.hpp): the reader walks the
// YAML and places the problems; what each kind accepts is here.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "config_table.hpp"
#include "endpoint.hpp"
#include "quoting.hpp"
#include "reserved_topics.hpp"
#include "suggest.hpp"
#include "yaml_text.hpp"

namespace zrelay {
namespace {

// Digits only, no sign or space: "0x10", "1e3", "+5" and " 5" are not what an operator means.
std::optional<std::int64_t> to_integer(std::string_view text, int base = 10) {
    std::int64_t value = 0;
    const char *const last = text.data() + text.size();
    const auto [end, error] = std::from_chars(text.data(), last, value, base);
    if (error != std::errc{} || end != last)
        return std::nullopt;
    return value;
}

} // namespace

scalar_read read_scalar(const key_row &row, const std::string &v) {
    const auto problem = [](std::string what) { return bad_value{std::move(what)}; };
    const auto mismatch = [&](const std::string &note) {
        return problem("expected " + kind_text(row).expected + ", got " + quote(v) + note);
    };
    if (row.kind != key_kind::integer && row.kind != key_kind::boolean)
        if (const auto unwritable = unwritable_problem(v))
            return problem(*unwritable);
    switch (row.kind) {
    case key_kind::integer: {
        const auto n = to_integer(v);
        if (!n || *n < row.min || *n > row.max)
            return mismatch("");
        return *n;
    }
    // YAML 1.2's booleans only. yaml-cpp would also take YAML 1.1's y/n/yes/no/on/off, which
    // YAML 1.2 tools (linters, templating) read as strings; refusing them keeps the file
    // meaning the same thing to every tool that touches it.
    case key_kind::boolean:
        if (v == "true" || v == "True" || v == "TRUE")
            return true;
        if (v == "false" || v == "False" || v == "FALSE")
            return false;
        return mismatch("");
    case key_kind::one_of: {
        if (std::find(row.choices.begin(), row.choices.end(), v) != row.choices.end())
            return v;
        const auto guess = closest(v, row.choices);
        return mismatch(guess ? "; did you mean '" + std::string(*guess) + "'?" : "");
    }
    case key_kind::topic:
        if (v.size() > 255)
            return problem("a topic is at most 255 bytes, got " + std::to_string(v.size()));
        if (v.starts_with(reserved_topic_prefix))
            return problem("topics starting with " + std::string(reserved_topic_prefix) +
                           " are the relay's own, got " + quote(v));
        return v;
    case key_kind::path:
        if (has_control_character(v))
            return problem("a path holds a control character, got " + quote(v));
        return v;
    case key_kind::group:
        if (std::all_of(v.begin(), v.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
                       c == '.';
            }))
            return v;
        return problem("expected a group name (letters, digits, _ - .) or \"\" for the "
                       "process's own, got " +
                       quote(v));
    // Octal, as chmod takes it: 0660, 660 or 0o660 (YAML 1.1 and 1.2 disagree on what a
    // bare 0660 means, so the text is read here, not by yaml-cpp). Permission bits only.
    case key_kind::file_mode: {
        const auto mode = to_integer(std::string_view(v).substr(v.starts_with("0o") ? 2 : 0), 8);
        if (!mode || *mode < 0 || *mode > 0777)
            return problem("expected an octal file mode from 0 to 0777 like 0660, got " + quote(v));
        if ((*mode & 0600) != 0600)
            return problem("the owner (zrelayd itself) needs read and write (0600), got " +
                           quote(v));
        return *mode;
    }
    case key_kind::listen:
        if (const auto bad_address =
                v.empty() ? std::nullopt : host_port_problem(v, v, "host:port", false))
            return problem(*bad_address + " (\"\" disables metrics)");
        return v;
    default: // the endpoint kinds, read by the reader as lists
        return problem("expected a scalar kind");
    }
}

} // namespace zrelay
