#include "suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace zrelay {
namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Optimal string alignment: "sndhmw" is one typo away from "sndhwm", as a person would count it.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t width = b.size() + 1;
    std::vector<std::size_t> d((a.size() + 1) * width);
    const auto at = [&](std::size_t i, std::size_t j) -> std::size_t & { return d[i * width + j]; };
    for (std::size_t i = 0; i <= a.size(); ++i)
        at(i, 0) = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        at(0, j) = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]))
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
        }
    }
    return at(a.size(), b.size());
}

// "max_msg_bytes" for "max_message_bytes", "conn" for "connect".
bool abbreviates(std::string_view word, std::string_view candidate) {
    if (word.size() < 3 || word.size() >= candidate.size() || lower(word[0]) != lower(candidate[0]))
        return false;
    std::size_t at = 0;
    for (const char c : candidate)
        if (at < word.size() && lower(word[at]) == lower(c))
            ++at;
    return at == word.size();
}

} // namespace

// Short words get less slack: any two four-letter words are two edits apart, and a wrong guess
// is worse than none.
std::optional<std::string_view> closest(std::string_view word,
                                        std::span<const std::string_view> known) {
    const std::size_t slack = word.size() <= 4 ? 1 : 2;
    std::optional<std::string_view> best;
    std::size_t best_distance = slack + 1;
    for (const std::string_view candidate : known) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (!best) {
        const auto it = std::find_if(known.begin(), known.end(),
                                     [&](std::string_view k) { return abbreviates(word, k); });
        if (it != known.end())
            best = *it;
    }
    return best;
}

std::string joined(std::span<const std::string_view> words) {
    std::string out;
    for (const std::string_view w : words) {
        if (!out.empty())
            out += ", ";
        out += w;
    }
    return out;
}

} // namespace zrelay
