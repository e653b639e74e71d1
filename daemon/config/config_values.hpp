// config_values: reading one key's value as its row says (config_table.hpp), and the problems
// found in a file, each with its place and key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config_table.hpp"
#include "yaml_text.hpp"

namespace zrelay {

[[nodiscard]] std::optional<text_place> place_of(const YAML::Mark &mark);

// A node as a message shows it: quoted and escaped if a scalar, else "a sequence" and the like.
[[nodiscard]] std::string describe(const YAML::Node &node);

// A key and its value as found in the file, with the dotted path that names it in errors.
struct entry {
    std::string path;
    std::optional<text_place> key_at; // the key's place, or the enclosing one's
    YAML::Node value;

    // An empty value has no place of its own (yaml-cpp marks where the next token starts), and
    // an alias's is where its anchor was; the key's place is the better pointer for both.
    [[nodiscard]] std::optional<text_place> at() const {
        const std::optional<text_place> own = place_of(value.Mark());
        if (value.IsNull() || !own || (key_at && *own < *key_at))
            return key_at;
        return own;
    }
};

// An endpoint with where it came from, to name both places when two collide.
struct endpoint_at {
    std::string endpoint;
    std::string path;             // e.g. "ingress.bind[1]"
    std::optional<text_place> at; // none: a default
};

class problem_list {
public:
    // Records a problem; returns nullopt for a reading function to return.
    std::nullopt_t add(std::optional<text_place> at, std::string_view key, std::string_view what);
    std::nullopt_t add(const entry &e, std::string_view what) { return add(e.at(), e.path, what); }
    [[nodiscard]] std::size_t size() const { return _problems.size(); }
    // Throws one config_error holding every problem, one a line in the file's order, as
    // "SOURCE:LINE:COLUMN: KEY: WHAT"; returns if there is none.
    void throw_if_any(std::string_view source);

private:
    std::vector<std::pair<std::optional<text_place>, std::string>> _problems;
};

// A value as read: an integer, a boolean, a string, or endpoints with their places.
using key_value = std::variant<std::int64_t, bool, std::string, std::vector<endpoint_at>>;

// Reads `e` as `row` says; nullopt, with what is wrong added to `problems`, if it is not that.
[[nodiscard]] std::optional<key_value> read_value(const key_row &row, const entry &e,
                                                  problem_list &problems);

// Puts a value read for `row` in its field of `cfg`.
void store(const key_row &row, config &cfg, const key_value &value);

} // namespace zrelay
