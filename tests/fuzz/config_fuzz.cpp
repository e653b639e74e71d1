// libFuzzer target: the configuration loader on any text. A config, or a config_error naming
// the problem in a message fit for a log line; anything else (another exception, a crash, a
// sanitizer report, a message that is not UTF-8 or holds a control character) is a bug.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "config.hpp"
#include "errors.hpp"

namespace {

// Whether `text` is UTF-8 with no C0 or C1 control but tab and line feed, and no DEL: what a log
// line can carry without a terminal or journald acting on it. Written apart from the loader's
// own decoder, so that it checks it rather than repeats it.
bool fit_for_a_log_line(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            if ((b < 0x20 && b != '\t' && b != '\n') || b == 0x7f)
                return false;
            ++i;
            continue;
        }
        std::size_t n = 0;
        char32_t c = 0;
        if ((b & 0xe0U) == 0xc0U) {
            n = 2;
            c = b & 0x1fU;
        } else if ((b & 0xf0U) == 0xe0U) {
            n = 3;
            c = b & 0x0fU;
        } else if ((b & 0xf8U) == 0xf0U) {
            n = 4;
            c = b & 0x07U;
        } else {
            return false;
        }
        if (i + n > text.size())
            return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto cb = static_cast<unsigned char>(text[i + k]);
            if ((cb & 0xc0U) != 0x80U)
                return false;
            c = (c << 6U) | (cb & 0x3fU);
        }
        constexpr char32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c < 0xa0)
            return false; // overlong, out of range, a surrogate, or a C1 control
        i += n;
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    std::optional<zrelay::config> cfg;
    try {
        cfg = zrelay::parse_config(text, "fuzz.yaml");
    } catch (const zrelay::config_error &e) {
        if (!fit_for_a_log_line(e.what()))
            std::abort();
        return 0;
    }
    // What it accepted must print back as YAML it accepts again (a config_error here is a bug
    // too), unchanged.
    try {
        if (zrelay::parse_config(zrelay::to_yaml(*cfg), "again.yaml") != *cfg)
            std::abort();
    } catch (const zrelay::config_error &) {
        std::abort();
    }
    return 0;
}
