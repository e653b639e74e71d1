// relay_counters: the relay's counter blocks, one per role, by name.
//
// Each block has one writer thread (metrics.hpp), and a thread may write two: the ingress block
// is written by the thread that runs ingress (the dispatcher, or the direct path's one thread,
// whose validator counts there too), the egress block by the thread that runs egress and dead
// letters (the collector, or that same direct-path thread), each worker's block by that worker
// (its validator included), the authenticator's by the ZAP handler and the handshakes block by
// the handshake watch, the replay block by the replay server. A scrape sums them all;
// relay::all_threads_beating() reads, per thread, the beats of the blocks it writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "metrics.hpp"

namespace zrelay {

struct relay_counters {
    relay_counters(std::size_t worker_count, std::size_t forward_links = 0,
                   std::size_t subscribe_links = 0)
        : workers(worker_count), forward(forward_links), subscribe(subscribe_links) {}

    thread_counters ingress;
    thread_counters egress;
    thread_counters authenticator;
    thread_counters handshakes;
    thread_counters replay;
    std::vector<thread_counters> workers; // sized once: blocks never move
    // Per egress.forward and ingress.subscribe endpoint, in the config's order; sized once.
    std::vector<link_counters> forward;
    std::vector<link_counters> subscribe;

    template <typename F>
    void for_each(F &&f) const {
        f(ingress);
        f(egress);
        f(authenticator);
        f(handshakes);
        f(replay);
        for (const thread_counters &w : workers)
            f(w);
    }

    // Messages received and neither published nor refused: in flight while running, lost once
    // every thread has stopped.
    [[nodiscard]] std::uint64_t unaccounted() const noexcept {
        std::uint64_t received = 0;
        std::uint64_t accounted = 0;
        for_each([&](const thread_counters &c) {
            received += c.received.value();
            accounted += c.published.value();
            for (const counter &n : c.invalid)
                accounted += n.value();
        });
        return received > accounted ? received - accounted : 0;
    }
};

} // namespace zrelay
