#include "zrelay_bench_report.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "zrelay_text.hpp"

namespace zrelay::tool {

namespace {

// The measured span's start: the first measured send of any publisher (steady_clock ns).
std::int64_t first_send(const bench_figures &f) {
    std::int64_t first = std::numeric_limits<std::int64_t>::max();
    for (const publisher_figures &p : f.publishers)
        if (p.sent > 0)
            first = std::min(first, p.first_ns);
    return first == std::numeric_limits<std::int64_t>::max() ? 0 : first;
}

double seconds_between(std::int64_t from, std::int64_t to) {
    return to > from ? static_cast<double>(to - from) / 1e9 : 0.0;
}

double per_second(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

// A throughput: messages, their span, msg/s and MB/s (of payload, 10^6 bytes).
struct flow {
    std::uint64_t messages = 0;
    double seconds = 0;
    double msgs_per_s = 0;
    double mb_per_s = 0;
};

flow make_flow(std::uint64_t messages, double seconds, std::size_t payload_bytes) {
    const double rate = per_second(messages, seconds);
    return {messages, seconds, rate, rate * static_cast<double>(payload_bytes) / 1e6};
}

flow offered(const bench_figures &f, const publisher_figures &p) {
    return make_flow(p.sent, seconds_between(p.first_ns, p.last_ns), f.payload_bytes);
}

flow offered_total(const bench_figures &f) {
    std::uint64_t sent = 0;
    std::int64_t last = 0;
    for (const publisher_figures &p : f.publishers) {
        sent += p.sent;
        last = std::max(last, p.last_ns);
    }
    return make_flow(sent, seconds_between(first_send(f), last), f.payload_bytes);
}

flow delivered(const bench_figures &f, const subscriber_figures &s) {
    return make_flow(s.received, seconds_between(first_send(f), s.last_ns), f.payload_bytes);
}

flow delivered_total(const bench_figures &f) {
    std::uint64_t received = 0;
    std::int64_t last = 0;
    for (const subscriber_figures &s : f.subscribers) {
        received += s.received;
        last = std::max(last, s.last_ns);
    }
    return make_flow(received, seconds_between(first_send(f), last), f.payload_bytes);
}

struct totals {
    std::uint64_t expected = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t other = 0;
};

totals sum(const bench_figures &f) {
    totals t;
    for (const subscriber_figures &s : f.subscribers) {
        t.expected += s.expected;
        t.lost += s.lost();
        t.duplicated += s.duplicated;
        t.reordered += s.reordered;
        t.other += s.other;
    }
    return t;
}

// The JSON member's name, the text's label, and the quantile.
struct quantile {
    const char *key;
    const char *label;
    double q;
};
constexpr std::array<quantile, 4> quantiles{
    {{"p50", "p50", 0.50}, {"p90", "p90", 0.90}, {"p99", "p99", 0.99}, {"p99_9", "p99.9", 0.999}}};

double us(std::uint64_t ns) {
    return static_cast<double>(ns) / 1e3;
}

// 1234567.8 -> "1.235M", 12345 -> "12.3k"
std::string rate_text(double x) {
    if (x >= 1e6)
        return fmt::format("{:.3f}M", x / 1e6);
    if (x >= 1e3)
        return fmt::format("{:.1f}k", x / 1e3);
    return fmt::format("{:.0f}", x);
}

std::string flow_text(const flow &f) {
    return fmt::format("{} msgs in {:.3f} s, {} msg/s, {:.2f} MB/s", f.messages, f.seconds,
                       rate_text(f.msgs_per_s), f.mb_per_s);
}

std::string flow_json(const flow &f) {
    return fmt::format(R"("messages":{},"seconds":{:.6f},"msgs_per_s":{:.1f},"mb_per_s":{:.3f})",
                       f.messages, f.seconds, f.msgs_per_s, f.mb_per_s);
}

} // namespace

bool bench_figures::ok() const noexcept {
    const totals t = sum(*this);
    return !interrupted && t.lost == 0 && t.duplicated == 0 && t.reordered == 0;
}

std::string bench_summary_text(const bench_figures &f) {
    std::string out = fmt::format(
        "zrelay bench: {} publisher{} -> {}, {} subscriber{} <- {}, topic {}\n"
        "messages: {} B payload (a 24 B stamp first), {} B DataMessage on the wire; {} per "
        "publisher{}\n",
        f.publishers.size(), f.publishers.size() == 1 ? "" : "s", f.to, f.subscribers.size(),
        f.subscribers.size() == 1 ? "" : "s", f.from, one_line(f.topic), f.payload_bytes,
        f.message_bytes, f.count,
        f.rate > 0 ? fmt::format(" at {} msg/s each", rate_text(f.rate)) : ", flat out");
    out +=
        fmt::format("offered (handed to zmq by the publishers): {}\n", flow_text(offered_total(f)));
    for (std::size_t i = 0; i < f.publishers.size() && f.publishers.size() > 1; ++i)
        out += fmt::format("  publisher {}: {}\n", i + 1, flow_text(offered(f, f.publishers[i])));
    out += fmt::format("delivered (received by the subscribers, first send to last receive): {}\n",
                       flow_text(delivered_total(f)));
    for (std::size_t i = 0; i < f.subscribers.size(); ++i) {
        const subscriber_figures &s = f.subscribers[i];
        out += fmt::format("  subscriber {}: {}; lost {}, duplicated {}, reordered {}{}{}\n", i + 1,
                           flow_text(delivered(f, s)), s.lost(), s.duplicated, s.reordered,
                           s.other > 0 ? fmt::format(", {} not this run's", s.other) : "",
                           s.timed_out ? ", stopped after --timeout without a message" : "");
    }
    out += "latency (send to receive, us):";
    for (const quantile &q : quantiles)
        out += fmt::format(" {} {:.1f}", q.label, us(f.latency.percentile(q.q)));
    out += fmt::format(" max {:.1f}\n", us(f.latency.max()));
    const totals t = sum(f);
    if (f.ok())
        out += fmt::format("result: all {} messages delivered, once each, in order\n", t.expected);
    else
        out += fmt::format(
            "result: FAILED{}: {} of {} messages lost, {} duplicated, {} reordered\n",
            f.interrupted ? " (interrupted)" : "", t.lost, t.expected, t.duplicated, t.reordered);
    return out;
}

std::string bench_summary_json(const bench_figures &f) {
    std::string out = R"({"to":)";
    append_json_string(out, f.to);
    out += R"(,"from":)";
    append_json_string(out, f.from);
    out += R"(,"topic":)";
    append_json_string(out, f.topic);
    out += fmt::format(R"(,"publishers":{},"subscribers":{},"payload_bytes":{},"message_bytes":{},)"
                       R"("count_per_publisher":{},"rate_per_publisher":{},"offered":{{{},)"
                       R"("per_publisher":[)",
                       f.publishers.size(), f.subscribers.size(), f.payload_bytes, f.message_bytes,
                       f.count, f.rate, flow_json(offered_total(f)));
    for (std::size_t i = 0; i < f.publishers.size(); ++i)
        out += fmt::format("{}{{{}}}", i == 0 ? "" : ",", flow_json(offered(f, f.publishers[i])));
    out += fmt::format(R"(]}},"delivered":{{{},"per_subscriber":[)", flow_json(delivered_total(f)));
    for (std::size_t i = 0; i < f.subscribers.size(); ++i) {
        const subscriber_figures &s = f.subscribers[i];
        out += fmt::format(
            R"({}{{{},"expected":{},"lost":{},"duplicated":{},"reordered":{},"other":{},)"
            R"("timed_out":{}}})",
            i == 0 ? "" : ",", flow_json(delivered(f, s)), s.expected, s.lost(), s.duplicated,
            s.reordered, s.other, s.timed_out);
    }
    out += R"(]},"latency_us":{)";
    for (const quantile &q : quantiles)
        out += fmt::format(R"("{}":{:.3f},)", q.key, us(f.latency.percentile(q.q)));
    const totals t = sum(f);
    out += fmt::format(
        R"("max":{:.3f}}},"expected":{},"lost":{},"duplicated":{},"reordered":{},"other":{},)"
        R"("interrupted":{},"ok":{}}})",
        us(f.latency.max()), t.expected, t.lost, t.duplicated, t.reordered, t.other, f.interrupted,
        f.ok());
    out += '\n';
    return out;
}

} // namespace zrelay::tool
