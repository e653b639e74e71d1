// handshake_watch: counts and logs every handshake the relay's sockets refuse before asking the
// ZAP handler, by side and reason (handshake_refusal.hpp); and keeps each link to another
// relay's `connected` gauge (watch_link()).
//
// libzmq refuses NULL or PLAIN clients on a CURVE socket, the wrong server key, broken
// commands and half-finished handshakes by itself and says so only to the socket's monitor
// (zmq_socket_monitor); ZMTP 1.0/2.0 peers and junk on a CURVE socket it refuses without a
// word, which the frame guard turns into a monitor event too (frame_guard.hpp). Each relay
// socket that accepts clients (ingress, egress, dead letters) gets a monitor PAIR, read here;
// refusals go into zrelay_auth_failures_total{side,reason} and a log line at most once a second.
//
// Threads: sockets are watched from the relay's builder thread, which owns them, before they
// bind (secure()); from start on, the PAIRs belong to run()'s thread. A thread of its own rather
// than the authenticator's: it runs whether or not a side has CURVE, and there is no ZAP
// handler without CURVE.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "handshake_refusal.hpp"
#include "metrics.hpp"
#include "refusal_log.hpp"
#include "signaler.hpp"
#include "socket_monitor.hpp"

namespace zrelay {

class handshake_watch {
public:
    handshake_watch(zmq::context_t &context, thread_counters &counters)
        : _context(context), _counters(counters) {}

    // Builder thread, before `socket` binds or connects: counts its refusals as `side`'s
    // (`curve`: it runs CURVE) and its connections as `clients`'. Throws zmq::error_t.
    void watch(zmq::socket_t &socket, relay_side side, bool curve, client_socket clients);
    // Builder thread, before `socket` connects: `link.connected` follows its one connection
    // (set when a handshake succeeds, cleared when it closes) and a link that goes down is
    // logged. Throws zmq::error_t.
    void watch_link(zmq::socket_t &socket, link_counters &link, std::string endpoint);

    // The thread body: reads the events until stop(). Exceptions are the caller's to catch.
    void run();
    // Any thread: makes run() return.
    void stop() noexcept { _stop.send(); }

private:
    struct watched {
        socket_monitor events;
        relay_side side;
        bool curve;
        client_socket clients;
        link_counters *link = nullptr; // a link's watch: its state, not refusals
        std::string endpoint;          // the link's
        std::unordered_set<int> open;  // fds of its accepted connections not yet closed
    };

    void on_event(watched &from, const monitor_event &event);

    zmq::context_t &_context;
    thread_counters &_counters;
    std::vector<std::unique_ptr<watched>> _watched; // a handful; run()'s thread once it starts
    signaler _stop;
    refusal_log _refusal_log{"handshake"}; // run()'s thread only
};

} // namespace zrelay
