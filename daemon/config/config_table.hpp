// config_table: every configuration key, one row each: its dotted path, the kind of value and its
// bounds, when a change takes effect, a line of documentation, and where it lives in `config`.
// The reader, to_yaml(), the reload diff and `zrelayd config-reference` all walk these rows (in
// file order), so adding a key is one row (config_table.cpp) and one field (config.hpp).
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

// What a key's value may be; kind_text() says each in words. An integer is in [min, max].
enum class key_kind {
    integer,
    boolean,
    one_of,
    topic,
    path,
    group,
    file_mode,
    listen,
    bind,
    connect,
    bind_one,
    prefixes, // a sequence of topic prefixes
};

// When a changed value takes effect: at start, on SIGHUP, or on SIGHUP only while it stays set.
enum class key_applies { restart, reload, reload_while_set };

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
    std::int64_t min = 0;
    std::int64_t max = 0;
    std::span<const std::string_view> choices{}; // an enum's in its order
};

// The row of a dotted path, or null if it names a section or nothing.
[[nodiscard]] const key_row *find_key(std::string_view path);

// The names under a section ("" for the top level), in table order, and the path of one.
[[nodiscard]] std::vector<std::string_view> children(std::string_view section);
[[nodiscard]] std::string child_path(std::string_view section, std::string_view name);

// The documentation of a section ("ingress", "security.curve"); "" if it has none.
[[nodiscard]] std::string_view section_doc(std::string_view path);

// A kind of value in words, as errors expect it ("expected <expected>, got ...") and as the
// reference bounds it.
struct kind_words {
    std::string expected;
    std::string bounds;
};
[[nodiscard]] kind_words kind_text(const key_row &row);

// A value as read, for the field its row names; or what is wrong with it.
using key_value = std::variant<std::int64_t, bool, std::string, std::vector<std::string>>;
struct bad_value {
    std::string what; // the message after "KEY: "
};
using scalar_read = std::variant<key_value, bad_value>;
// A scalar's text as `row`'s kind reads it (config_values.cpp); not for the endpoint kinds.
[[nodiscard]] scalar_read read_scalar(const key_row &row, const std::string &v);

} // namespace zrelay
