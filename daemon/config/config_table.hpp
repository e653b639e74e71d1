// config_table: every configuration key, one row each: its dotted path, the kind of value and its
// bounds, when a change takes effect, a line of documentation, and where it lives in `config`.
// The reader, to_yaml(), the reload diff and `zrelayd config-reference` all walk these rows, so
// adding a key is one row (config_table.cpp) and one field (config.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config.hpp"

namespace zrelay {

enum class key_kind {
    integer,   // decimal digits, in [min, max]
    boolean,   // true or false (YAML 1.2's spellings only)
    one_of,    // one of `choices`
    topic,     // at most 255 bytes, not the relay's own $zrelay/drops
    path,      // a file path without control characters, or ""
    group,     // a group name, or "" for the process's own
    file_mode, // octal permission bits, the owner's read and write kept
    listen,    // host:port, or "" for none
    bind,      // endpoints to bind: one, or a sequence
    connect,   // endpoints to connect: one, or a sequence
    bind_one,  // one endpoint to bind, or "" for none
};

// When a changed value takes effect.
enum class key_applies {
    restart,          // wired into sockets and threads at start
    reload,           // on SIGHUP
    reload_while_set, // on SIGHUP while it stays set; setting or clearing it is a restart
};

// Pointers to the types a key's field may have, mutable and not.
template <typename... T>
struct field_types {
    using mut = std::variant<T *...>;
    using get = std::variant<const T *...>;
};
using key_field_types =
    field_types<int, unsigned, std::size_t, std::int64_t, bool, std::string,
                std::vector<std::string>, std::chrono::milliseconds, log_format>;

// Where a key lives in a config: field<&config::egress, &egress_config::sndhwm>.
struct field_access {
    key_field_types::mut (*mut)(config &);
    key_field_types::get (*get)(const config &);
};
template <auto... member>
constexpr field_access field = {
    [](config &c) -> key_field_types::mut { return &(c.*....*member); },
    [](const config &c) -> key_field_types::get { return &(c.*....*member); }};

struct key_row {
    std::string_view path; // "egress.sndhwm"
    key_kind kind;
    field_access at;
    std::string_view doc;
    key_applies applies = key_applies::restart;
    std::int64_t min = 0; // integer
    std::int64_t max = 0;
    std::span<const std::string_view> choices{}; // one_of; an enum's in its order
};

// In file order: how to_yaml() and the reference list them, and reload names changes.
[[nodiscard]] std::span<const key_row> config_keys();

// The documentation of a section ("ingress", "security.curve"); "" if it has none.
[[nodiscard]] std::string_view section_doc(std::string_view path);

// The last part of a dotted path, and the parts before it.
[[nodiscard]] std::string_view key_name(std::string_view path);
[[nodiscard]] std::string_view parent_of(std::string_view path);

// Calls open(path, depth) as a section starts, close(depth) as it ends, and leaf(row, depth)
// for each key, in table order: how writers nest the dotted paths.
template <typename Open, typename Close, typename Leaf>
void walk_table(Open &&open, Close &&close, Leaf &&leaf) {
    std::vector<std::string_view> open_sections; // innermost last
    const auto within = [](std::string_view path, std::string_view section) {
        return path.size() > section.size() && path.starts_with(section) &&
               path[section.size()] == '.';
    };
    for (const key_row &row : config_keys()) {
        while (!open_sections.empty() && !within(row.path, open_sections.back())) {
            open_sections.pop_back();
            close(open_sections.size());
        }
        for (std::size_t dot =
                 row.path.find('.', open_sections.empty() ? 0 : open_sections.back().size() + 1);
             dot != std::string_view::npos; dot = row.path.find('.', dot + 1)) {
            open(row.path.substr(0, dot), open_sections.size());
            open_sections.push_back(row.path.substr(0, dot));
        }
        leaf(row, open_sections.size());
    }
    while (!open_sections.empty()) {
        open_sections.pop_back();
        close(open_sections.size());
    }
}

} // namespace zrelay
