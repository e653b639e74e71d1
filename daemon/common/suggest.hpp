// suggest: "did you mean" for a word that is not one of a few known ones (a config key, a log
// level): the known word it is most likely a typo or an abbreviation of.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zrelay {

// The word of `known` that `word` is one or two edits from (an adjacent transposition counting
// as one, case ignored), or else abbreviates (letters left out, the first kept); none if neither.
[[nodiscard]] std::optional<std::string_view> closest(std::string_view word,
                                                      std::span<const std::string_view> known);

// "a, b, c".
[[nodiscard]] std::string joined(std::span<const std::string_view> words);

} // namespace zrelay
