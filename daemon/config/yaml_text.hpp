// yaml_text: what the configuration reader checks in the text itself, around yaml-cpp, which
// passes stray bytes through, hangs on some invalid input and quotes the input in its messages.
// Each was found by fuzzing (tests/fuzz/config_fuzz).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zrelay {

// A position in the text, 1-based like an editor's; the column counts bytes, as yaml-cpp does.
struct text_place {
    int line;
    int column;
    bool operator<(const text_place &o) const {
        return line < o.line || (line == o.line && column < o.column);
    }
};

// The first byte that is not UTF-8, or the first character YAML does not allow (YAML 1.2, 5.1
// c-printable), with a message naming it; none if the text is fine.
struct text_problem {
    text_place at;
    std::string what;
};
[[nodiscard]] std::optional<text_problem> yaml_text_problem(std::string_view text);

// Why a string value could not be written back by to_yaml() (yaml-cpp's emitter writes DEL raw
// and U+FFFE and U+FFFF as U+FFFD), or none.
[[nodiscard]] std::optional<std::string> unwritable_problem(std::string_view value);

// yaml-cpp's exception message, made fit for a log line.
[[nodiscard]] std::string yaml_cpp_says(std::string_view message);

// Where YAML::LoadAll would never return on `text`, or none.
[[nodiscard]] std::optional<text_place> where_yaml_cpp_would_hang(const std::string &text);

} // namespace zrelay
