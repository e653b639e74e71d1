// zrelayd: reads the configuration, starts the relay, waits for a signal, drains, and maps every
// failure to its exit code. The work happens in relay and the stages it runs.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <poll.h>
#include <unistd.h>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "config.hpp"
#include "envelope.hpp"
#include "errors.hpp"
#include "healthcheck.hpp"
#include "keys.hpp"
#include "log_event.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
#include "notify.hpp"
#include "relay.hpp"
#include "run_state.hpp"
#include "signals.hpp"
#include "version.hpp"

namespace zrelay {
namespace {

// Waits for a readable fd among `fds` up to `timeout` (negative: forever); returns its index.
std::optional<std::size_t> wait_readable(std::initializer_list<int> fds,
                                         std::chrono::milliseconds timeout) {
    std::array<pollfd, 4> set{};
    std::size_t n = 0;
    for (const int fd : fds)
        set.at(n++) = pollfd{fd, POLLIN, 0};
    int rc = 0;
    do {
        rc = ::poll(set.data(), n, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    for (std::size_t i = 0; i < n; ++i)
        if ((set.at(i).revents & (POLLIN | POLLERR | POLLHUP)) != 0)
            return i;
    return std::nullopt;
}

const char *signal_name(int sig) {
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

std::string status_line(const char *state, const metrics_snapshot &s) {
    return fmt::format("{}: received {}, published {}, invalid {}, subscriptions {}", state,
                       s.received, s.published, s.invalid_total(), s.subscriptions);
}

// How often main wakes to tell systemd how things go: STATUS every few seconds, and WATCHDOG=1
// at half the interval systemd asked for (no less than 200 ms: each relay thread beats at least
// every idle_poll, and a tick must be long enough to see a beat). Forever without systemd.
std::chrono::milliseconds duty_tick(const service_notifier &notifier) {
    if (!notifier.enabled())
        return std::chrono::milliseconds(-1);
    auto tick = std::chrono::milliseconds(2000);
    if (const auto w = notifier.watchdog_interval())
        tick = std::min(tick, std::chrono::duration_cast<std::chrono::milliseconds>(*w / 2));
    return std::max(tick, std::chrono::milliseconds(200));
}

// One tick's duties. The watchdog ping comes from here because main is what can tell that a
// relay thread stopped turning its loop: then no ping, and systemd restarts a wedged relay.
void report(service_notifier &notifier, relay &relay, const char *state) {
    notifier.status(status_line(state, relay.snapshot()));
    if (notifier.watchdog_interval() && relay.all_threads_beating())
        notifier.watchdog();
}

// SIGHUP: re-reads the configuration file and applies what can change while running (log level
// and format, the drain timeout, the CURVE allow-lists, which are re-read even if the file is
// unchanged). Keys that need a restart are named and keep their running values; a file that
// does not load or validate, or an allow-list that cannot be read, is rejected whole and
// nothing changes.
void reload(config &running, const cli_options &options, service_notifier &notifier, relay &relay) {
    if (!options.config_path) {
        spdlog::warn("SIGHUP: running on the embedded default configuration; nothing to reload");
        return;
    }
    notifier.reloading();
    try {
        const config next = load_config_file(*options.config_path);
        const config applied = with_live_changes(running, next);
        relay.reload_allow_lists(applied);
        if (applied.log != running.log)
            reconfigure_logging(applied.log, options.log_level);
        const bool changed_live = applied != running;
        running = applied;
        const auto allowed = relay.allowed_key_counts();
        spdlog::info("reloaded {}: {}; allow-lists re-read ({} ingress, {} egress keys)",
                     *options.config_path,
                     changed_live ? "log, shutdown and allow-list settings applied"
                                  : "no settings changed",
                     allowed[0], allowed[1]);
        if (const auto restart = restart_only_changes(running, next); !restart.empty())
            spdlog::warn("reload: {} changed; they take effect only on restart, the running "
                         "values stay",
                         fmt::join(restart, ", "));
    } catch (const config_error &e) {
        for (const std::string_view problem : config_problems(e.what()))
            spdlog::error("reload rejected, running configuration unchanged: {}", problem);
    }
    notifier.ready();
}

run_state running_state(const config &cfg, const relay &relay) {
    const auto ingress = relay.ingress_endpoints();
    const auto egress = relay.egress_endpoints();
    return {::getpid(),
            relay.instance(),
            std::string(version),
            ingress.empty() ? std::string() : ingress.front(),
            egress.empty() ? std::string() : egress.front(),
            cfg.security.ingress_curve.secret_key_file,
            cfg.security.egress_curve.secret_key_file};
}

void log_totals(const char *what, const metrics_snapshot &s) {
    spdlog::info("{}", log_event(what)
                           .add("received", s.received)
                           .add("published", s.published)
                           .add("invalid", s.invalid_total())
                           .str());
}

int serve(config cfg, const cli_options &options) {
    // Before any thread starts, so every thread inherits the mask. SIGHUP reloads.
    signal_watcher signals({SIGTERM, SIGINT, SIGHUP});
    // A peer closing a socket must never kill the daemon; zmq and httplib report EPIPE instead.
    (void)std::signal(SIGPIPE, SIG_IGN);
    install_protobuf_log_handler();
    service_notifier notifier;

    enable_frame_guard(message_limits(cfg)); // before any connection is made
    relay relay(cfg);
    std::unique_ptr<metrics_server> metrics;
    if (!cfg.metrics.listen.empty())
        metrics = std::make_unique<metrics_server>(
            cfg.metrics.listen, [&relay] { return relay.snapshot(); },
            [&relay] { return relay.healthy(); },
            build_info{.version = std::string(version), .commit = std::string(commit)});

    relay.start();
    // What this process serves, for `zrelayd healthcheck`: written before READY=1 and the ready
    // line, so whoever waits for either finds it.
    std::optional<run_state_file> state;
    try {
        if (options.runtime_dir)
            state.emplace(*options.runtime_dir, running_state(cfg, relay));
    } catch (const std::runtime_error &e) {
        spdlog::critical("{} (the runtime directory, from --runtime-dir, ZRELAY_RUNTIME_DIR or "
                         "RUNTIME_DIRECTORY, must exist and be writable)",
                         e.what());
        relay.abort();
        relay.join();
        return exit_cannot_create;
    }
    spdlog::info("zrelayd {} ready: ingress {}, egress {}, workers {}, io threads {}, metrics {}, "
                 "dead letters {}, replay {}, instance {:016x}",
                 version, fmt::join(relay.ingress_endpoints(), " "),
                 fmt::join(relay.egress_endpoints(), " "), cfg.workers, cfg.io_threads,
                 cfg.metrics.listen.empty() ? "off" : "http://" + cfg.metrics.listen,
                 cfg.invalid.dead_letter.empty()
                     ? std::string("off")
                     : fmt::format("{}", fmt::join(relay.dead_letter_endpoints(), " ")),
                 relay.replay_endpoints().empty()
                     ? std::string("off")
                     : fmt::format("{}", fmt::join(relay.replay_endpoints(), " ")),
                 relay.instance());
    if (!cfg.egress.forward.empty())
        spdlog::info("forwarding every message to {} (by {})", fmt::join(cfg.egress.forward, " "),
                     cfg.egress.forward_by);
    if (!cfg.ingress.subscribe.empty())
        spdlog::info("subscribed to {} for {}", fmt::join(cfg.ingress.subscribe, " "),
                     cfg.ingress.subscribe_topics.empty()
                         ? std::string("what this relay's subscribers ask for")
                         : fmt::format("{}", fmt::join(cfg.ingress.subscribe_topics, " ")));

    // Every endpoint is bound and every thread runs: only now is the relay ready.
    notifier.ready();
    const auto tick = duty_tick(notifier);
    report(notifier, relay, "running");

    // Run until a stop signal, or until a thread fails; reload on SIGHUP.
    std::optional<std::size_t> woke;
    std::optional<int> sig;
    for (;;) {
        woke = wait_readable({signals.fd(), relay.stopped_fd()}, tick);
        if (!woke) {
            report(notifier, relay, "running");
            continue;
        }
        if (*woke != 0)
            break;
        sig = signals.take();
        if (sig == SIGHUP) {
            reload(cfg, options, notifier, relay);
            continue;
        }
        if (sig)
            break;
    }
    if (woke == 1 || relay.failure()) {
        relay.abort();
        relay.join();
        spdlog::critical("relay failed: {}", relay.failure().value_or("a thread stopped"));
        return exit_internal;
    }
    const auto drain_start = std::chrono::steady_clock::now();
    const auto deadline = drain_start + cfg.shutdown.drain_timeout;
    spdlog::info("{} received: draining (up to {} ms)", signal_name(sig.value_or(SIGTERM)),
                 cfg.shutdown.drain_timeout.count());
    notifier.stopping();
    relay.request_drain(deadline);

    // A second signal means "now": stop waiting for slow subscribers. While the drain goes on
    // publishing, ask systemd for more time than its stop timeout, up to our own deadline.
    bool drained = false;
    std::uint64_t published = relay.snapshot().published;
    const auto drain_tick = tick.count() < 0 ? std::chrono::milliseconds(1000)
                                             : std::min(tick, std::chrono::milliseconds(1000));
    while (!(drained = relay.wait_until(std::chrono::steady_clock::now()))) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        const auto w =
            wait_readable({signals.fd(), relay.stopped_fd()}, std::min(left, drain_tick));
        if (w == 0) {
            const auto again = signals.take();
            if (again == SIGHUP)
                continue; // nothing to reload into a relay that is stopping
            spdlog::warn("{} received again: stopping without finishing the drain",
                         signal_name(again.value_or(SIGTERM)));
            break;
        }
        if (!w && notifier.enabled()) {
            const std::uint64_t now_published = relay.snapshot().published;
            if (now_published != published)
                notifier.extend_timeout(std::chrono::microseconds(3 * drain_tick));
            published = now_published;
            report(notifier, relay, "draining");
        }
    }
    if (!drained)
        relay.abort();
    relay.join();
    metrics.reset();
    const metrics_snapshot totals = relay.snapshot();
    if (const auto failure = relay.failure()) {
        spdlog::critical("relay failed while draining: {}", *failure);
        return exit_internal;
    }
    if (relay.lost() != 0) {
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - drain_start);
        spdlog::error("{}", log_event("drain incomplete: received messages were not published")
                                .add("lost", relay.lost())
                                .add("took_ms", took.count())
                                .add("drain_timeout_ms", cfg.shutdown.drain_timeout.count())
                                .str());
        log_totals("stopped", totals);
        return exit_drain_incomplete;
    }
    log_totals("drained", totals);
    return exit_ok;
}

} // namespace
} // namespace zrelay

int main(int argc, char **argv) {
    using namespace zrelay;
    try {
        const cli_result cli = parse_cli(argc, argv);
        if (cli.exit_now)
            return *cli.exit_now;
        if (cli.options.keygen) {
            if (cli.options.keygen_out) {
                curve_keypair pair;
                try {
                    pair = write_keypair_files(*cli.options.keygen_out);
                } catch (const std::runtime_error &e) {
                    std::cerr << "zrelayd keygen: " << e.what() << '\n';
                    return exit_cannot_create;
                }
                std::cout << "wrote " << *cli.options.keygen_out << ".key (secret, mode 0600) and "
                          << *cli.options.keygen_out << ".pub (public: " << pair.public_key
                          << ")\n";
            } else {
                const curve_keypair pair = generate_curve_keypair();
                std::cout << public_key_file_text(pair) << secret_key_file_text(pair);
            }
            return exit_ok;
        }
        if (cli.options.config_reference) {
            std::cout << config_reference();
            return exit_ok;
        }
        const config cfg =
            cli.options.config_path ? load_config_file(*cli.options.config_path) : default_config();
        if (cli.options.healthcheck) {
            const auto timeout = std::chrono::milliseconds(cli.options.healthcheck_timeout_ms);
            const health_result health =
                cli.options.config_path
                    ? check_health(cfg, timeout)
                    : check_running_relay(cli.options.runtime_dir.value_or(default_runtime_dir),
                                          timeout);
            (health.healthy ? std::cout : std::cerr) << health.reason << '\n';
            return health.healthy ? exit_ok : exit_unhealthy;
        }
        if (cli.options.check_config) {
            check_security_files(cfg);
            std::cout << to_yaml(cfg);
            return exit_ok;
        }
        setup_logging(cfg.log, cli.options.log_level);
        return serve(cfg, cli.options);
    } catch (const usage_error &e) {
        std::cerr << "zrelayd: " << e.what() << "\nRun with --help for usage.\n";
        return exit_usage;
    } catch (const config_error &e) {
        for (const std::string_view problem : config_problems(e.what()))
            std::cerr << "zrelayd: configuration error: " << problem << '\n';
        return exit_config;
    } catch (const endpoint_error &e) {
        spdlog::critical("{}", e.what());
        return exit_unavailable;
    } catch (const std::exception &e) {
        spdlog::critical("internal error: {}", e.what());
        return exit_internal;
    }
}
