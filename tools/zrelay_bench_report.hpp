// What `zrelay bench` measured, and its summary as text or JSON on stdout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zrelay_latency.hpp"

namespace zrelay::tool {

struct publisher_figures {
    std::uint64_t sent = 0;
    std::int64_t first_ns = 0; // steady_clock of the first and last measured send
    std::int64_t last_ns = 0;
};

struct subscriber_figures {
    std::uint64_t expected = 0;   // what its publishers sent
    std::uint64_t received = 0;   // distinct measured messages
    std::uint64_t duplicated = 0; // a sequence received again
    std::uint64_t reordered = 0;  // arrived after a later one of its publisher
    std::uint64_t other = 0;      // on the topic but not this run's (another producer's)
    std::int64_t last_ns = 0;     // steady_clock of the last measured receive
    bool timed_out = false;       // stopped after --timeout without a message
    [[nodiscard]] std::uint64_t lost() const noexcept {
        return expected > received ? expected - received : 0;
    }
};

struct bench_figures {
    std::string to;
    std::string from;
    std::string topic;
    std::size_t payload_bytes = 0;
    std::size_t message_bytes = 0; // the DataMessage as published, before the relay's stamp
    std::uint64_t count = 0;       // per publisher, as asked
    double rate = 0;               // per publisher, as asked
    bool interrupted = false;
    std::vector<publisher_figures> publishers;
    std::vector<subscriber_figures> subscribers;
    latency_histogram latency; // every subscriber's measured messages

    [[nodiscard]] bool ok() const noexcept;
};

// The summary: text for people, or one JSON object.
[[nodiscard]] std::string bench_summary_text(const bench_figures &figures);
[[nodiscard]] std::string bench_summary_json(const bench_figures &figures);

} // namespace zrelay::tool
