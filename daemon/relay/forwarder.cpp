#include "forwarder.hpp"

#include "handshake_watch.hpp"
#include "idle_poll.hpp"

namespace zrelay {

std::size_t forward_slot(std::string_view topic, std::size_t count) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ULL; // FNV-1a, 64 bits
    for (const char c : topic) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return count == 0 ? 0 : static_cast<std::size_t>(hash % count);
}

forwarder::forwarder(zmq::context_t &context, const egress_config &cfg,
                     std::vector<link_counters> &links, handshake_watch *watch,
                     const pipeline_control &control)
    : _by_topic(cfg.forward_by == "topic"), _nodrop(cfg.nodrop), _control(control) {
    // A PUSH takes nothing in: any frame from the peer is not a relay's, and drops it.
    socket_security plain;
    plain.max_frame_bytes = 1024;
    _links.reserve(cfg.forward.size());
    for (std::size_t i = 0; i < cfg.forward.size(); ++i) {
        zmq::socket_t socket(context, zmq::socket_type::push);
        socket.set(zmq::sockopt::sndhwm, cfg.sndhwm);
        socket.set(zmq::sockopt::sndtimeo, static_cast<int>(idle_poll.count()));
        socket.set(zmq::sockopt::linger, 0); // close() sets the real one
        if (watch != nullptr) // before it connects, so that no connection goes unseen
            watch->watch_link(socket, links.at(i), cfg.forward[i]);
        _attached.push_back(
            attach_endpoints(socket, "egress.forward", {}, {cfg.forward[i]}, plain));
        _links.push_back({std::move(socket), &links.at(i)});
    }
}

bool forwarder::forward(std::string_view topic, zmq::message_t &body,
                        const std::function<void()> &held_up) {
    std::size_t slot = 0;
    if (_links.size() > 1) {
        if (_by_topic) {
            slot = forward_slot(topic, _links.size());
        } else {
            slot = _next;
            _next = _next + 1 == _links.size() ? 0 : _next + 1;
        }
    }
    link &to = _links[slot];
    if (!_nodrop) {
        if (to.socket.send(body, zmq::send_flags::dontwait))
            to.counters->messages.add();
        else
            to.counters->dropped.add();
        return true;
    }
    while (!to.socket.send(body, zmq::send_flags::none)) {
        // SNDTIMEO passed with the link at its HWM.
        if (_control.aborted())
            return false;
        if (held_up)
            held_up();
    }
    to.counters->messages.add();
    return true;
}

void forwarder::close(std::chrono::milliseconds linger) {
    for (link &l : _links) {
        l.socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
        l.socket.close();
    }
}

} // namespace zrelay
