// replay_server: the replay endpoint (replay.bind), a ROUTER that answers ReplayRequests from
// the retention log (proto/zrelay/v1/replay.proto), on a thread of its own so that no reader
// ever slows the live path: it only reads the log, which never waits for it.
//
// Memory is bounded whatever clients do. A client is a ROUTER peer with at most one request in
// progress (replay_session.hpp, a cursor). What the server has sent and the client has not yet
// credited is in flight: at most the request's window in messages, at most `session_bytes` per
// client (one message always may be, however big) and `total_bytes` across clients; past those
// the server waits for Credit. Credits count against the client's in-flight messages whichever
// request they name, so replacing a request does not reset them. Sessions are at most
// `max_sessions` (later clients get BUSY); one silent for `client_timeout` is forgotten; a
// request frame is at most 8 KiB (a bigger one drops the connection, ZMQ_MAXMSGSIZE).
//
// Threads: constructed (socket bound) on the relay's thread; run() then owns the socket until
// it returns; stop() from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "metrics.hpp"
#include "replay_protocol.hpp"
#include "replay_session.hpp"
#include "retention_log.hpp"
#include "security.hpp"
#include "signaler.hpp"

namespace zrelay {

struct replay_limits {
    std::size_t max_sessions = 256;
    std::chrono::milliseconds client_timeout{30'000};
    std::size_t session_bytes = std::size_t{1} << 20U; // in flight per client
    std::size_t total_bytes = std::size_t{32} << 20U;  // in flight across clients
    std::size_t scan_budget = 4096;                    // log records looked at per session per turn
    std::size_t requests_per_turn = 256; // so a flood of requests cannot starve replies
};

class replay_server {
public:
    // Binds `bind` (throws endpoint_error naming the endpoint). `log` must outlive the server;
    // `instance` is the relay's; `counters` is the replay thread's block.
    replay_server(zmq::context_t &context, const std::vector<std::string> &bind,
                  const socket_security &security, const retention_log &log, std::uint64_t instance,
                  thread_counters &counters, replay_limits limits = {});

    // The thread body: serves until stop(). Exceptions are the caller's to catch.
    void run();
    // Any thread: makes run() return.
    void stop() noexcept { _stop.send(); }

    [[nodiscard]] const std::vector<std::string> &bound() const noexcept {
        return _bound.endpoints;
    }

private:
    using clock = std::chrono::steady_clock;
    struct client {
        std::optional<replay_session> session;
        std::optional<replay_end> end_due; // done, its ReplayEnd not yet sent
        std::uint32_t window = default_replay_window;
        std::deque<std::uint32_t> in_flight; // sizes of the messages not yet credited
        std::size_t bytes = 0;               // their sum
        clock::time_point last_heard;
        clock::time_point stalled_until; // its pipe was full
    };

    // Takes the requests queued, at most requests_per_turn.
    void take_requests(clock::time_point now);
    void on_request(const std::string &identity, const zmq::message_t &frame,
                    clock::time_point now);
    // Serves every client a turn; returns how long to wait for requests before the next: 0 if
    // a client could take more at once, a moment if one's pipe was full, else idle_poll.
    std::chrono::milliseconds serve(clock::time_point now);
    // Sends the client's due ReplayEnd; false if its pipe is full.
    bool send_end(const std::string &identity, client &c);
    // A reply to a request that gets no session: sent if the pipe has room, else dropped.
    void answer(const std::string &identity, const replay_end &end);
    // Sends [identity][topic][body] if the client may take it now.
    bool send_message(const std::string &identity, client &c, std::string_view topic,
                      std::string_view body);
    void credit(client &c, std::uint32_t messages);
    void forget(std::unordered_map<std::string, client>::iterator it);
    void expire(clock::time_point now);

    zmq::socket_t _socket;
    const retention_log &_log;
    std::uint64_t _instance;
    thread_counters &_counters;
    replay_limits _limits;
    signaler _stop;
    attached_endpoints _bound;
    // run()'s thread only.
    std::unordered_map<std::string, client> _clients;
    std::size_t _total_bytes = 0; // in flight across clients
    clock::time_point _next_expiry;
};

} // namespace zrelay
