// `zrelay bench`: N publishers and M subscribers, each a thread with its own socket, through a
// running relay; reports the throughput delivered to the subscribers, the publishers' offered
// rate, latency percentiles, and every message lost, duplicated or reordered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace zrelay::tool {

struct bench_options {
    std::string to;               // the relay's ingress (the publishers' PUSH connect)
    std::string to_from = "--to"; // where `to` came from, for errors: option or env var
    std::string from;             // the relay's egress (the subscribers' SUB connect)
    std::string from_from = "--from";
    std::string topic = "bench";
    std::uint32_t publishers = 1;
    std::uint32_t subscribers = 1;
    std::uint64_t count = 100000;    // measured messages per publisher
    std::size_t size = 128;          // payload bytes, the stamp included (as nats bench's default)
    double rate = 0;                 // messages per second per publisher; 0: flat out
    std::int64_t timeout_ms = 10000; // readiness, a send, a subscriber's silence
    bool json = false;
};

// Returns the exit code: 0 when every subscriber got every message once, in order; 1 when not
// (or interrupted). Throws tool_error for usage errors (64) and a relay that cannot be reached or
// stops taking messages (69).
int run_bench(const bench_options &options);

} // namespace zrelay::tool
