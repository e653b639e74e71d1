// authenticator: the ZAP handler, asked directly (RFC 27 requests over inproc) and through real
// CURVE handshakes in one process.
#include <array>
#include <chrono>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "authenticator.hpp"
#include "keys.hpp"
#include "security.hpp"

using namespace zrelay;

namespace {

std::string binary_key(const std::string &z85) {
    std::array<std::uint8_t, 32> key{};
    zmq_z85_decode(key.data(), z85.c_str());
    return {reinterpret_cast<const char *>(key.data()), key.size()};
}

// An authenticator running on its own thread, stopped and joined at the end.
class running_authenticator {
public:
    explicit running_authenticator(zmq::context_t &context)
        : auth(context, counters), _thread([this] { auth.run(); }) {}
    ~running_authenticator() {
        auth.stop();
        _thread.join();
    }
    running_authenticator(const running_authenticator &) = delete;
    running_authenticator &operator=(const running_authenticator &) = delete;
    running_authenticator(running_authenticator &&) = delete;
    running_authenticator &operator=(running_authenticator &&) = delete;

    thread_counters counters;
    authenticator auth;

private:
    std::thread _thread;
};

// Sends one ZAP request; returns the reply's frames as strings.
std::vector<std::string> ask(zmq::context_t &context, const std::vector<std::string> &request) {
    zmq::socket_t req(context, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, 5000);
    req.connect("inproc://zeromq.zap.01");
    std::vector<zmq::const_buffer> frames;
    for (const auto &f : request)
        frames.emplace_back(f.data(), f.size());
    zmq::send_multipart(req, frames);
    std::vector<zmq::message_t> reply;
    // Throws (failing and ending the test) rather than returning no frames for it to index.
    if (!zmq::recv_multipart(req, std::back_inserter(reply)))
        throw std::runtime_error("no ZAP reply within 5 s");
    std::vector<std::string> out;
    for (const auto &m : reply)
        out.push_back(m.to_string());
    return out;
}

std::uint64_t refused(const thread_counters &counters, relay_side side, refusal_reason reason) {
    return counters.auth_failures.at(static_cast<std::size_t>(side))
        .at(static_cast<std::size_t>(reason))
        .value();
}

std::vector<std::string> curve_request(const std::string &domain, const std::string &z85) {
    return {"1.0", "req-7", domain, "10.1.2.3", "", "CURVE", binary_key(z85)};
}

} // namespace

TEST(authenticator, lets_in_listed_keys_and_the_sides_own_key_only) {
    zmq::context_t context(1);
    running_authenticator a(context);
    const curve_keypair client = generate_curve_keypair();
    const curve_keypair own = generate_curve_keypair();
    const curve_keypair stranger = generate_curve_keypair();
    a.auth.allow(authenticator::ingress, {client.public_key}, own.public_key);

    auto reply = ask(context, curve_request("ingress", client.public_key));
    ASSERT_EQ(reply.size(), 6U);
    EXPECT_EQ(reply[0], "1.0");
    EXPECT_EQ(reply[1], "req-7"); // the request id echoed
    EXPECT_EQ(reply[2], "200");
    EXPECT_EQ(reply[4], client.public_key); // user id
    EXPECT_EQ(ask(context, curve_request("ingress", own.public_key))[2], "200");

    reply = ask(context, curve_request("ingress", stranger.public_key));
    EXPECT_EQ(reply[2], "400");
    EXPECT_EQ(reply[3], "public key not in the allow-list");
    EXPECT_EQ(reply[4], "");
    // The egress list is its own: nothing allowed there yet.
    EXPECT_EQ(ask(context, curve_request("egress", client.public_key))[2], "400");
    EXPECT_EQ(refused(a.counters, relay_side::ingress, refusal_reason::unknown_key), 1U);
    EXPECT_EQ(refused(a.counters, relay_side::egress, refusal_reason::unknown_key), 1U);
}

TEST(authenticator, refuses_other_mechanisms_domains_and_malformed_requests) {
    zmq::context_t context(1);
    running_authenticator a(context);
    const curve_keypair client = generate_curve_keypair();
    a.auth.allow(authenticator::ingress, {client.public_key}, generate_curve_keypair().public_key);
    EXPECT_EQ(ask(context, {"1.0", "1", "ingress", "a", "", "NULL"})[2], "400");
    EXPECT_EQ(ask(context, {"1.0", "2", "ingress", "a", "", "PLAIN", "admin", "admin"})[2], "400");
    EXPECT_EQ(ask(context, curve_request("elsewhere", client.public_key))[2], "400");
    EXPECT_EQ(ask(context, {"1.0", "3", "ingress", "a", "", "CURVE", "short"})[2], "400");
    const auto malformed = ask(context, {"0.9", "4", "ingress"});
    EXPECT_EQ(malformed[2], "500");
    EXPECT_EQ(refused(a.counters, relay_side::ingress, refusal_reason::mechanism), 2U);
    EXPECT_EQ(refused(a.counters, relay_side::ingress, refusal_reason::unknown_key), 3U);
}

TEST(authenticator, a_new_list_applies_to_the_next_request) {
    zmq::context_t context(1);
    running_authenticator a(context);
    const curve_keypair own = generate_curve_keypair();
    const curve_keypair client = generate_curve_keypair();
    a.auth.allow(authenticator::egress, {}, own.public_key);
    EXPECT_EQ(ask(context, curve_request("egress", client.public_key))[2], "400");
    a.auth.allow(authenticator::egress, {client.public_key}, own.public_key);
    EXPECT_EQ(ask(context, curve_request("egress", client.public_key))[2], "200");
    a.auth.allow(authenticator::egress, {}, own.public_key);
    EXPECT_EQ(ask(context, curve_request("egress", client.public_key))[2], "400");
}

// Through real handshakes: a PULL secured as the relay secures its ingress.
TEST(authenticator, real_curve_handshakes_deliver_only_for_listed_keys) {
    zmq::context_t context(1);
    running_authenticator a(context);
    const curve_keypair server = generate_curve_keypair();
    const curve_keypair client = generate_curve_keypair();
    const curve_keypair stranger = generate_curve_keypair();
    a.auth.allow(authenticator::ingress, {client.public_key}, server.public_key);

    socket_security security;
    security.curve = server;
    security.zap_domain = "ingress";
    zmq::socket_t pull(context, zmq::socket_type::pull);
    pull.set(zmq::sockopt::linger, 0);
    pull.set(zmq::sockopt::rcvtimeo, 3000);
    secure(pull, security);
    pull.bind("tcp://127.0.0.1:*");
    const std::string endpoint = pull.get(zmq::sockopt::last_endpoint);

    const auto pusher = [&](const curve_keypair &who) {
        zmq::socket_t push(context, zmq::socket_type::push);
        push.set(zmq::sockopt::linger, 0);
        push.set(zmq::sockopt::curve_serverkey, server.public_key);
        push.set(zmq::sockopt::curve_publickey, who.public_key);
        push.set(zmq::sockopt::curve_secretkey, who.secret_key);
        push.connect(endpoint);
        return push;
    };
    zmq::socket_t bad = pusher(stranger);
    (void)bad.send(zmq::str_buffer("from the stranger"), zmq::send_flags::dontwait);
    zmq::socket_t good = pusher(client);
    ASSERT_TRUE(good.send(zmq::str_buffer("from the client"), zmq::send_flags::none));
    zmq::message_t got;
    ASSERT_TRUE(pull.recv(got));
    EXPECT_EQ(got.to_string(), "from the client");
    pull.set(zmq::sockopt::rcvtimeo, 300);
    EXPECT_FALSE(pull.recv(got)) << "the stranger's message came through: " << got.to_string();
    EXPECT_GE(refused(a.counters, relay_side::ingress, refusal_reason::unknown_key), 1U);
}
