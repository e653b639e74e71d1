// queue_bench: our ypipe against boost::lockfree::spsc_queue and moodycamel::ReaderWriterQueue.
//
// Two measures, each for 8-byte and 64-byte items:
//  - throughput: one thread writes `count` items as fast as it can, another reads them; the
//    figure is items per second from the first write to the last read;
//  - latency: two queues and one item in flight (ping-pong); the figure is the median round trip.
// Both threads spin (no sleeping) so the figures are the queues', not the scheduler's. Variants
// run interleaved, one round each in turn, so a noisy neighbour hurts all of them alike; the
// figures printed are medians over the rounds, with each variant's ratio to ypipe flushed per 64.
//
// Run by hand on an idle machine, never in CI: `queue_bench [--rounds N] [--quick]`.
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <readerwriterqueue/readerwriterqueue.h>
#include <string>
#include <thread>
#include <vector>

#include "channel.hpp"
#include "ypipe.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

template <std::size_t Bytes>
struct item {
    std::array<std::uint64_t, Bytes / 8> words{};
    item() = default;
    explicit item(std::uint64_t v) { words.fill(v); }
    [[nodiscard]] std::uint64_t value() const { return words[0]; }
};

constexpr std::size_t bounded_capacity = 4096;

// Uniform adaptors: push() may fail when a bounded queue is full; pop() fails when empty.
template <typename T, std::size_t FlushEvery>
struct ypipe_adaptor {
    zrelay::ypipe<T, 256> pipe;
    std::size_t unflushed = 0;
    bool push(const T &v) {
        pipe.write(v, false);
        if (++unflushed == FlushEvery) {
            pipe.flush();
            unflushed = 0;
        }
        return true;
    }
    void finish() { pipe.flush(); }
    bool pop(T &out) {
        // has_data() first: a spinning reader must not mark itself asleep on every empty look.
        if (!pipe.has_data())
            return false;
        out = *pipe.read();
        return true;
    }
};

template <typename T>
struct boost_adaptor {
    boost::lockfree::spsc_queue<T, boost::lockfree::capacity<bounded_capacity>> queue;
    bool push(const T &v) { return queue.push(v); }
    void finish() {}
    bool pop(T &out) { return queue.pop(out); }
};

template <typename T>
struct moodycamel_adaptor {
    moodycamel::ReaderWriterQueue<T> queue{bounded_capacity};
    // try_enqueue never allocates, so this is a bounded queue like the boost one.
    bool push(const T &v) { return queue.try_enqueue(v); }
    void finish() {}
    bool pop(T &out) { return queue.try_dequeue(out); }
};

template <typename Q, typename T>
double throughput_run(std::size_t count) {
    auto q = std::make_unique<Q>();
    std::atomic<bool> go{false};
    std::uint64_t checksum = 0;
    clock_type::time_point end;
    std::thread reader([&] {
        while (!go.load(std::memory_order_acquire)) {
        }
        T v;
        for (std::size_t i = 0; i < count; ++i) {
            while (!q->pop(v))
                zrelay::cpu_relax();
            checksum += v.value();
        }
        end = clock_type::now();
    });
    const auto start = clock_type::now();
    go.store(true, std::memory_order_release);
    for (std::size_t i = 0; i < count; ++i) {
        const T v(i);
        while (!q->push(v))
            zrelay::cpu_relax();
    }
    q->finish();
    reader.join();
    const std::uint64_t expected = count * (count - 1) / 2;
    if (checksum != expected) {
        (void)std::fprintf(
            stderr, "queue_bench: lost or corrupted items (checksum %llu, want %llu)\n",
            static_cast<unsigned long long>(checksum), static_cast<unsigned long long>(expected));
        std::abort(); // a broken queue: no figure is worth printing
    }
    return static_cast<double>(count) / std::chrono::duration<double>(end - start).count();
}

// Median round trip in nanoseconds over `trips` ping-pongs.
template <typename Q, typename T>
double latency_run(std::size_t trips) {
    auto ping = std::make_unique<Q>();
    auto pong = std::make_unique<Q>();
    std::thread echo([&] {
        T v;
        for (std::size_t i = 0; i < trips; ++i) {
            while (!ping->pop(v))
                zrelay::cpu_relax();
            while (!pong->push(v))
                zrelay::cpu_relax();
            pong->finish();
        }
    });
    std::vector<double> rtt;
    rtt.reserve(trips);
    T v;
    for (std::size_t i = 0; i < trips; ++i) {
        const auto t0 = clock_type::now();
        ping->push(T(i));
        ping->finish();
        while (!pong->pop(v))
            zrelay::cpu_relax();
        rtt.push_back(std::chrono::duration<double, std::nano>(clock_type::now() - t0).count());
    }
    echo.join();
    std::nth_element(rtt.begin(), rtt.begin() + static_cast<std::ptrdiff_t>(rtt.size() / 2),
                     rtt.end());
    return rtt[rtt.size() / 2];
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 != 0 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct variant {
    std::string name;
    std::function<double()> run;
    std::vector<double> samples;
};

template <typename T>
std::vector<variant> throughput_variants(std::size_t count) {
    return {
        {"ypipe flush/64", [=] { return throughput_run<ypipe_adaptor<T, 64>, T>(count); }, {}},
        {"ypipe flush/1", [=] { return throughput_run<ypipe_adaptor<T, 1>, T>(count); }, {}},
        {"boost spsc_queue", [=] { return throughput_run<boost_adaptor<T>, T>(count); }, {}},
        {"moodycamel RWQ", [=] { return throughput_run<moodycamel_adaptor<T>, T>(count); }, {}},
    };
}

template <typename T>
std::vector<variant> latency_variants(std::size_t trips) {
    return {
        {"ypipe flush/1", [=] { return latency_run<ypipe_adaptor<T, 1>, T>(trips); }, {}},
        {"boost spsc_queue", [=] { return latency_run<boost_adaptor<T>, T>(trips); }, {}},
        {"moodycamel RWQ", [=] { return latency_run<moodycamel_adaptor<T>, T>(trips); }, {}},
    };
}

void run_interleaved(std::vector<variant> &variants, int rounds) {
    for (int r = 0; r < rounds; ++r)
        for (auto &v : variants)
            v.samples.push_back(v.run());
}

void report(const char *title, const char *unit, std::vector<variant> &variants, double scale,
            bool higher_is_better) {
    std::printf("\n%s\n  %-18s %12s %12s %12s %8s\n", title, "variant", "median", "min", "max",
                "ratio");
    const double base = median(variants.front().samples);
    for (auto &v : variants) {
        const double m = median(v.samples);
        const auto [lo, hi] = std::minmax_element(v.samples.begin(), v.samples.end());
        const double ratio = higher_is_better ? m / base : base / m;
        std::printf("  %-18s %10.2f%-2s %10.2f%-2s %10.2f%-2s %7.2fx\n", v.name.c_str(), m / scale,
                    unit, *lo / scale, unit, *hi / scale, unit, ratio);
    }
}

template <typename T>
void bench(std::size_t count, std::size_t trips, int rounds) {
    char title[160];
    auto tv = throughput_variants<T>(count);
    run_interleaved(tv, rounds);
    (void)std::snprintf(title, sizeof title,
                        "throughput, %zu-byte items, %zu items/round, %d rounds (M items/s; ratio: "
                        "faster than the first row > 1)",
                        sizeof(T), count, rounds);
    report(title, "M", tv, 1e6, true);

    auto lv = latency_variants<T>(trips);
    run_interleaved(lv, rounds);
    (void)std::snprintf(
        title, sizeof title,
        "ping-pong round trip, %zu-byte items, %zu trips/round, %d rounds (median ns; "
        "ratio: faster than the first row > 1)",
        sizeof(T), trips, rounds);
    report(title, "ns", lv, 1.0, false);
}

} // namespace

int main(int argc, char **argv) {
    int rounds = 5;
    std::size_t count = 5'000'000;
    std::size_t trips = 200'000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            count = 200'000;
            trips = 20'000;
            rounds = 3;
        } else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = std::max(1, static_cast<int>(std::strtol(argv[++i], nullptr, 10)));
        } else {
            (void)std::fprintf(stderr, "usage: queue_bench [--quick] [--rounds N]\n");
            return 64;
        }
    }
    std::printf("queue_bench: %u hardware threads; both threads spin, nothing sleeps\n",
                std::thread::hardware_concurrency());
    bench<item<8>>(count, trips, rounds);
    bench<item<64>>(count, trips, rounds);
    return 0;
}
