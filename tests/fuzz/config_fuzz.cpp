// libFuzzer target: the configuration loader on any text. A config, or a config_error naming
// the problem; anything else (another exception, a crash, a sanitizer report) is a bug.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "config.hpp"
#include "errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    std::optional<zrelay::config> cfg;
    try {
        cfg = zrelay::parse_config(text, "fuzz.yaml");
    } catch (const zrelay::config_error &) {
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
