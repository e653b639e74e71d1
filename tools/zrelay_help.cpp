#include "zrelay_help.hpp"

#include <sstream>

namespace zrelay::tool {

namespace {

// The names' column: room for "--replay-timeout UINT" and the like; longer names push their
// description to the next line, as CLI11 does.
constexpr std::size_t name_column = 26;

} // namespace

std::string wrap(std::string_view text, std::size_t width) {
    std::string out;
    out.reserve(text.size() + text.size() / width + 1);
    std::size_t line_start = 0; // in `out`
    std::size_t last_space = std::string::npos;
    for (const char c : text) {
        if (c == '\n') {
            out += c;
            line_start = out.size();
            last_space = std::string::npos;
            continue;
        }
        if (c == ' ')
            last_space = out.size();
        out += c;
        if (out.size() - line_start > width && last_space != std::string::npos) {
            out[last_space] = '\n';
            line_start = last_space + 1;
            last_space = std::string::npos;
        }
    }
    return out;
}

help_formatter::help_formatter() {
    column_width(name_column);
}

std::string help_formatter::make_description(const CLI::App *app) const {
    return wrap(CLI::Formatter::make_description(app), help_width);
}

std::string help_formatter::make_subcommand(const CLI::App *sub) const {
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true),
                             wrap(sub->get_description(), help_width - name_column), name_column);
    return out.str();
}

std::string help_formatter::make_option_desc(const CLI::Option *option) const {
    return wrap(CLI::Formatter::make_option_desc(option), help_width - name_column);
}

} // namespace zrelay::tool
