// zrelay: the client tool for zrelayd. `send` pushes DataMessages into a relay, `sub` prints what
// a relay publishes and checks its sequence stamps for gaps, `stats` shows its metrics with
// rates. The command line is here; each subcommand lives in its own zrelay_<name>.cpp.
#include <cstdint>
#include <exception>
#include <iostream>
#include <limits>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "zrelay_common.hpp"
#include "zrelay_send.hpp"
#include "zrelay_stats.hpp"
#include "zrelay_sub.hpp"

namespace zrelay::tool {

namespace {

void add_send(CLI::App &app, send_options &o) {
    auto *send = app.add_subcommand(
        "send", "Push DataMessages into a relay's ingress: one per TEXT (all of them --count "
                "times over), one per stdin line with '-', or --count generated ones whose "
                "content is their index 0..N-1. Exit 69 if the relay takes none within --timeout");
    send->add_option("--to", o.to, "The relay's ingress endpoint (tcp:// or ipc://)")->required();
    send->add_option("--topic", o.topic, "The messages' topic")->capture_default_str();
    send->add_option("--count", o.count,
                     "TEXTs: send them this many times over; none: how many "
                     "messages to generate (default 1)")
        ->check(CLI::PositiveNumber);
    send->add_option("--rate", o.rate, "Messages per second (0: as fast as the relay takes them)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    send->add_option("--size", o.size, "Bytes of payload in each message")
        ->check(CLI::Range(std::size_t{0}, std::size_t{256} << 20))
        ->capture_default_str();
    send->add_option("--timeout", o.timeout_ms,
                     "Milliseconds to wait for the relay to take a message, and for the last "
                     "ones to be delivered at exit (0: forever)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{std::numeric_limits<int>::max()}))
        ->capture_default_str();
    send->add_option("text", o.texts, "Message contents; '-' reads stdin, one message a line");
}

void add_sub(CLI::App &app, sub_options &o) {
    auto *sub = app.add_subcommand(
        "sub", "Print what a relay publishes, one message a line (text: '<topic> #<sequence> "
               "<content>'), report gaps in its per-topic sequences on stderr, and print a "
               "summary on SIGINT/SIGTERM or after --count messages. --json lines carry topic, "
               "content, timestamp, payload (base64) and payload_size, headers, relay_sequence, "
               "relay_received_ns and relay_instance (16 hex digits)");
    sub->add_option("--from", o.from, "The relay's egress endpoint (tcp:// or ipc://)")->required();
    sub->add_option("--topic", o.topics, "Subscribe to this topic prefix (repeatable; none: all)");
    sub->add_flag("--json", o.json, "One JSON object per line; the summary also as JSON");
    sub->add_option("--count", o.count,
                    "Stop after this many messages (with --recover or --snapshot: printed ones, "
                    "replayed included; 0: never)")
        ->capture_default_str();
    sub->add_flag("-q,--quiet", o.quiet, "Print no messages: only gaps and the summary");
    sub->add_flag("--recover", o.recover,
                  "On a gap, ask the relay's replay endpoint for the missing messages and print "
                  "them in order before going on (live ones are held meanwhile); report per "
                  "topic what was recovered and what was lost (evicted, or the relay restarted)");
    sub->add_flag("--snapshot", o.snapshot,
                  "Start with the last value of every topic under the subscribed prefixes, then "
                  "the live messages newer than it: none twice, none missing at the seam");
    sub->add_option("--replay", o.replay,
                    "The relay's replay endpoint, for --recover and --snapshot (tcp:// or ipc://)")
        ->capture_default_str();
    sub->add_option("--replay-timeout", o.replay_timeout_s,
                    "Seconds the replay endpoint may stay silent while a request is out; then "
                    "what was asked for counts as lost and live messages go on")
        ->check(CLI::Range(1U, 3600U))
        ->capture_default_str();
}

void add_stats(CLI::App &app, stats_options &o) {
    auto *stats = app.add_subcommand(
        "stats", "Show a relay's zrelay_* metrics, with a rate per second for counters, "
                 "refreshed every --interval");
    stats->add_option("--metrics", o.url, "The metrics URL, http://host:port[/metrics]")
        ->required();
    stats->add_option("--interval", o.interval, "Seconds between samples")
        ->check(CLI::Range(0.01, 86400.0))
        ->capture_default_str();
    stats->add_flag("--once", o.once, "Take two samples --interval apart, print one screen, exit");
}

int run(int argc, char **argv) {
    CLI::App app{"zrelay: send to, subscribe to and watch a zrelayd relay", "zrelay"};
    app.require_subcommand(1);
    send_options send;
    sub_options sub;
    stats_options stats;
    add_send(app, send);
    add_sub(app, sub);
    add_stats(app, stats);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &) {
        std::cout << app.help();
        return exit_ok;
    } catch (const CLI::CallForAllHelp &) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        return exit_ok;
    } catch (const CLI::ParseError &e) {
        // CLI11's own exit codes are its error numbers; sysexits says usage is 64.
        std::cerr << "zrelay: " << e.what() << "\nRun with --help for more information.\n";
        return exit_usage;
    }
    if (app.got_subcommand("send"))
        return run_send(send);
    if (app.got_subcommand("sub"))
        return run_sub(sub);
    return run_stats(stats);
}

} // namespace

} // namespace zrelay::tool

int main(int argc, char **argv) {
    using namespace zrelay::tool;
    using zrelay::exit_internal;
    try {
        return run(argc, argv);
    } catch (const tool_error &e) {
        std::cerr << "zrelay " << e.what() << '\n';
        return e.code();
    } catch (const zmq::error_t &e) {
        std::cerr << "zrelay: zmq: " << e.what() << '\n';
        return exit_internal;
    } catch (const std::exception &e) {
        std::cerr << "zrelay: " << e.what() << '\n';
        return exit_internal;
    }
}
