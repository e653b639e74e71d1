#include "zrelay_prometheus.hpp"

#include <charconv>
#include <optional>

namespace zrelay::tool {

namespace {

constexpr std::string_view blanks = " \t";

std::string_view trim_left(std::string_view s) {
    const auto at = s.find_first_not_of(blanks);
    return at == std::string_view::npos ? std::string_view() : s.substr(at);
}

std::string_view trim(std::string_view s) {
    s = trim_left(s);
    return s.substr(0, s.find_last_not_of(blanks) + 1);
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
}

// The length of a label set "{...}" at the start of `s`, quotes and escapes inside values
// included (a value may hold '}' or '"'); nullopt if it does not close.
std::optional<std::size_t> labels_length(std::string_view s) {
    bool quoted = false;
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (quoted && s[i] == '\\')
            ++i; // the escaped character, whatever it is
        else if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == '}')
            return i + 1;
    }
    return std::nullopt;
}

// A sample value: a float, NaN, +Inf or -Inf (from_chars takes neither a leading '+' nor
// Prometheus's capitalisation of Inf, which it reads case-insensitively anyway).
std::optional<double> parse_value(std::string_view token) {
    if (token.starts_with('+'))
        token.remove_prefix(1);
    double value = 0;
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (error != std::errc() || end != token.data() + token.size())
        return std::nullopt;
    return value;
}

std::optional<metric_sample> parse_sample(std::string_view line) {
    std::size_t at = 0;
    while (at < line.size() && name_char(line[at]))
        ++at;
    if (at == 0)
        return std::nullopt;
    metric_sample sample;
    sample.name = line.substr(0, at);
    if (at < line.size() && line[at] == '{') {
        const auto length = labels_length(line.substr(at));
        if (!length)
            return std::nullopt;
        at += *length;
    }
    sample.series = line.substr(0, at);
    const std::string_view rest = trim_left(line.substr(at));
    const auto value = parse_value(rest.substr(0, rest.find_first_of(blanks))); // then a timestamp
    if (!value)
        return std::nullopt;
    sample.value = *value;
    return sample;
}

} // namespace

bool metrics_page::is_counter(const std::string &name) const {
    if (const auto found = types.find(name); found != types.end())
        return found->second == "counter";
    static constexpr std::string_view total = "_total";
    if (name.ends_with(total))
        if (const auto found = types.find(name.substr(0, name.size() - total.size()));
            found != types.end())
            return found->second == "counter";
    return false;
}

metrics_page parse_prometheus(std::string_view text) {
    metrics_page page;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = trim_left(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        if (line.starts_with("# TYPE ")) {
            line = trim_left(line.substr(7));
            const auto space = line.find_first_of(blanks);
            if (space != std::string_view::npos)
                page.types[std::string(line.substr(0, space))] =
                    std::string(trim(line.substr(space)));
        } else if (!line.empty() && line.front() != '#') {
            if (auto sample = parse_sample(line))
                page.samples.push_back(std::move(*sample));
        }
    }
    return page;
}

} // namespace zrelay::tool
