#include "handshake_watch.hpp"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include "idle_poll.hpp"

namespace zrelay {

void handshake_watch::watch(zmq::socket_t &socket, relay_side side, bool curve) {
    // ZMQ_EVENT_HANDSHAKE_FAILED_AUTH is left out: the authenticator counts those.
    constexpr int refusals =
        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    _watched.push_back(std::make_unique<watched>(
        watched{socket_monitor(_context, socket, refusals), side, curve, nullptr, {}}));
}

void handshake_watch::watch_link(zmq::socket_t &socket, link_counters &link, std::string endpoint) {
    constexpr int changes = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED;
    _watched.push_back(
        std::make_unique<watched>(watched{socket_monitor(_context, socket, changes),
                                          relay_side::egress, false, &link, std::move(endpoint)}));
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
        if ((items.back().revents & ZMQ_POLLIN) != 0)
            break;
        for (std::size_t i = 0; i < _watched.size(); ++i)
            if ((items[i].revents & ZMQ_POLLIN) != 0)
                while (const auto event = _watched[i]->events.next())
                    on_event(*_watched[i], *event);
    }
    for (const auto &w : _watched)
        w->events.close();
}

void handshake_watch::on_event(const watched &from, const monitor_event &event) {
    if (from.link != nullptr) {
        const bool up = event.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        if (up)
            spdlog::info("link {} is up", from.endpoint);
        else if (from.link->connected.load(std::memory_order_relaxed))
            spdlog::warn("link {} is down; reconnecting", from.endpoint);
        from.link->connected.store(up, std::memory_order_relaxed);
        return;
    }
    const auto reason = refusal_of(event.event, event.value, from.curve);
    if (!reason)
        return;
    _counters.auth_failures.at(static_cast<std::size_t>(from.side))
        .at(static_cast<std::size_t>(*reason))
        .add();
    if (_refusal_log.allow())
        spdlog::warn("handshake: refused a client on {} ({}), reason {}: {}; {} more refused "
                     "since the last such line",
                     to_string(from.side), event.endpoint, to_string(*reason),
                     describe_refusal(*reason, event.value), _refusal_log.suppressed());
}

} // namespace zrelay
