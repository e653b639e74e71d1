#include "cli.hpp"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "errors.hpp"
#include "version.hpp"

namespace zrelay {

namespace {

// A set, non-empty environment variable.
std::optional<std::string> environment(const char *name) {
    const char *value = std::getenv(name); // NOLINT(concurrency-mt-unsafe): main, at start
    if (value == nullptr || *value == '\0')
        return std::nullopt;
    return std::string(value);
}

} // namespace

cli_result parse_cli(int argc, const char *const *argv) {
    CLI::App app{"zrelayd: relays protobuf DataMessages from ZeroMQ PULL endpoints to XPUB "
                 "endpoints",
                 "zrelayd"};
    app.set_version_flag("-V,--version", std::string("zrelayd ") + std::string(version));

    cli_result result;
    auto &opt = result.options;
    // ZRELAY_CONFIG lets a container image name its file once (ENV) and leave the command line
    // to the operator: `podman run zrelay --log-level debug` still runs on it.
    app.add_option("-c,--config", opt.config_path,
                   "YAML configuration file (default: $ZRELAY_CONFIG if set, else the embedded "
                   "configuration)");
    app.add_option("--runtime-dir", opt.runtime_dir,
                   "Directory where zrelayd records its pid, instance and bound endpoints "
                   "(zrelayd.state) for the healthcheck (default: $ZRELAY_RUNTIME_DIR, else "
                   "systemd's $RUNTIME_DIRECTORY, else none; the healthcheck's: /run/zrelay)");
    // No CLI::ExistingFile check: an unreadable file is a configuration error (exit 78, which
    // systemd units are told not to restart on), reported by the loader with the OS reason.
    app.add_flag("--check-config", opt.check_config,
                 "Validate the configuration, print the effective configuration and exit");
    app.add_option("-l,--log-level", opt.log_level, "Log level, overriding log.level")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

    auto *health = app.add_subcommand(
        "healthcheck",
        "Push a canary through the running zrelayd recorded in the runtime directory and wait for "
        "it at the egress, stamped by that process's relay: exit 0 if it came back, 1 if not. "
        "With --config: through whatever relay serves the endpoints that file describes");
    health->fallthrough(); // --config and --log-level may follow the subcommand
    health
        ->add_option("-t,--timeout-ms", opt.healthcheck_timeout_ms,
                     "How long to wait for the canary")
        ->check(CLI::Range(1, 600000))
        ->capture_default_str();
    auto *keygen = app.add_subcommand(
        "keygen", "Make a CURVE key pair: print it, or with --out write PREFIX.key (the secret "
                  "key, mode 0600) and PREFIX.pub (the public key)");
    keygen->add_option("-o,--out", opt.keygen_out,
                       "Write PREFIX.key and PREFIX.pub (never overwriting) instead of printing");
    auto *reference = app.add_subcommand(
        "config-reference", "Print every configuration key with its default, bounds, when a "
                            "change takes effect and what it does, as a commented YAML file");
    try {
        app.parse(argc, argv);
        opt.healthcheck = health->parsed();
        opt.keygen = keygen->parsed();
        opt.config_reference = reference->parsed();
        // The healthcheck probes the running process, not a file it may not run on: only an
        // explicit --config makes it read one.
        if (!opt.config_path && !opt.healthcheck)
            opt.config_path = environment("ZRELAY_CONFIG");
        if (!opt.runtime_dir)
            opt.runtime_dir = environment("ZRELAY_RUNTIME_DIR");
        if (!opt.runtime_dir)
            if (auto systemd = environment("RUNTIME_DIRECTORY")) // a list, ':'-separated
                opt.runtime_dir = systemd->substr(0, systemd->find(':'));
    } catch (const CLI::CallForHelp &) {
        std::cout << app.help();
        result.exit_now = exit_ok;
    } catch (const CLI::CallForAllHelp &) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        result.exit_now = exit_ok;
    } catch (const CLI::CallForVersion &) {
        std::cout << app.version() << '\n';
        result.exit_now = exit_ok;
    } catch (const CLI::ParseError &e) {
        throw usage_error(e.what());
    }
    return result;
}

} // namespace zrelay
