// authenticator: the relay's ZAP handler (ZeroMQ RFC 27), deciding which CURVE clients may
// connect.
//
// libzmq asks the socket bound at inproc://zeromq.zap.01 in the socket's context about every
// handshake on a socket with a ZAP domain; the relay's CURVE sockets have domain "ingress" or
// "egress" and ZMQ_ZAP_ENFORCE_DOMAIN, so without an answer nobody gets in (fail closed). The
// answer is 200 for a CURVE client whose public key is in that side's allow-list, or the
// server's own public key on that side (what `zrelayd healthcheck` connects with: whoever
// holds the secret key is the relay already), and 400 for anything else, counted per side and
// reason (handshake_refusal.hpp; the refusals libzmq makes before asking here are the handshake
// watch's) and logged at most once a second.
//
// Threads: constructed on the relay's builder thread, which binds the ZAP socket (before any
// CURVE socket binds: a handshake racing ahead would find no handler and fail). From then on the
// socket belongs to run()'s thread. allow() may be called from any thread (main's, on SIGHUP):
// the lists sit behind a mutex, taken once per handshake, never per message.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "metrics.hpp"
#include "refusal_log.hpp"
#include "signaler.hpp"

namespace zrelay {

class authenticator {
public:
    enum side : std::size_t { ingress = 0, egress = 1 };

    // Binds the ZAP endpoint in `context`. Throws zmq::error_t if it cannot.
    authenticator(zmq::context_t &context, thread_counters &counters);

    // Replaces the keys allowed on `side` (Z85 public keys); takes effect for the next handshake.
    // `own` is that side's server public key, always allowed.
    void allow(side which, const std::vector<std::string> &keys, const std::string &own);

    // The thread body: answers ZAP requests until stop(). Exceptions are the caller's to catch.
    void run();
    // Any thread: makes run() return.
    void stop() noexcept { _stop.send(); }

private:
    using key_set = std::unordered_set<std::string>;

    void answer(std::vector<zmq::message_t> &request);

    zmq::socket_t _socket; // owned by run()'s thread once it starts
    thread_counters &_counters;
    signaler _stop;
    std::mutex _lists_mutex; // guards _lists; reload is rare and handshakes are not hot
    std::array<std::shared_ptr<const key_set>, 2> _lists;
    refusal_log _refusal_log{"auth"}; // run()'s thread only
};

} // namespace zrelay
