// Command-line parsing. Only cli.cpp sees CLI11.
#pragma once

#include <optional>
#include <string>

namespace zrelay {

struct cli_options {
    // --config FILE, else (but for `healthcheck`) $ZRELAY_CONFIG; none: the embedded default.
    std::optional<std::string> config_path;
    // Where zrelayd records what it runs (run_state.hpp) and the healthcheck looks for it:
    // --runtime-dir, else $ZRELAY_RUNTIME_DIR, else systemd's $RUNTIME_DIRECTORY; none: zrelayd
    // records nothing, and the healthcheck looks in default_runtime_dir.
    std::optional<std::string> runtime_dir;
    bool check_config = false;             // --check-config: validate, print, exit
    std::optional<std::string> log_level;  // --log-level: overrides log.level
    bool healthcheck = false;              // `healthcheck`: probe a running relay, exit
    int healthcheck_timeout_ms = 2000;     // healthcheck --timeout-ms
    bool keygen = false;                   // `keygen`: make a CURVE key pair, exit
    std::optional<std::string> keygen_out; // keygen --out PREFIX: write PREFIX.key, PREFIX.pub
    bool config_reference = false;         // `config-reference`: print every key, exit
};

inline constexpr const char *default_runtime_dir = "/run/zrelay";

struct cli_result {
    cli_options options;
    // Set when the command line has been fully handled (--help, --version): exit with it.
    std::optional<int> exit_now;
};

// Parses argv, and the environment for what the command line leaves out. Prints --help/--version
// output itself; throws usage_error on a bad command line.
cli_result parse_cli(int argc, const char *const *argv);

} // namespace zrelay
