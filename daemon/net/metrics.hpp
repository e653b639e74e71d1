// metrics: per-thread counters and the snapshot a scrape sums them into (ops/prometheus.hpp
// renders it, ops/metrics_server.hpp serves it).
//
// Here in net, the lowest layer with a writer: the ZAP handler and the handshake watch count
// refused handshakes (indexed by handshake_refusal.hpp's reasons, also net's). The relay's stages
// write it too and ops reads it; both sit above net, so the graph stays acyclic.
//
// Each thread_counters block has one writer thread (which may own two blocks: the direct path's
// thread writes ingress's and egress's, relay_counters.hpp), and that thread bumps a counter
// with a relaxed load and store (no read-modify-write, so no locked instruction and no cache
// line shared with another writer). The scraper sums the blocks; a relaxed load of a counter
// written by one thread is never torn and at worst a few messages stale, which is what a scrape
// means anyway.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "handshake_refusal.hpp"
#include "invalid_reason.hpp"
#include "replay_protocol.hpp"

namespace zrelay {

// The relay's sockets clients connect to: a label of zrelay_clients_connected.
enum class client_socket : unsigned char { ingress, egress, replay, dead_letter };
inline constexpr std::size_t client_socket_count = 4;
[[nodiscard]] std::string_view to_string(client_socket socket) noexcept;

class counter {
public:
    // Owner thread only.
    void add(std::uint64_t n = 1) noexcept {
        _value.store(_value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // Any thread.
    [[nodiscard]] std::uint64_t value() const noexcept {
        return _value.load(std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t> _value{0};
};

// One thread's counters, on their own cache lines so two threads' blocks never share one.
struct alignas(64) thread_counters {
    counter received;        // frames taken from PULL (a multi-part message counts once)
    counter bytes_received;  // their bytes
    counter published;       // messages sent on XPUB
    counter bytes_published; // their DataMessage bytes (the topic frame not counted)
    std::array<counter, invalid_reason_count> invalid; // indexed by invalid_reason
    // Handshakes refused, [relay_side][refusal_reason]: written by the authenticator (unknown
    // keys) and the handshake watch (the rest), each in its own block.
    std::array<std::array<counter, refusal_reason_count>, relay_side_count> auth_failures;
    counter dead_letters; // refused messages sent to the dead-letter socket
    counter notices;      // drop notices published on $zrelay/drops
    // Gaps in upstream relays' sequences (however their messages came in), and the messages
    // missing in them: written by egress.
    counter upstream_gaps;
    counter upstream_missing;
    // Replay requests answered, by the status of their ReplayEnd (replay_status), and the
    // messages replayed: written by the replay server.
    std::array<counter, replay_status_count> replay_requests;
    counter replayed;
    // Connections accepted on, and closed from, each client_socket: written by the handshake
    // watch. Two counters rather than a gauge, so that each keeps one writer's relaxed add.
    std::array<counter, client_socket_count> accepted;
    std::array<counter, client_socket_count> closed;
    // Nanoseconds egress waited for a subscriber at its HWM (egress.nodrop): written by egress.
    counter nodrop_wait_ns;
    // Turns of the thread's loop, waiting ones included (every stage wakes at least every
    // idle_poll): liveness for the systemd watchdog, not exported.
    counter beats;
};

// One link to another relay: an egress.forward endpoint (out) or an ingress.subscribe one (in).
// Each counter has one writer: `messages` the thread that owns the link's socket (egress's for a
// forward link, ingress's for a subscribe link), `dropped` and `missing` egress's, `connected`
// the handshake watch's.
struct alignas(64) link_counters {
    counter messages; // forwarded on it, or taken from it
    counter dropped;  // forward, nodrop off: the link was full, so not forwarded
    counter missing;  // subscribe: upstream sequences that never arrived over it
    counter gaps;     // subscribe: times the upstream's sequence skipped (each a notice's worth)
    counter restarts; // subscribe: times a new upstream instance replaced the one before
    std::atomic<bool> connected{false}; // a handshake with the peer succeeded and it is up
};

enum class link_direction : unsigned char { forward, subscribe };

// One link's series, as a scrape reports it. `endpoint` stays valid while the relay lives.
struct link_series {
    std::string_view endpoint;
    link_direction direction;
    std::uint64_t messages;
    std::uint64_t dropped;
    std::uint64_t missing;
    std::uint64_t gaps;
    std::uint64_t restarts;
    bool connected;
};

// One series of zrelay_topic_messages_total. `topic` stays valid while the relay lives.
struct topic_series {
    std::string_view topic;
    std::uint64_t messages;
};

// What a scrape reports: the threads' counters summed, plus the gauges.
struct metrics_snapshot {
    std::uint64_t received = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t published = 0;
    std::uint64_t bytes_published = 0;
    std::array<std::uint64_t, invalid_reason_count> invalid{};
    std::array<std::array<std::uint64_t, refusal_reason_count>, relay_side_count>
        auth_failures{}; // [relay_side][refusal_reason]
    std::uint64_t dead_letters = 0;
    std::uint64_t notices = 0;
    std::uint64_t upstream_gaps = 0;
    std::uint64_t upstream_missing = 0;
    std::vector<topic_series> topics;      // the labelled topics
    std::vector<link_series> links;        // egress.forward, then ingress.subscribe
    std::uint64_t topics_other = 0;        // messages on every other topic
    std::uint64_t connections_dropped = 0; // by the frame guard
    // The pipeline's credits (workers > 0). The direct path holds no messages between stages,
    // so there they mean nothing and are not exported.
    bool pipelined = false;
    std::int64_t inflight = 0;
    std::int64_t max_inflight = 0;
    std::int64_t subscriptions = 0;
    bool draining = false;
    // Retention (when on): what the retention log holds, and what it has evicted.
    bool retention = false;
    std::uint64_t retained_bytes = 0;
    std::uint64_t retained_messages = 0;
    std::uint64_t evicted = 0;
    std::array<std::uint64_t, replay_status_count> replay_requests{}; // by replay_status
    std::uint64_t replayed = 0;
    std::array<std::int64_t, client_socket_count> clients{}; // connected now, by client_socket
    std::uint64_t nodrop_wait_ns = 0;

    void add(const thread_counters &c) noexcept;
    [[nodiscard]] std::uint64_t invalid_total() const noexcept;
};

} // namespace zrelay
