#include "publisher.hpp"

#include <array>

#include <spdlog/spdlog.h>

#include "receiver.hpp"

namespace zrelay {

publisher::publisher(zmq::context_t &context, const egress_config &cfg,
                     const socket_security &security, std::vector<pipe *> inputs, credits &credits,
                     thread_counters &counters, const pipeline_control &control)
    : _socket(context, zmq::socket_type::xpub), _inputs(std::move(inputs)), _credits(credits),
      _counters(counters), _control(control) {
    _socket.set(zmq::sockopt::sndhwm, cfg.sndhwm);
    _socket.set(zmq::sockopt::xpub_nodrop, cfg.nodrop);
    _socket.set(zmq::sockopt::sndtimeo, static_cast<int>(idle_poll.count()));
    // run() sets the real linger when it closes; a relay that never ran has nothing to deliver.
    _socket.set(zmq::sockopt::linger, 0);
    _bound = attach_endpoints(_socket, "egress", cfg.bind, cfg.connect, security);
}

void publisher::read_subscriptions() {
    zmq::message_t frame;
    while (_socket.recv(frame, zmq::recv_flags::dontwait)) {
        // XPUB passes up the first subscription to a prefix and the last unsubscription from it.
        if (frame.empty())
            continue;
        const auto kind = *static_cast<const unsigned char *>(frame.data());
        const std::int64_t delta = kind == 1 ? 1 : kind == 0 ? -1 : 0;
        _subscriptions.store(_subscriptions.load(std::memory_order_relaxed) + delta,
                             std::memory_order_relaxed);
    }
}

void publisher::return_credits() {
    _credits.release(_unreturned);
    _unreturned = 0;
}

bool publisher::publish(pipeline_item &item) {
    const std::size_t bytes = item.body.size();
    while (!_socket.send(item.topic, zmq::send_flags::sndmore)) {
        // SNDTIMEO passed with a subscriber still at its HWM (nodrop).
        _counters.beats.add();
        if (_control.aborted())
            return false;
        // A waiting publisher returns credits it holds, so zrelay_inflight tells the truth.
        return_credits();
        read_subscriptions();
    }
    // zmq checks the HWM on a message's first frame only, so this one does not wait; the loop
    // is for safety.
    while (!_socket.send(item.body, zmq::send_flags::none)) {
        if (_control.aborted())
            return false;
    }
    _counters.published.add();
    _counters.bytes_published.add(bytes);
    return true;
}

void publisher::run() {
    std::size_t next = 0;
    std::size_t ended = 0;
    std::size_t since_subscriptions = 0;
    while (ended < _inputs.size() && !_control.aborted()) {
        _counters.beats.add();
        std::optional<pipeline_item> item = _inputs[next]->read();
        if (!item) {
            return_credits();
            read_subscriptions();
            std::array<zmq::pollitem_t, 3> items{{
                {_socket.handle(), 0, ZMQ_POLLIN, 0},
                {nullptr, _inputs[next]->fd(), ZMQ_POLLIN, 0},
                {nullptr, _control.abort_fd(), ZMQ_POLLIN, 0},
            }};
            zmq::poll(items.data(), items.size(), idle_poll); // wakes to beat for the watchdog
            if ((items[1].revents & ZMQ_POLLIN) != 0)
                _inputs[next]->rearm();
            continue;
        }
        next = next + 1 == _inputs.size() ? 0 : next + 1;
        if (item->end) {
            ++ended;
            continue;
        }
        if (item->reason == invalid_reason::none && !publish(*item))
            break;
        if (++_unreturned == static_cast<std::int64_t>(batch_size))
            return_credits();
        // Subscriptions queue up inside the XPUB until read; read them now and then under load.
        if (++since_subscriptions == 1024) {
            since_subscriptions = 0;
            read_subscriptions();
        }
    }
    return_credits();
    close();
}

void publisher::close() {
    // After a drain, give subscribers until the deadline to take what is queued for them; after
    // an abort nothing waits (the context's termination would otherwise block on it).
    const auto linger =
        _control.aborted() ? std::chrono::milliseconds(0) : _control.drain_time_left();
    _socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    _socket.close();
}

} // namespace zrelay
