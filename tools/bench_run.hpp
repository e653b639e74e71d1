// bench_run.hpp: what the relay benchmark's drivers do around their transport: pace the producers,
// judge what arrives (every measured message exactly once, in its producer's order) and print the
// figures as one JSON line. Shared by bench_driver (zmq) and nats_bench_driver so every system is
// held to the same rules and reported with the same keys.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_message.hpp"

namespace bench {

struct verdict {
    std::uint64_t received = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated_or_reordered = 0;
    std::uint64_t foreign = 0; // frames that are not a stamped DataMessage
    std::uint64_t last_ns = 0;
    std::vector<std::uint32_t> latency_ns; // capped at ~4.29 s, far past any sane figure
};

// Judges the messages one receiving thread takes. The phase flags are atomics for the thread that
// runs the phases; the verdict belongs to the receiving thread until it has stopped.
class judge {
public:
    judge(std::uint32_t producers, std::uint64_t per_producer)
        : _next(producers, 0), _per_producer(per_producer) {
        _verdict.latency_ns.reserve(producers * per_producer);
    }

    void take(const void *data, std::size_t size) {
        const std::uint64_t now = now_ns();
        const auto s = find_stamp(data, size);
        if (!s || s->producer >= _next.size()) {
            ++_verdict.foreign;
            return;
        }
        if (s->what == kind::probe) {
            _probe_seen.store(true, std::memory_order_release);
            return;
        }
        if (s->what == kind::warmup) {
            _warmups_seen.fetch_add(1, std::memory_order_release);
            return;
        }
        auto &next = _next[s->producer];
        if (s->sequence != next) {
            // A gap or a step back: either way the relay broke its contract.
            ++_verdict.duplicated_or_reordered;
            if (s->sequence < next)
                return;
        }
        next = s->sequence + 1;
        ++_verdict.received;
        _verdict.last_ns = now;
        const std::uint64_t lat = now > s->sent_ns ? now - s->sent_ns : 0;
        _verdict.latency_ns.push_back(static_cast<std::uint32_t>(
            std::min<std::uint64_t>(lat, std::numeric_limits<std::uint32_t>::max())));
    }

    // On the receiving thread: every measured message arrived.
    [[nodiscard]] bool done() const { return _verdict.received >= _next.size() * _per_producer; }

    void measuring() { _measuring.store(true, std::memory_order_release); }
    [[nodiscard]] bool is_measuring() const { return _measuring.load(std::memory_order_acquire); }
    [[nodiscard]] bool probe_seen() const { return _probe_seen.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t warmups_seen() const {
        return _warmups_seen.load(std::memory_order_acquire);
    }

    // Once the receiving thread has stopped: counts what never came, and hands over the verdict.
    verdict &finish() {
        for (const std::uint64_t next : _next)
            _verdict.lost += _per_producer > next ? _per_producer - next : 0;
        return _verdict;
    }

private:
    std::vector<std::uint64_t> _next; // next expected sequence, per producer
    std::uint64_t _per_producer;
    verdict _verdict;
    std::atomic<bool> _probe_seen{false};
    std::atomic<std::uint64_t> _warmups_seen{0};
    std::atomic<bool> _measuring{false};
};

// Before measuring: a probe from the first producer every 10 ms until one gets through
// (connections and subscriptions propagate asynchronously), then `warmups` unmeasured messages
// from each producer, waiting until all arrived. Throws if either takes too long. A Producer has
// send(kind, sequence).
template <typename Producer>
void warm_up(const judge &sink, std::vector<Producer> &sources, std::uint64_t warmups) {
    const auto probe_deadline = clock_type::now() + std::chrono::seconds(10);
    while (!sink.probe_seen()) {
        if (clock_type::now() > probe_deadline)
            throw std::runtime_error("no probe got through the relay within 10 s");
        sources.front().send(kind::probe, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto &s : sources)
        for (std::uint64_t i = 0; i < warmups; ++i)
            s.send(kind::warmup, i);
    const auto warm_deadline = clock_type::now() + std::chrono::seconds(30);
    while (sink.warmups_seen() < warmups * sources.size()) {
        if (clock_type::now() > warm_deadline)
            throw std::runtime_error("warm-up messages did not all get through within 30 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// Calls send(sequence) for `count` measured messages, flat out (rate 0) or paced: whatever the
// schedule says is due, then sleep until the next message is due. Returns how far behind its
// schedule the last message went, in ns.
template <typename Send>
std::uint64_t send_paced(std::uint64_t count, double rate, Send &&send) {
    if (rate <= 0) {
        for (std::uint64_t i = 0; i < count; ++i)
            send(i);
        return 0;
    }
    const double interval_ns = 1e9 / rate;
    const std::uint64_t start = now_ns();
    std::uint64_t i = 0;
    while (i < count) {
        const std::uint64_t now = now_ns();
        const auto due =
            static_cast<std::uint64_t>(static_cast<double>(now - start) / interval_ns) + 1;
        for (; i < std::min(due, count); ++i)
            send(i);
        if (i < count) {
            const auto next =
                start + static_cast<std::uint64_t>(static_cast<double>(i) * interval_ns);
            const std::uint64_t t = now_ns();
            if (next > t)
                std::this_thread::sleep_for(std::chrono::nanoseconds(next - t));
        }
    }
    const auto last_due =
        start + static_cast<std::uint64_t>(static_cast<double>(count - 1) * interval_ns);
    const std::uint64_t t = now_ns();
    return t > last_due ? t - last_due : 0;
}

inline double percentile_us(const std::vector<std::uint32_t> &sorted, double q) {
    if (sorted.empty())
        return 0;
    const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
    return static_cast<double>(sorted[i]) / 1000.0;
}

struct run_shape {
    std::size_t size;
    std::uint32_t producers;
    std::uint64_t per_producer;
    double rate;
    std::uint64_t start_ns;               // when the measured messages began
    std::vector<std::uint64_t> behind_ns; // per producer, from send_paced
};

// Runs each producer's measured sends on a thread of its own, at its share of run.rate, and
// notes how far each fell behind its schedule. False if one failed (said on stderr).
template <typename Producer>
bool run_producers(const char *program, std::vector<Producer> &sources, run_shape &run) {
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (std::size_t p = 0; p < sources.size(); ++p)
        threads.emplace_back([&, p] {
            try {
                run.behind_ns[p] = sources[p].run(run.per_producer,
                                                  run.rate / static_cast<double>(sources.size()));
            } catch (const std::exception &e) {
                std::cerr << program << ": producer " << p << ": " << e.what() << '\n';
                failed.store(true);
            }
        });
    for (auto &t : threads)
        t.join();
    return !failed.load();
}

// Prints the JSON line; returns whether the run passed. `transport_ok` false (a send failed, the
// transport dropped something) fails it whatever the verdict.
inline bool report(const char *program, verdict &v, const run_shape &run, bool transport_ok) {
    std::sort(v.latency_ns.begin(), v.latency_ns.end());
    const double seconds = static_cast<double>(v.last_ns - run.start_ns) / 1e9;
    const auto msgs = static_cast<double>(v.received);
    const bool ok = v.lost == 0 && v.duplicated_or_reordered == 0 && v.foreign == 0 && transport_ok;
    const std::uint64_t behind =
        run.behind_ns.empty() ? 0 : *std::max_element(run.behind_ns.begin(), run.behind_ns.end());
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << "{\"ok\": " << (ok ? "true" : "false")
        << ", \"size\": " << run.size << ", \"producers\": " << run.producers
        << ", \"count\": " << run.per_producer * run.producers << ", \"received\": " << v.received
        << ", \"lost\": " << v.lost
        << ", \"duplicated_or_reordered\": " << v.duplicated_or_reordered
        << ", \"foreign\": " << v.foreign << ", \"seconds\": " << seconds
        << ", \"msgs_per_s\": " << (seconds > 0 ? msgs / seconds : 0.0) << ", \"mb_per_s\": "
        << (seconds > 0 ? msgs * static_cast<double>(run.size) / seconds / 1e6 : 0.0)
        << ", \"rate\": " << run.rate << ", \"behind_ms\": " << static_cast<double>(behind) / 1e6
        << ", \"p50_us\": " << percentile_us(v.latency_ns, 0.50)
        << ", \"p99_us\": " << percentile_us(v.latency_ns, 0.99)
        << ", \"p999_us\": " << percentile_us(v.latency_ns, 0.999)
        << ", \"max_us\": " << percentile_us(v.latency_ns, 1.0) << "}\n";
    std::cout << out.str() << std::flush;
    if (!ok)
        std::cerr << program << ": FAILED: " << v.lost << " lost, " << v.duplicated_or_reordered
                  << " duplicated or reordered, " << v.foreign << " foreign frames\n";
    return ok;
}

} // namespace bench
