#include "ingress.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include "clock.hpp"

namespace zrelay {

ingress::ingress(zmq::context_t &context, const ingress_config &cfg,
                 const socket_security &security, options opts, thread_counters &counters,
                 const pipeline_control &control, upstream_links *links)
    : _socket(context, zmq::socket_type::pull), _max_message_bytes(cfg.max_message_bytes),
      _options(opts), _counters(counters), _control(control), _links(links) {
    _socket.set(zmq::sockopt::rcvhwm, cfg.rcvhwm);
    _socket.set(zmq::sockopt::linger, 0);
    // A waiting receive() gives up after idle_poll, so its caller turns its loop (beats for the
    // watchdog, looks at the shutdown state) at least that often.
    _socket.set(zmq::sockopt::rcvtimeo, static_cast<int>(idle_poll.count()));
    if (opts.affinity != 0)
        _socket.set(zmq::sockopt::affinity, opts.affinity);
    _bound = attach_endpoints(_socket, "ingress", cfg.bind, cfg.connect, security);
}

bool ingress::receive(pipeline_item &item, bool wait) {
    if (_links == nullptr) {
        // A blocking recv that gives up after idle_poll rather than zmq_poll over the socket and
        // the control fds: it is one poll() on the socket's mailbox, where zmq_poll makes
        // several calls per item, and on a stream of large messages the caller waits once per
        // message.
        if (!_socket.recv(item.body, wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait)) {
            _invalid_log.flush_due(); // idle: tell what a burst held back
            return false;
        }
        refuse(item);
    } else if (!take(item)) {
        if (!wait) {
            _invalid_log.flush_due();
            return false;
        }
        _poll.clear(); // keeps its capacity: no allocation after the first wait
        _poll.push_back({_socket.handle(), 0, ZMQ_POLLIN, 0});
        if (!_control.draining())
            for (void *h : _links->handles())
                _poll.push_back({h, 0, ZMQ_POLLIN, 0});
        zmq::poll(_poll.data(), _poll.size(), idle_poll);
        if (!take(item)) {
            _invalid_log.flush_due();
            return false;
        }
    }
    if (_options.take_time && item.reason == invalid_reason::none)
        item.received_ns = epoch_ns();
    return true;
}

bool ingress::take(pipeline_item &item) {
    // Subscription changes wait in their PAIR until passed on: now and then under load, and
    // whenever nothing is waiting.
    if (++_since_changes >= 1024) {
        _since_changes = 0;
        _links->pass_subscriptions();
    }
    const bool links = !_control.draining();
    _links_first = !_links_first && links;
    if (_links_first && _links->take(item)) {
        account(item, item.body.size());
        return true;
    }
    if (_socket.recv(item.body, zmq::recv_flags::dontwait)) {
        item.link = 0;
        refuse(item);
        return true;
    }
    if (links && !_links_first && _links->take(item)) {
        account(item, item.body.size());
        return true;
    }
    _links->pass_subscriptions();
    return false;
}

void ingress::close() {
    _invalid_log.flush_all();
    _socket.close();
    if (_links != nullptr)
        _links->close();
}

void ingress::refuse(pipeline_item &item) {
    zmq::message_t &msg = item.body;
    std::size_t bytes = msg.size();
    item.reason = invalid_reason::none;
    if (msg.more()) {
        // A multi-part message arrives whole, so the rest is already here: take it all.
        if (_options.keep_refused)
            item.rest = std::make_unique<std::vector<zmq::message_t>>();
        bool more = true;
        while (more) {
            zmq::message_t part;
            if (!_socket.recv(part, zmq::recv_flags::dontwait))
                break;
            bytes += part.size();
            more = part.more();
            if (_options.keep_refused)
                item.rest->push_back(std::move(part));
        }
        item.reason = invalid_reason::multipart;
    } else if (msg.size() > _max_message_bytes) {
        item.reason = invalid_reason::oversize;
    }
    account(item, bytes);
}

void ingress::account(pipeline_item &item, std::size_t bytes) {
    if (item.reason == invalid_reason::none && item.body.size() > _max_message_bytes)
        item.reason = invalid_reason::oversize;
    _counters.received.add();
    _counters.bytes_received.add(bytes);
    if (item.reason != invalid_reason::none) {
        _counters.invalid[static_cast<std::size_t>(item.reason)].add();
        _invalid_log.add(item.reason, bytes);
    }
}

bool ingress::wait_for_input(void *also_watch) {
    const bool draining = _control.draining();
    auto timeout = idle_poll; // wakes now and then to beat for the watchdog
    if (draining) {
        // Empty for now is not drained: at RCVHWM zmq stops reading a connection and resumes
        // only after half of its queue was taken, so what producers already sent may still
        // sit in kernel buffers. Stop once PULL stays quiet for drain_quiet, or once half
        // the drain time has gone on reading (the other half is for publishing).
        timeout = std::min(drain_quiet, _control.reading_time_left());
        if (timeout.count() <= 0)
            return false;
    }
    _poll.clear(); // keeps its capacity: no allocation after the first wait
    _poll.push_back({_socket.handle(), 0, ZMQ_POLLIN, 0});
    _poll.push_back({nullptr, _control.abort_fd(), ZMQ_POLLIN, 0});
    if (also_watch != nullptr)
        _poll.push_back({also_watch, 0, ZMQ_POLLIN, 0});
    if (!draining) {
        _poll.push_back({nullptr, _control.drain_fd(), ZMQ_POLLIN, 0});
        if (_links != nullptr)
            for (void *h : _links->handles())
                _poll.push_back({h, 0, ZMQ_POLLIN, 0});
    }
    zmq::poll(_poll.data(), _poll.size(), timeout);
    // Draining and quiet: drained. (Something else woke us, such as a subscription: not quiet.)
    const bool woken = std::any_of(_poll.begin(), _poll.end(),
                                   [](const zmq::pollitem_t &i) { return i.revents != 0; });
    return !(draining && !woken) && !_control.aborted();
}

} // namespace zrelay
