// zrelay's --help layout: CLI11's, with every description wrapped to fit 80 columns. CLI11 2.1
// (Debian 12's) prints each description on one line however long it is; later versions wrap,
// but are not packaged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace zrelay::tool {

inline constexpr std::size_t help_width = 80;

// `text` with a line break at the last space before each line would pass `width` columns (a
// word longer than that stays whole, on a line of its own); its own line breaks are kept.
[[nodiscard]] std::string wrap(std::string_view text, std::size_t width);

class help_formatter final : public CLI::Formatter {
public:
    help_formatter();

    [[nodiscard]] std::string make_description(const CLI::App *app) const override;
    [[nodiscard]] std::string make_subcommand(const CLI::App *sub) const override;
    [[nodiscard]] std::string make_option_desc(const CLI::Option *option) const override;
};

} // namespace zrelay::tool
