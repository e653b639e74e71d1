// relay: builds the stages a config describes, composes them (direct_path.hpp with workers: 0,
// else dispatcher, workers and collector over ypipe channels; pipeline.hpp draws both), runs
// their threads, and stops them.
//
// Construction creates the zmq context and every socket and binds every endpoint on the
// caller's thread, so all start-up failures surface as exceptions before anything runs. start()
// hands each socket to the thread that will own it from then on (a thread start is the full
// memory barrier zmq asks for when a socket changes threads).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "authenticator.hpp"
#include "collector.hpp"
#include "config.hpp"
#include "credits.hpp"
#include "dead_letters.hpp"
#include "direct_path.hpp"
#include "dispatcher.hpp"
#include "egress.hpp"
#include "forwarder.hpp"
#include "frame_guard.hpp"
#include "handshake_watch.hpp"
#include "ingress.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "pipeline_control.hpp"
#include "relay_counters.hpp"
#include "replay_server.hpp"
#include "retention_log.hpp"
#include "signaler.hpp"
#include "topics.hpp"
#include "upstream_links.hpp"
#include "validator.hpp"
#include "worker.hpp"

namespace zrelay {

// What one message from a peer may come to before the peer's connection is dropped (see
// frame_guard.hpp): twice ingress.max_message_bytes, and 64 frames.
[[nodiscard]] frame_limits message_limits(const config &cfg);

class relay {
public:
    // Throws endpoint_error if an endpoint cannot be bound or connected, config_error if a
    // CURVE key file or allow-list cannot be read or is open to others.
    explicit relay(const config &cfg);
    // Aborts and joins whatever still runs.
    ~relay();
    relay(const relay &) = delete;
    relay &operator=(const relay &) = delete;
    relay(relay &&) = delete;
    relay &operator=(relay &&) = delete;

    void start();

    // Stop taking input and publish everything taken; returns at once. wait_until() then tells
    // when the threads are done.
    void request_drain(std::chrono::steady_clock::time_point deadline);
    // Stop now, dropping what is in flight (counted by lost()).
    void abort();
    // True once every thread has ended (or none was started).
    bool wait_until(std::chrono::steady_clock::time_point deadline);
    void join();

    // Readable once every thread has ended, or one has failed; for main's poll.
    [[nodiscard]] int stopped_fd() const noexcept { return _stopped.fd(); }
    // The first thread failure, if any.
    [[nodiscard]] std::optional<std::string> failure() const;

    [[nodiscard]] metrics_snapshot snapshot() const;
    // Running, every endpoint bound, not draining.
    [[nodiscard]] bool healthy() const noexcept;
    // True if every relay thread has turned its loop since the previous call (each turns at
    // least every idle_poll, waiting or not): what main pings the systemd watchdog on. One
    // caller (main's thread).
    [[nodiscard]] bool all_threads_beating();
    // After join(): messages received but neither published nor refused (0 after a full drain).
    // Counted rather than read off the credits, which the direct path does not use.
    [[nodiscard]] std::int64_t lost() const noexcept {
        return static_cast<std::int64_t>(_counters.unaccounted());
    }

    // Re-reads the CURVE allow-lists `cfg` names (SIGHUP); they apply to handshakes from then
    // on. Throws config_error, leaving the running lists as they were, if one cannot be read.
    // Main's thread. A side without CURVE is left alone.
    void reload_allow_lists(const config &cfg);
    // Keys allowed per side, the server's own included ([ingress, egress]); 0 without CURVE.
    [[nodiscard]] std::array<std::size_t, 2> allowed_key_counts() const noexcept {
        return _allowed_counts;
    }

    [[nodiscard]] std::vector<std::string> ingress_endpoints() const;
    [[nodiscard]] std::vector<std::string> egress_endpoints() const;
    [[nodiscard]] std::vector<std::string> dead_letter_endpoints() const;
    // The replay endpoints as bound; none while retention or replay is off.
    [[nodiscard]] std::vector<std::string> replay_endpoints() const;
    // The id in this relay's stamps (relay_instance).
    [[nodiscard]] std::uint64_t instance() const noexcept { return _egress->instance(); }

private:
    // `body` as a thread's whole life: named `name`, and an exception it throws recorded.
    template <typename F>
    auto guarded(const char *name, F body);
    // Starts a pipeline thread running guarded(name, body), counted in _running.
    template <typename F>
    void spawn(const char *name, F body);
    void compose_pipelined(const config &cfg);
    [[nodiscard]] validator::options validator_options(const config &cfg) const;
    [[nodiscard]] drop_totals drops() const noexcept;
    void record_failure(const char *name, const std::exception &e);

    zmq::context_t _context; // the one context of the process
    pipeline_control _control;
    credits _credits; // the pipelined composition's; the direct path holds no messages
    relay_counters _counters;
    topic_table _topics; // written by the thread running egress, read by the metrics server
    // The ZAP handler, when a side runs CURVE; built before the sockets it vouches for.
    std::unique_ptr<authenticator> _authenticator;
    std::array<std::string, 2> _own_keys; // each side's server public key ("" without CURVE)
    std::array<std::size_t, 2> _allowed_counts{}; // main's thread
    std::thread _authenticator_thread;
    // Counts the handshakes libzmq refuses before asking the authenticator; watches every
    // socket from before it binds, so it is built before them.
    std::unique_ptr<handshake_watch> _handshake_watch;
    std::thread _handshake_watch_thread;

    // The stages.
    // What egress publishes, kept for replay (retention.max_bytes > 0); built before egress,
    // which appends to it, and the replay server, which reads it.
    std::unique_ptr<retention_log> _retention;
    std::unique_ptr<forwarder> _forwarder; // egress.forward's links; built before egress
    // ingress.subscribe's links, read by ingress; the PAIR egress passes subscription changes
    // up them on (when they follow the subscribers).
    std::unique_ptr<upstream_links> _upstream_links;
    std::optional<zmq::socket_t> _changes_out;
    std::unique_ptr<egress> _egress;
    std::unique_ptr<dead_letters> _dead_letters; // when invalid.dead_letter is set
    std::unique_ptr<ingress> _ingress;
    // The direct composition (workers: 0)...
    std::unique_ptr<validator> _validator;
    std::unique_ptr<direct_path> _direct;
    // ...or the pipelined one.
    std::vector<std::unique_ptr<pipe>> _to_workers;
    std::vector<std::unique_ptr<pipe>> _from_workers;
    std::vector<std::unique_ptr<worker>> _workers;
    std::unique_ptr<dispatcher> _dispatcher;
    std::unique_ptr<collector> _collector;
    // The replay endpoint (retention on and replay.bind set). Its thread is not counted in
    // _running: it serves until join(), after the stages end.
    std::unique_ptr<replay_server> _replay;
    std::thread _replay_thread;

    // The links to other relays, for the metrics: forward links, then subscribe links.
    struct link_entry {
        std::string endpoint;
        link_direction direction;
        const link_counters *counters;
    };
    std::vector<link_entry> _links;

    std::vector<std::thread> _threads;
    std::size_t _thread_count = 0; // set before any thread starts
    // Per running thread, the counter blocks it beats on (a direct-path thread held up by a
    // slow subscriber beats in egress's block), and their beats when all_threads_beating() last
    // looked. Main's thread only.
    std::vector<std::array<const thread_counters *, 2>> _beat_blocks;
    std::vector<std::uint64_t> _last_beats;
    std::atomic<std::size_t> _running{0};
    std::atomic<bool> _started{false};
    signaler _stopped;
    mutable std::mutex _failure_mutex; // failures are rare: a lock is fine
    std::optional<std::string> _failure;
};

} // namespace zrelay
