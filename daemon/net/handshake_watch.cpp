#include "handshake_watch.hpp"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include "idle_poll.hpp"

namespace zrelay {

void handshake_watch::watch(zmq::socket_t &socket, relay_side side, bool curve,
                            client_socket clients) {
    // ZMQ_EVENT_HANDSHAKE_FAILED_AUTH is left out: the authenticator counts those.
    constexpr int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_ACCEPTED |
                           ZMQ_EVENT_DISCONNECTED;
    _watched.push_back(std::make_unique<watched>(
        watched{socket_monitor(_context, socket, events), side, curve, clients, nullptr, {}, {}}));
}

void handshake_watch::watch_link(zmq::socket_t &socket, link_counters &link, std::string endpoint) {
    constexpr int changes = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED;
    _watched.push_back(std::make_unique<watched>(watched{socket_monitor(_context, socket, changes),
                                                         relay_side::egress,
                                                         false,
                                                         client_socket::egress,
                                                         &link,
                                                         std::move(endpoint),
                                                         {}}));
}

void handshake_watch::run() {
    std::vector<zmq::pollitem_t> items;
    while (true) {
        _counters.beats.add();
        items.clear();
        for (const auto &w : _watched)
            items.push_back({w->events.socket().handle(), 0, ZMQ_POLLIN, 0});
        items.push_back({nullptr, _stop.fd(), ZMQ_POLLIN, 0});
        zmq::poll(items.data(), items.size(), idle_poll);
        _refusal_log.flush_due();
        if ((items.back().revents & ZMQ_POLLIN) != 0)
            break;
        for (std::size_t i = 0; i < _watched.size(); ++i)
            if ((items[i].revents & ZMQ_POLLIN) != 0)
                while (const auto event = _watched[i]->events.next())
                    on_event(*_watched[i], *event);
    }
    _refusal_log.flush_all();
    for (const auto &w : _watched)
        w->events.close();
}

void handshake_watch::on_event(watched &from, const monitor_event &event) {
    if (from.link != nullptr) {
        const bool up = event.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        if (up)
            spdlog::info("{}", log_event("link is up").add("endpoint", from.endpoint).str());
        else if (from.link->connected.load(std::memory_order_relaxed))
            spdlog::warn(
                "{}", log_event("link is down; reconnecting").add("endpoint", from.endpoint).str());
        from.link->connected.store(up, std::memory_order_relaxed);
        return;
    }
    // A connection is counted from its accept to its close, whatever its handshake came to:
    // the value of both events is its fd, which libzmq may reuse only once it is closed.
    const auto which = static_cast<std::size_t>(from.clients);
    if (event.event == ZMQ_EVENT_ACCEPTED) {
        if (from.open.insert(static_cast<int>(event.value)).second)
            _counters.accepted.at(which).add();
        return;
    }
    if (event.event == ZMQ_EVENT_DISCONNECTED) {
        if (from.open.erase(static_cast<int>(event.value)) != 0)
            _counters.closed.at(which).add();
        return;
    }
    const auto reason = refusal_of(event.event, event.value, from.curve);
    if (!reason)
        return;
    _counters.auth_failures.at(static_cast<std::size_t>(from.side))
        .at(static_cast<std::size_t>(*reason))
        .add();
    _refusal_log.add(from.side, *reason, [&](log_event &line) {
        line.add("endpoint", event.endpoint).add("detail", describe_refusal(*reason, event.value));
    });
}

} // namespace zrelay
