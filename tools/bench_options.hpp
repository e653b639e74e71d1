// bench_options: the load options both bench drivers take (what to send, how fast, how long to
// wait), declared once so that bench_driver and nats_bench_driver cannot drift apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iostream>

#include <CLI/CLI.hpp>

#include "bench_run.hpp"

namespace bench {

struct load_options {
    std::uint64_t count = 100000; // measured messages per producer
    std::size_t size = 64;
    std::uint32_t producers = 1;
    double rate = 0; // over all producers; 0 = flat out
    std::uint64_t warmup = 1000;
    int idle_ms = 5000;

    // `producers_help` says what one producer is for this driver.
    void add_to(CLI::App &app, const char *producers_help) {
        app.add_option("--count", count, "measured messages per producer")->capture_default_str();
        app.add_option("--size", size, "bytes per DataMessage (>= 33)")->capture_default_str();
        app.add_option("--producers", producers, producers_help)->capture_default_str();
        app.add_option("--rate", rate, "offered messages/s over all producers; 0 = flat out")
            ->capture_default_str();
        app.add_option("--warmup", warmup, "unmeasured messages per producer first")
            ->capture_default_str();
        app.add_option("--idle-ms", idle_ms, "give up when nothing arrives for this long")
            ->capture_default_str();
    }

    // The measured run's shape, starting now.
    [[nodiscard]] run_shape shape_from_now() const {
        return {size, producers, count, rate, now_ns(), std::vector<std::uint64_t>(producers, 0)};
    }

    // False, saying why on stderr, if the options describe no load.
    [[nodiscard]] bool valid(const char *program) const {
        if (producers != 0 && count != 0 && producers <= 65535) // the stamp's u16 producer
            return true;
        std::cerr << program << ": --producers must be in 1..65535 and --count > 0\n";
        return false;
    }
};

} // namespace bench
