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

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "config.hpp"
#include "envelope.hpp"
#include "errors.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "relay.hpp"
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

void log_totals(const char *what, const metrics_snapshot &s) {
    spdlog::info("{}: received {}, published {}, invalid {}", what, s.received, s.published,
                 s.invalid_total());
}

int serve(const config &cfg) {
    signal_watcher signals; // before any thread starts, so every thread inherits the mask
    install_protobuf_log_handler();

    relay relay(cfg);
    std::unique_ptr<metrics_server> metrics;
    if (!cfg.metrics.listen.empty())
        metrics = std::make_unique<metrics_server>(
            cfg.metrics.listen, [&relay] { return relay.snapshot(); },
            [&relay] { return relay.healthy(); });

    relay.start();
    spdlog::info("zrelayd {} ready: ingress {}, egress {}, workers {}, metrics {}", version,
                 fmt::join(relay.ingress_endpoints(), " "),
                 fmt::join(relay.egress_endpoints(), " "), cfg.workers,
                 cfg.metrics.listen.empty() ? "off" : "http://" + cfg.metrics.listen);

    // Run until a signal, or until a thread fails.
    const auto woke =
        wait_readable({signals.fd(), relay.stopped_fd()}, std::chrono::milliseconds(-1));
    if (woke == 1 || relay.failure()) {
        relay.abort();
        relay.join();
        spdlog::critical("relay failed: {}", relay.failure().value_or("a thread stopped"));
        return exit_internal;
    }
    const int sig = signals.take().value_or(SIGTERM);
    const auto drain_start = std::chrono::steady_clock::now();
    const auto deadline = drain_start + cfg.shutdown.drain_timeout;
    spdlog::info("{} received: draining (up to {} ms)", signal_name(sig),
                 cfg.shutdown.drain_timeout.count());
    relay.request_drain(deadline);

    // A second signal means "now": stop waiting for slow subscribers.
    bool drained = false;
    while (!(drained = relay.wait_until(std::chrono::steady_clock::now()))) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        const auto w = wait_readable({signals.fd(), relay.stopped_fd()}, left);
        if (w == 0) {
            spdlog::warn("{} received again: stopping without finishing the drain",
                         signal_name(signals.take().value_or(SIGTERM)));
            break;
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
        spdlog::error("drain incomplete after {} ms (drain_timeout_ms {}): {} received messages "
                      "were not published",
                      took.count(), cfg.shutdown.drain_timeout.count(), relay.lost());
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
        const config cfg =
            cli.options.config_path ? load_config_file(*cli.options.config_path) : default_config();
        if (cli.options.check_config) {
            std::cout << to_yaml(cfg);
            return exit_ok;
        }
        setup_logging(cfg.log, cli.options.log_level);
        return serve(cfg);
    } catch (const usage_error &e) {
        std::cerr << "zrelayd: " << e.what() << "\nRun with --help for usage.\n";
        return exit_usage;
    } catch (const config_error &e) {
        std::cerr << "zrelayd: configuration error: " << e.what() << '\n';
        return exit_config;
    } catch (const endpoint_error &e) {
        spdlog::critical("{}", e.what());
        return exit_unavailable;
    } catch (const std::exception &e) {
        spdlog::critical("internal error: {}", e.what());
        return exit_internal;
    }
}
