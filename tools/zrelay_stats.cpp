#include "zrelay_stats.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include <fmt/format.h>
#include <httplib.h>

#include "zrelay_common.hpp"
#include "zrelay_prometheus.hpp"

namespace zrelay::tool {

namespace {

using clock_type = std::chrono::steady_clock;

struct parsed_url {
    std::string origin; // http://host:port, as httplib::Client takes it
    std::string path;
};

parsed_url parse_url(const std::string &url, const std::string &from) {
    static constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme))
        throw tool_error(exit_usage,
                         "stats: " + from + " " + url + ": only http:// URLs are supported");
    const auto slash = url.find('/', scheme.size());
    parsed_url parsed{url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash)};
    if (parsed.origin.size() == scheme.size())
        throw tool_error(exit_usage, "stats: " + from + " " + url + ": no host");
    if (parsed.path.empty() || parsed.path == "/")
        parsed.path = "/metrics";
    return parsed;
}

struct sample_set {
    metrics_page page;
    clock_type::time_point taken;
};

class scraper {
public:
    scraper(const std::string &url, const std::string &from)
        : _url(url), _parsed(parse_url(url, from)), _client(_parsed.origin) {
        _client.set_connection_timeout(std::chrono::seconds(2));
        _client.set_read_timeout(std::chrono::seconds(5));
    }

    // The page now; throws tool_error (unavailable) naming the URL if it cannot be had.
    sample_set fetch() {
        const auto taken = clock_type::now();
        const auto result = _client.Get(_parsed.path);
        if (!result)
            throw tool_error(exit_unavailable, fmt::format("stats: cannot reach {}: {}", _url,
                                                           httplib::to_string(result.error())));
        if (result->status != 200)
            throw tool_error(exit_unavailable,
                             fmt::format("stats: {} answered HTTP {}", _url, result->status));
        return {parse_prometheus(result->body), taken};
    }

private:
    std::string _url;
    parsed_url _parsed;
    httplib::Client _client;
};

std::string format_value(double value) {
    // Counters and most gauges are whole numbers: print them so, not as 1.2345e+06.
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
        return fmt::format("{:.0f}", value);
    return fmt::format("{:g}", value);
}

// One screen: every zrelay_* series, its value and, for a counter with an earlier sample, its
// rate per second between the two.
std::string render(const std::string &url, const sample_set &now, const sample_set *before) {
    std::unordered_map<std::string_view, double> previous;
    double seconds = 0;
    if (before != nullptr) {
        for (const metric_sample &s : before->page.samples)
            previous.emplace(s.series, s.value);
        seconds = std::chrono::duration<double>(now.taken - before->taken).count();
    }
    std::size_t width = 6;
    for (const metric_sample &s : now.page.samples)
        if (s.name.starts_with("zrelay_"))
            width = std::max(width, s.series.size());

    std::string out = fmt::format("zrelay stats: {}\n{:<{}}  {:>16}  {:>14}\n", url, "SERIES",
                                  width, "VALUE", "RATE/S");
    for (const metric_sample &s : now.page.samples) {
        if (!s.name.starts_with("zrelay_"))
            continue;
        std::string rate;
        if (now.page.is_counter(s.name)) {
            const auto found = previous.find(s.series);
            if (found == previous.end() || seconds <= 0) {
                rate = "-";
            } else {
                // A counter that went down was reset (the relay restarted): like Prometheus's
                // rate(), count from zero.
                const double delta = s.value >= found->second ? s.value - found->second : s.value;
                rate = fmt::format("{:.1f}", delta / seconds);
            }
        }
        out +=
            fmt::format("{:<{}}  {:>16}  {:>14}\n", s.series, width, format_value(s.value), rate);
    }
    return out;
}

void show(const std::string &screen, bool tty) {
    // On a terminal one screen replaces the last; into a file or pipe, screens follow each other.
    std::cout << (tty ? "\x1b[H\x1b[2J" : "") << screen << (tty ? "" : "\n") << std::flush;
}

} // namespace

int run_stats(const stats_options &options) {
    scraper source(options.url, options.url_from);
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    const auto interval = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(options.interval));

    sample_set before = source.fetch();
    if (options.once) {
        std::this_thread::sleep_until(before.taken + interval);
        const sample_set now = source.fetch();
        show(render(options.url, now, &before), tty);
        return exit_ok;
    }
    show(render(options.url, before, nullptr), tty);
    // Stopped by SIGINT/SIGTERM (their default action): nothing is left to finish.
    for (auto next = before.taken + interval;; next += interval) {
        // A scrape slower than the interval moves the schedule on rather than bunching scrapes.
        next = std::max(next, clock_type::now());
        std::this_thread::sleep_until(next);
        try {
            sample_set now = source.fetch();
            show(render(options.url, now, &before), tty);
            before = std::move(now);
        } catch (const tool_error &e) {
            // The relay may be restarting: say so, and try again at the next tick.
            std::cerr << "zrelay " << e.what() << " (retrying)\n";
        }
    }
}

} // namespace zrelay::tool
