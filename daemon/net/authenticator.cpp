#include "authenticator.hpp"

#include <iterator>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "idle_poll.hpp"
#include "keys.hpp"

namespace zrelay {
namespace {

constexpr const char *zap_endpoint = "inproc://zeromq.zap.01";

std::string frame_text(const zmq::message_t &frame) {
    return {static_cast<const char *>(frame.data()), frame.size()};
}

} // namespace

authenticator::authenticator(zmq::context_t &context, thread_counters &counters)
    : _socket(context, zmq::socket_type::rep), _counters(counters) {
    _socket.set(zmq::sockopt::linger, 0);
    _socket.bind(zap_endpoint);
    _lists[ingress] = std::make_shared<const key_set>();
    _lists[egress] = std::make_shared<const key_set>();
}

void authenticator::allow(side which, const std::vector<std::string> &keys,
                          const std::string &own) {
    auto list = std::make_shared<key_set>(keys.begin(), keys.end());
    list->insert(own);
    const std::lock_guard lock(_lists_mutex);
    _lists.at(which) = std::move(list);
}

void authenticator::run() {
    std::vector<zmq::message_t> request;
    while (true) {
        _counters.beats.add();
        std::array<zmq::pollitem_t, 2> items{{
            {_socket.handle(), 0, ZMQ_POLLIN, 0},
            {nullptr, _stop.fd(), ZMQ_POLLIN, 0},
        }};
        zmq::poll(items.data(), items.size(), idle_poll);
        _refusal_log.flush_due();
        if ((items[1].revents & ZMQ_POLLIN) != 0)
            break;
        if ((items[0].revents & ZMQ_POLLIN) == 0)
            continue;
        request.clear();
        if (!zmq::recv_multipart(_socket, std::back_inserter(request), zmq::recv_flags::dontwait))
            continue;
        answer(request);
    }
    _refusal_log.flush_all();
    _socket.close();
}

// RFC 27: request [version, request id, domain, address, routing id, mechanism, credentials...],
// reply [version, request id, status code, status text, user id, metadata].
void authenticator::answer(std::vector<zmq::message_t> &request) {
    std::string status = "400";
    std::string text = "not allowed";
    refusal_reason reason = refusal_reason::unknown_key;
    std::string user;
    const bool well_formed = request.size() >= 6 && frame_text(request[0]) == "1.0";
    std::string domain;
    std::string address;
    if (!well_formed) {
        status = "500";
        text = "malformed ZAP request";
    } else {
        domain = frame_text(request[2]);
        address = frame_text(request[3]);
        const std::string mechanism = frame_text(request[5]);
        const bool known_side = domain == "ingress" || domain == "egress";
        if (known_side && mechanism == "CURVE" && request.size() == 7 &&
            request[6].size() == curve_key_bytes) {
            std::array<char, z85_key_chars + 1> key{};
            zmq_z85_encode(key.data(), request[6].data<std::uint8_t>(), curve_key_bytes);
            user = key.data();
            std::shared_ptr<const key_set> list;
            {
                const std::lock_guard lock(_lists_mutex);
                list = _lists.at(domain == "ingress" ? ingress : egress);
            }
            if (list->contains(user)) {
                status = "200";
                text = "OK";
            } else {
                text = "public key not in the allow-list";
            }
        } else {
            text = known_side ? "only CURVE clients are let in" : "unknown ZAP domain";
            if (known_side && mechanism != "CURVE")
                reason = refusal_reason::mechanism;
        }
    }
    if (status != "200") {
        // Counted here, where the decision is made and the key is known; the handshake watch
        // leaves libzmq's report of it (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) alone.
        const std::size_t which = domain == "egress" ? egress : ingress;
        _counters.auth_failures.at(which).at(static_cast<std::size_t>(reason)).add();
        _refusal_log.add(static_cast<relay_side>(which), reason, [&](log_event &event) {
            event.add("address", address.empty() ? "?" : address)
                .add("key", user.empty() ? "none" : user)
                .add("detail", text);
        });
        user.clear();
    }
    std::array<zmq::const_buffer, 6> reply{
        zmq::buffer(std::string_view("1.0")),
        well_formed ? zmq::const_buffer(request[1].data(), request[1].size()) : zmq::const_buffer(),
        zmq::buffer(status),
        zmq::buffer(text),
        zmq::buffer(user),
        zmq::const_buffer(),
    };
    zmq::send_multipart(_socket, reply);
}

} // namespace zrelay
