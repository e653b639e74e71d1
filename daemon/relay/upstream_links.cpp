#include "upstream_links.hpp"

#include <string>

#include "handshake_watch.hpp"
#include "security.hpp"

namespace zrelay {

upstream_links::upstream_links(zmq::context_t &context, const ingress_config &cfg,
                               std::int64_t max_frame_bytes, std::vector<link_counters> &links,
                               handshake_watch *watch, std::optional<zmq::socket_t> changes)
    : _changes(std::move(changes)) {
    socket_security plain;
    plain.max_frame_bytes = max_frame_bytes;
    for (std::size_t i = 0; i < cfg.subscribe.size(); ++i) {
        zmq::socket_t socket(context, zmq::socket_type::xsub);
        socket.set(zmq::sockopt::rcvhwm, cfg.rcvhwm);
        socket.set(zmq::sockopt::linger, 0);
        for (const std::string &topic : cfg.subscribe_topics) {
            std::string frame(1, '\1');
            frame += topic;
            socket.send(zmq::buffer(frame), zmq::send_flags::none); // kept, sent on connection
        }
        if (watch != nullptr) // before it connects, so that no connection goes unseen
            watch->watch_link(socket, links.at(i), cfg.subscribe[i]);
        (void)attach_endpoints(socket, "ingress.subscribe", {}, {cfg.subscribe[i]}, plain);
        _handles.push_back(socket.handle());
        _sockets.push_back(std::move(socket));
        _counters.push_back(&links.at(i));
    }
    if (_changes)
        _handles.push_back(_changes->handle());
}

bool upstream_links::take(pipeline_item &item) {
    for (std::size_t tried = 0; tried < _sockets.size(); ++tried) {
        const std::size_t i = _next;
        _next = _next + 1 == _sockets.size() ? 0 : _next + 1;
        zmq::socket_t &socket = _sockets[i];
        zmq::message_t topic;
        if (!socket.recv(topic, zmq::recv_flags::dontwait))
            continue;
        // A message arrives whole: its other frames are here already.
        std::size_t frames = 1;
        if (topic.more()) {
            (void)socket.recv(item.body, zmq::recv_flags::dontwait);
            ++frames;
            bool more = item.body.more();
            zmq::message_t rest;
            while (more && socket.recv(rest, zmq::recv_flags::dontwait)) {
                ++frames;
                more = rest.more();
            }
        } else {
            item.body = std::move(topic); // not a relay's [topic][message]: judged as it is
        }
        item.reason = frames > 2 ? invalid_reason::multipart : invalid_reason::none;
        item.link = static_cast<std::uint16_t>(i + 1);
        _counters[i]->messages.add();
        return true;
    }
    return false;
}

void upstream_links::pass_subscriptions() {
    if (!_changes)
        return;
    zmq::message_t change;
    while (_changes->recv(change, zmq::recv_flags::dontwait))
        for (zmq::socket_t &socket : _sockets)
            (void)socket.send(zmq::buffer(change.data(), change.size()), zmq::send_flags::dontwait);
}

void upstream_links::close() {
    for (zmq::socket_t &socket : _sockets)
        socket.close();
    if (_changes)
        _changes->close();
}

} // namespace zrelay
