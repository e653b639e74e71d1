// libFuzzer target: the configuration loader on any text. A config, or a config_error naming
// the problem; anything else (another exception, a crash, a sanitizer report) is a bug.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config.hpp"
#include "errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        const zrelay::config cfg = zrelay::parse_config(text, "fuzz.yaml");
        // What it accepted must print back as YAML it accepts again, unchanged.
        if (zrelay::parse_config(zrelay::to_yaml(cfg), "again.yaml") != cfg)
            std::abort();
    } catch (const zrelay::config_error &) {
    }
    return 0;
}
