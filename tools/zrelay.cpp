// zrelay: the client tool for zrelayd. `send` pushes DataMessages into a relay, `sub` prints what
// a relay publishes and checks its sequence stamps for gaps, `stats` shows its metrics with
// rates, `bench` measures its throughput, latency and loss. The command line is here; each
// subcommand lives in its own zrelay_<name>.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <zmq.hpp>

#include "bench_message.hpp"
#include "config.hpp"
#include "version.hpp"
#include "zrelay_bench.hpp"
#include "zrelay_common.hpp"
#include "zrelay_help.hpp"
#include "zrelay_send.hpp"
#include "zrelay_stats.hpp"
#include "zrelay_sub.hpp"

namespace zrelay::tool {

namespace {

// A number option's value: finite, within [low, high]. CLI11's Range and NonNegativeNumber compare,
// and every comparison with nan is false, so they let `nan` through; NonNegativeNumber also
// takes `inf` and names DBL_MAX in full when it refuses.
CLI::Validator number_in(double low, double high = std::numeric_limits<double>::max()) {
    return {[low, high](std::string &text) {
                double value = 0;
                if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value))
                    return fmt::format("{} is not a finite number", text);
                if (value < low)
                    return fmt::format("{} is less than {}", text, low);
                if (value > high)
                    return fmt::format("{} is more than {}", text, high);
                return std::string();
            },
            "", "NUMBER_IN"};
}

// Where each subcommand goes without an option naming it: the environment variable, else what
// zrelayd binds (and listens on) with its embedded configuration, so that `zrelay sub` just works
// against a local relay.
struct endpoint_default {
    std::string_view option; // "--to"
    const char *variable;    // "ZRELAY_INGRESS"
    std::string value;       // "tcp://127.0.0.1:5555"
};

endpoint_default ingress_default() {
    return {"--to", "ZRELAY_INGRESS", config{}.ingress.bind.front()};
}
endpoint_default egress_default() {
    return {"--from", "ZRELAY_EGRESS", config{}.egress.bind.front()};
}
endpoint_default replay_default() {
    return {"--replay", "ZRELAY_REPLAY", config{}.replay.bind.front()};
}
endpoint_default metrics_default() {
    return {"--metrics", "ZRELAY_METRICS", "http://" + config{}.metrics.listen + "/metrics"};
}

std::string default_text(const endpoint_default &d) {
    return fmt::format("(default: ${}, else {}, the local zrelayd's default)", d.variable, d.value);
}

// An endpoint option of `command`, named as `d` says: its help is `what`, then the default.
CLI::Option *add_endpoint(CLI::App *command, std::string &value, const endpoint_default &d,
                          std::string_view what) {
    return command->add_option(std::string(d.option), value,
                               fmt::format("{} {}", what, default_text(d)));
}

// Fills `value` when `option` was not given: from the environment variable when it is set and
// not empty, else with the default. Returns what to call the value's source in an error.
std::string resolve(const CLI::Option *option, const endpoint_default &d, std::string &value) {
    if (option->count() > 0)
        return std::string(d.option);
    const char *set = std::getenv(d.variable); // NOLINT(concurrency-mt-unsafe): before any thread
    if (set != nullptr && *set != '\0') {
        value = set;
        return std::string("$") + d.variable;
    }
    value = d.value;
    return std::string(d.option);
}

// The endpoint options, to resolve once parsed (CLI11 cannot say where a value came from).
struct endpoint_options {
    CLI::Option *to = nullptr;
    CLI::Option *from = nullptr;
    CLI::Option *replay = nullptr;
    CLI::Option *metrics = nullptr;
    CLI::Option *bench_to = nullptr;
    CLI::Option *bench_from = nullptr;
};

constexpr std::string_view send_examples = R"(Examples:
  zrelay send --topic greetings hello world
  some-command | zrelay send --topic logs -
  zrelay send --topic images --file cat.png -H type=image/png -H from=cam1
  zrelay send --to tcp://10.0.0.7:5555 --count 1000 --rate 100 --size 256)";

constexpr std::string_view sub_examples = R"(Examples:
  zrelay sub --topic greetings
  zrelay sub --raw --topic logs | grep ERROR
  zrelay sub --json --count 10 --idle-timeout 5
  zrelay sub --timestamps --topic orders
  zrelay sub --topic '$zrelay/health/'
  zrelay sub --recover --from tcp://10.0.0.7:5556 --replay tcp://10.0.0.7:5557)";

constexpr std::string_view bench_examples = R"(Examples:
  zrelay bench
  zrelay bench --pub 2 --sub 4 --count 200000 --size 256
  zrelay bench --rate 5000 --count 50000 --json > figures.json
  zrelay bench --to tcp://10.0.0.7:5555 --from tcp://10.0.0.7:5556)";

constexpr std::string_view stats_examples = R"(Examples:
  zrelay stats
  zrelay stats --once --interval 5
  ZRELAY_METRICS=http://10.0.0.7:9464 zrelay stats)";

void add_send(CLI::App &app, send_options &o, endpoint_options &e) {
    auto *send = app.add_subcommand(
        "send", "Push DataMessages into a relay's ingress: one per TEXT (all of them --count "
                "times over), one per stdin line with '-', or --count generated ones whose "
                "content is their index 0..N-1. Exit 69 if the relay takes none within --timeout");
    send->footer(std::string(send_examples));
    e.to = add_endpoint(send, o.to, ingress_default(),
                        "The relay's ingress endpoint, tcp:// or ipc://");
    send->add_option("--topic", o.topic, "The messages' topic")->capture_default_str();
    send->add_option("--count", o.count,
                     "TEXTs: send them this many times over; none: how many "
                     "messages to generate (default 1)")
        ->check(CLI::PositiveNumber);
    send->add_option("--rate", o.rate,
                     "Messages per second handed to zmq (0: as fast as the relay's socket takes "
                     "them). The summary's msg/s counts messages taken off this socket's queue "
                     "by the relay, not what subscribers received: see zrelay bench for that")
        ->check(number_in(0))
        ->capture_default_str();
    auto *size = send->add_option("--size", o.size, "Bytes of payload in each message")
                     ->check(CLI::Range(std::size_t{0}, std::size_t{256} << 20))
                     ->capture_default_str();
    send->add_option("--file", o.file,
                     "Send the file's bytes, exactly (binary is fine), as every message's payload "
                     "(the bytes field; the content is the TEXT's or stdin line's, else empty)")
        ->excludes(size);
    send->add_option("-H,--header", o.headers,
                     "A header KEY=VALUE in every message (repeatable; KEY not empty, each KEY "
                     "once)");
    send->add_option("--timeout", o.timeout_ms,
                     "Milliseconds to wait for the relay to take a message, and for the last "
                     "ones to be delivered at exit (0: forever)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{std::numeric_limits<int>::max()}))
        ->capture_default_str();
    send->add_option("text", o.texts, "Message contents; '-' reads stdin, one message a line");
}

void add_sub(CLI::App &app, sub_options &o, endpoint_options &e) {
    auto *sub = app.add_subcommand(
        "sub", "Print what a relay publishes, one message a line (text: '<topic> #<sequence> "
               "<content>'), report gaps in its per-topic sequences on stderr, and print a "
               "summary on SIGINT/SIGTERM, after --count messages or after --idle-timeout. "
               "--json lines carry topic, content, timestamp, payload (base64) and "
               "payload_size, headers, relay_sequence, relay_received_ns and relay_instance (16 "
               "hex digits). The relay's own topics ($zrelay/: health canaries, drop notices) "
               "show only with --show-internal or a --topic starting with '$'");
    sub->footer(std::string(sub_examples));
    e.from = add_endpoint(sub, o.from, egress_default(),
                          "The relay's egress endpoint, tcp:// or ipc://");
    sub->add_option("--topic", o.topics, "Subscribe to this topic prefix (repeatable; none: all)");
    auto *json =
        sub->add_flag("--json", o.json, "One JSON object per line; the summary also as JSON");
    auto *raw = sub->add_flag("--raw", o.raw,
                              "Print each message's content alone, as it is (no escaping), one "
                              "a line: for pipes. Gaps and the summary still go to stderr")
                    ->excludes(json);
    sub->add_flag("--timestamps", o.timestamps,
                  "Start each text line with the producer's timestamp and the relay's receive "
                  "time, ISO 8601 UTC with milliseconds ('-' for a message without one)")
        ->excludes(json)
        ->excludes(raw);
    sub->add_option("--count", o.count,
                    "Stop after this many messages (with --recover or --snapshot: printed ones, "
                    "replayed included; 0: never)")
        ->capture_default_str();
    sub->add_option("--idle-timeout", o.idle_timeout_s,
                    "Stop, print the summary and exit 0 once this many seconds pass without a "
                    "message (since the start, or the last message)")
        ->type_name("SECONDS")
        ->check(CLI::Range(0.001, 365.0 * 24 * 3600).description("")); // its bound: a year
    sub->add_flag("--show-internal", o.show_internal,
                  "Also print the relay's own topics, under $zrelay/ (health canaries, drop "
                  "notices), which a subscription to all topics otherwise hides");
    sub->add_flag("-q,--quiet", o.quiet, "Print no messages: only gaps and the summary");
    sub->add_flag("--recover", o.recover,
                  "On a gap, ask the relay's replay endpoint for the missing messages and print "
                  "them in order before going on (live ones are held meanwhile); report per "
                  "topic what was recovered and what was lost (evicted, or the relay restarted)");
    sub->add_flag("--snapshot", o.snapshot,
                  "Start with the last value of every topic under the subscribed prefixes, then "
                  "the live messages newer than it: none twice, none missing at the seam");
    e.replay =
        add_endpoint(sub, o.replay, replay_default(),
                     "The relay's replay endpoint, for --recover and --snapshot, tcp:// or ipc://");
    sub->add_option("--replay-timeout", o.replay_timeout_s,
                    "Seconds the replay endpoint may stay silent while a request is out; then "
                    "what was asked for counts as lost and live messages go on")
        ->check(CLI::Range(1U, 3600U))
        ->capture_default_str();
}

void add_stats(CLI::App &app, stats_options &o, endpoint_options &e) {
    auto *stats = app.add_subcommand(
        "stats", "Show a relay's zrelay_* metrics, with a rate per second for counters, "
                 "refreshed every --interval");
    stats->footer(std::string(stats_examples));
    e.metrics = add_endpoint(stats, o.url, metrics_default(),
                             "The metrics URL, http://host:port[/metrics]");
    stats->add_option("--interval", o.interval, "Seconds between samples, 0.01 to 86400")
        ->check(number_in(0.01, 86400))
        ->capture_default_str();
    stats->add_flag("--once", o.once, "Take two samples --interval apart, print one screen, exit");
}

void add_bench(CLI::App &app, bench_options &o, endpoint_options &e) {
    auto *bench = app.add_subcommand(
        "bench",
        "Measure a running relay: --pub publishers push --count messages each into its ingress "
        "and --sub subscribers, each getting all of them, read them from its egress; every "
        "publisher and subscriber is a thread with its own socket. Before the run each "
        "subscriber must have had a warm-up message from every publisher on --topic (proof that "
        "its subscription is in effect; warm-ups are not counted). Prints a progress line on "
        "stderr and a summary on stdout: the rate the publishers offered (messages zmq took), "
        "the throughput delivered to each subscriber and in all, from the first send to the last "
        "receive, latency percentiles from send to receive (a steady-clock stamp in the payload, "
        "within 1%), and what was lost, duplicated or reordered (checked per publisher by the "
        "stamp's sequence). A subscriber stops once the last message of every publisher came, "
        "or after --timeout without one. Exit 0 only when every subscriber got every message "
        "once and in order, 1 when not (or interrupted), 69 when the relay cannot be reached or "
        "stops taking messages");
    bench->footer(std::string(bench_examples));
    e.bench_to = add_endpoint(bench, o.to, ingress_default(),
                              "The relay's ingress endpoint, tcp:// or ipc://");
    e.bench_from = add_endpoint(bench, o.from, egress_default(),
                                "The relay's egress endpoint, tcp:// or ipc://");
    bench->add_option("--pub", o.publishers, "Publishers, each a thread with a PUSH socket")
        ->check(CLI::Range(1U, 1024U))
        ->capture_default_str();
    bench
        ->add_option("--sub", o.subscribers,
                     "Subscribers, each a thread with a SUB socket; each gets every message")
        ->check(CLI::Range(1U, 1024U))
        ->capture_default_str();
    bench
        ->add_option("--count", o.count,
                     "Measured messages per publisher (each subscriber expects --pub x --count)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    bench
        ->add_option("--size", o.size,
                     "Payload bytes per message, at least 24: the stamp (run, publisher, "
                     "sequence, send time) comes first. The DataMessage on the wire is the "
                     "payload plus the topic and 2-6 bytes of field headers")
        ->check(CLI::Range(sizeof(bench::stamp), std::size_t{256} << 20))
        ->capture_default_str();
    bench->add_option("--rate", o.rate, "Messages per second per publisher (0: flat out)")
        ->check(number_in(0))
        ->capture_default_str();
    bench->add_option("--topic", o.topic, "The messages' topic, and the subscriptions'")
        ->capture_default_str();
    bench
        ->add_option("--timeout", o.timeout_ms,
                     "Milliseconds to wait for the relay: for every subscriber to be proven "
                     "subscribed, for a send to be taken, and for the next message at a "
                     "subscriber before the rest count as lost")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{std::numeric_limits<int>::max()}))
        ->capture_default_str();
    bench->add_flag("--json", o.json, "The summary as one JSON object");
}

// "send, sub or stats"
std::string subcommand_names(const CLI::App &app) {
    std::vector<std::string> names;
    for (const CLI::App *sub : app.get_subcommands({}))
        names.push_back(sub->get_name());
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
}

int run(int argc, char **argv) {
    CLI::App app{"zrelay: send to, subscribe to, watch and measure a zrelayd relay", "zrelay"};
    app.formatter(std::make_shared<help_formatter>()); // before the subcommands: they inherit it
    app.set_version_flag("-V,--version", "zrelay " + std::string(version));
    app.require_subcommand(0, 1);
    send_options send;
    sub_options sub;
    stats_options stats;
    bench_options bench;
    endpoint_options endpoints;
    add_send(app, send, endpoints);
    add_sub(app, sub, endpoints);
    add_stats(app, stats, endpoints);
    add_bench(app, bench, endpoints);
    // A word that is not a subcommand (the tool's options all start with '-'): CLI11 would only
    // say that a subcommand is required.
    if (argc > 1 && argv[1][0] != '-') {
        const std::string word = argv[1];
        const auto subs = std::as_const(app).get_subcommands({});
        if (std::none_of(subs.begin(), subs.end(),
                         [&](const CLI::App *s) { return s->check_name(word); })) {
            std::cerr << fmt::format("zrelay: unknown subcommand '{}' (expected {})\nRun with "
                                     "--help for more information.\n",
                                     word, subcommand_names(app));
            return exit_usage;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &) {
        std::cout << app.help();
        return exit_ok;
    } catch (const CLI::CallForAllHelp &) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        return exit_ok;
    } catch (const CLI::CallForVersion &) {
        std::cout << app.version() << '\n';
        return exit_ok;
    } catch (const CLI::ParseError &e) {
        // CLI11's own exit codes are its error numbers; sysexits says usage is 64.
        std::cerr << "zrelay: " << e.what() << "\nRun with --help for more information.\n";
        return exit_usage;
    }
    if (app.get_subcommands().empty()) {
        // Nothing to do: what there is to do, on stderr (stdout may be a pipe expecting data).
        std::cerr << app.help();
        return exit_usage;
    }
    if (app.got_subcommand("send")) {
        send.to_from = resolve(endpoints.to, ingress_default(), send.to);
        send.relay_default_max_bytes = config{}.ingress.max_message_bytes;
        return run_send(send);
    }
    if (app.got_subcommand("sub")) {
        sub.from_from = resolve(endpoints.from, egress_default(), sub.from);
        sub.replay_from = resolve(endpoints.replay, replay_default(), sub.replay);
        return run_sub(sub);
    }
    if (app.got_subcommand("bench")) {
        bench.to_from = resolve(endpoints.bench_to, ingress_default(), bench.to);
        bench.from_from = resolve(endpoints.bench_from, egress_default(), bench.from);
        return run_bench(bench);
    }
    stats.url_from = resolve(endpoints.metrics, metrics_default(), stats.url);
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
