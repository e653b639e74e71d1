// handshake_watch: refusals of real handshakes, counted by side and reason in one process.
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "authenticator.hpp"
#include "frame_guard.hpp"
#include "handshake_watch.hpp"
#include "keys.hpp"
#include "security.hpp"

using namespace zrelay;

namespace {

std::uint64_t refused(const thread_counters &counters, relay_side side, refusal_reason reason) {
    return counters.auth_failures.at(static_cast<std::size_t>(side))
        .at(static_cast<std::size_t>(reason))
        .value();
}

std::uint64_t refused_in_all(const thread_counters &counters) {
    std::uint64_t total = 0;
    for (const auto &side : counters.auth_failures)
        for (const counter &c : side)
            total += c.value();
    return total;
}

bool eventually(const std::function<bool()> &condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

// A TCP client that sends `bytes` and stays until destroyed.
class raw_client {
public:
    raw_client(const std::string &endpoint, const std::string &bytes)
        : _fd(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port =
            htons(static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1))));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // Throws (failing and ending the test) rather than leaving it to wait for a refusal
        // that cannot come.
        if (::connect(_fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0 ||
            ::send(_fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
            ::close(_fd);
            throw std::runtime_error("raw_client: cannot connect to or send to " + endpoint);
        }
    }
    ~raw_client() { ::close(_fd); }
    raw_client(const raw_client &) = delete;
    raw_client &operator=(const raw_client &) = delete;
    raw_client(raw_client &&) = delete;
    raw_client &operator=(raw_client &&) = delete;

private:
    int _fd;
};

// A relay side as the relay builds it: a PULL secured and bound through attach_endpoints, its
// handshakes watched on the watch's own thread, and a ZAP handler when it runs CURVE.
class watched_side {
public:
    watched_side(zmq::context_t &context, const char *side, bool curve)
        : _auth(context, auth_counters), _watch(context, counters),
          _pull(context, zmq::socket_type::pull) {
        // As zrelayd does before it binds (idempotent): the guard makes libzmq's silent
        // refusals visible (frame_guard.hpp).
        enable_frame_guard({.max_message_bytes = 1 << 20, .max_message_frames = 64});
        socket_security security;
        security.zap_domain = side;
        security.watch = &_watch;
        if (curve) {
            server = generate_curve_keypair();
            security.curve = server;
            _auth.allow(std::string(side) == "egress" ? authenticator::egress
                                                      : authenticator::ingress,
                        {}, server.public_key);
        }
        _pull.set(zmq::sockopt::linger, 0);
        endpoint =
            attach_endpoints(_pull, side, {"tcp://127.0.0.1:*"}, {}, security).endpoints.at(0);
        _threads.emplace_back([this] { _watch.run(); });
        _threads.emplace_back([this] { _auth.run(); });
    }
    ~watched_side() {
        _watch.stop();
        _auth.stop();
        for (auto &t : _threads)
            t.join();
    }
    watched_side(const watched_side &) = delete;
    watched_side &operator=(const watched_side &) = delete;
    watched_side(watched_side &&) = delete;
    watched_side &operator=(watched_side &&) = delete;

    thread_counters counters;
    thread_counters auth_counters;
    curve_keypair server;
    std::string endpoint;

private:
    authenticator _auth;
    handshake_watch _watch;
    zmq::socket_t _pull;
    std::vector<std::thread> _threads;
};

zmq::socket_t client(zmq::context_t &context, const std::string &endpoint) {
    zmq::socket_t push(context, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 0);
    push.set(zmq::sockopt::reconnect_ivl, -1); // one attempt, one refusal
    push.connect(endpoint);
    return push;
}

} // namespace

TEST(handshake_watch, a_null_client_on_a_curve_side_counts_once_as_mechanism) {
    zmq::context_t context(1);
    watched_side side(context, "egress", true);
    zmq::socket_t null_client = client(context, side.endpoint);
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::egress, refusal_reason::mechanism) == 1;
    }));
    EXPECT_EQ(refused_in_all(side.counters), 1U);
    EXPECT_EQ(refused_in_all(side.auth_counters), 0U);
}

TEST(handshake_watch, a_wrong_server_key_counts_as_cryptographic_and_an_unknown_key_once) {
    zmq::context_t context(1);
    watched_side side(context, "ingress", true);
    const curve_keypair client_keys = generate_curve_keypair();
    const auto curve_client = [&](const std::string &server_key) {
        zmq::socket_t push(context, zmq::socket_type::push);
        push.set(zmq::sockopt::linger, 0);
        push.set(zmq::sockopt::reconnect_ivl, -1);
        push.set(zmq::sockopt::curve_serverkey, server_key);
        push.set(zmq::sockopt::curve_publickey, client_keys.public_key);
        push.set(zmq::sockopt::curve_secretkey, client_keys.secret_key);
        push.connect(side.endpoint);
        return push;
    };
    zmq::socket_t wrong = curve_client(generate_curve_keypair().public_key);
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::ingress, refusal_reason::cryptographic) == 1;
    }));
    // Refused by the ZAP handler, which counts it; the watch leaves libzmq's report alone.
    zmq::socket_t unknown = curve_client(side.server.public_key);
    ASSERT_TRUE(eventually([&] {
        return refused(side.auth_counters, relay_side::ingress, refusal_reason::unknown_key) == 1;
    }));
    // A client let in afterwards proves the watch has read past the unknown key's events.
    zmq::socket_t null_client = client(context, side.endpoint);
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::ingress, refusal_reason::mechanism) == 1;
    }));
    EXPECT_EQ(refused_in_all(side.counters), 2U);
    EXPECT_EQ(refused_in_all(side.auth_counters), 1U);
}

TEST(handshake_watch, a_curve_client_on_a_null_side_counts_as_mechanism) {
    zmq::context_t context(1);
    watched_side side(context, "ingress", false);
    const curve_keypair server = generate_curve_keypair();
    const curve_keypair keys = generate_curve_keypair();
    zmq::socket_t push(context, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 0);
    push.set(zmq::sockopt::reconnect_ivl, -1);
    push.set(zmq::sockopt::curve_serverkey, server.public_key);
    push.set(zmq::sockopt::curve_publickey, keys.public_key);
    push.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    push.connect(side.endpoint);
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::ingress, refusal_reason::mechanism) == 1;
    }));
    EXPECT_EQ(refused_in_all(side.counters), 1U);
}

TEST(handshake_watch, junk_and_zmtp2_on_a_curve_side_count_as_malformed) {
    zmq::context_t context(1);
    watched_side side(context, "ingress", true);
    const raw_client junk(side.endpoint, std::string("\x05not a zmtp greeting at all", 27));
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::ingress, refusal_reason::malformed) == 1;
    }));
    const raw_client zmtp2(side.endpoint,
                           std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x01\x08\0\0", 14));
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::ingress, refusal_reason::malformed) == 2;
    }));
    EXPECT_EQ(refused_in_all(side.counters), 2U);
}

TEST(handshake_watch, a_zmtp2_client_on_a_null_side_is_no_refusal) {
    zmq::context_t context(1);
    watched_side side(context, "ingress", false);
    {
        const raw_client zmtp2(side.endpoint,
                               std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x01\x08\0\0", 14));
    } // and it leaves, which libzmq 4.3.4 reports as a failed handshake
    // A refusal after it proves the watch read past its events.
    zmq::socket_t plain(context, zmq::socket_type::push);
    plain.set(zmq::sockopt::linger, 0);
    plain.set(zmq::sockopt::reconnect_ivl, -1);
    plain.set(zmq::sockopt::plain_username, "admin");
    plain.set(zmq::sockopt::plain_password, "admin");
    plain.connect(side.endpoint);
    ASSERT_TRUE(eventually([&] {
        return refused(side.counters, relay_side::ingress, refusal_reason::mechanism) == 1;
    }));
    EXPECT_EQ(refused_in_all(side.counters), 1U);
}

TEST(handshake_watch, connections_are_counted_from_accept_to_close) {
    zmq::context_t context(1);
    watched_side side(context, "ingress", false);
    const auto connected = [&] {
        metrics_snapshot s;
        s.add(side.counters);
        return s.clients.at(static_cast<std::size_t>(client_socket::ingress));
    };
    std::vector<zmq::socket_t> clients;
    for (int i = 0; i < 3; ++i)
        clients.push_back(client(context, side.endpoint));
    ASSERT_TRUE(eventually([&] { return connected() == 3; })) << connected();
    clients.pop_back();
    clients.pop_back();
    ASSERT_TRUE(eventually([&] { return connected() == 1; })) << connected();
    {
        // A TCP client that never says a word is a connection too, until it goes.
        const raw_client silent(side.endpoint, "");
        ASSERT_TRUE(eventually([&] { return connected() == 2; })) << connected();
    }
    ASSERT_TRUE(eventually([&] { return connected() == 1; })) << connected();
    EXPECT_EQ(side.counters.accepted.at(0).value(), 4U);
    EXPECT_EQ(side.counters.closed.at(0).value(), 3U);
    EXPECT_EQ(refused_in_all(side.counters), 0U);
}
