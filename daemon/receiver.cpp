#include "receiver.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include <spdlog/spdlog.h>

#include "errors.hpp"

namespace zrelay {

receiver::receiver(zmq::context_t &context, const ingress_config &cfg,
                   const socket_security &security, std::vector<pipe *> outputs, credits &credits,
                   thread_counters &counters, const pipeline_control &control)
    : receiver(context, cfg, security, std::move(outputs), nullptr, std::nullopt, credits, counters,
               control) {}

receiver::receiver(zmq::context_t &context, const ingress_config &cfg,
                   const socket_security &security, publisher &direct, validator inline_validator,
                   credits &credits, thread_counters &counters, const pipeline_control &control)
    : receiver(context, cfg, security, {}, &direct, std::move(inline_validator), credits, counters,
               control) {}

receiver::receiver(zmq::context_t &context, const ingress_config &cfg,
                   const socket_security &security, std::vector<pipe *> outputs, publisher *direct,
                   std::optional<validator> inline_validator, credits &credits,
                   thread_counters &counters, const pipeline_control &control)
    : _socket(context, zmq::socket_type::pull), _max_message_bytes(cfg.max_message_bytes),
      _outputs(std::move(outputs)), _credits(credits), _counters(counters), _control(control),
      _validator(std::move(inline_validator)), _direct(direct) {
    _socket.set(zmq::sockopt::rcvhwm, cfg.rcvhwm);
    // Whatever is still queued when the receiver closes was never received: nothing to keep.
    _socket.set(zmq::sockopt::linger, 0);
    _bound = attach_endpoints(_socket, "ingress", cfg.bind, cfg.connect, security);
}

void receiver::flush_all() {
    for (pipe *p : _outputs)
        p->flush();
}

// Waits until a credit is free; false if the relay aborts meanwhile.
bool receiver::wait_for_credits() {
    flush_all(); // the publisher can only return credits for what it can see
    while (!_control.aborted()) {
        _counters.beats.add();
        std::array<zmq::pollitem_t, 2> items{{
            {nullptr, _credits.fd(), ZMQ_POLLIN, 0},
            {nullptr, _control.abort_fd(), ZMQ_POLLIN, 0},
        }};
        zmq::poll(items.data(), items.size(), idle_poll);
        if ((items[0].revents & ZMQ_POLLIN) != 0) {
            _credits.rearm();
            return true;
        }
    }
    return false;
}

void receiver::take_time(pipeline_item &item) const noexcept {
    if (_stamp_time)
        item.received_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
}

void receiver::refuse(pipeline_item &item) {
    _counters.received.add();
    zmq::message_t &msg = item.body;
    std::size_t bytes = msg.size();
    item.reason = invalid_reason::none;
    if (msg.more()) {
        // A multi-part message arrives whole, so the rest is already here: take it all.
        if (_keep_refused)
            item.rest = std::make_unique<std::vector<zmq::message_t>>();
        bool more = true;
        while (more) {
            zmq::message_t part;
            if (!_socket.recv(part, zmq::recv_flags::dontwait))
                break;
            bytes += part.size();
            more = part.more();
            if (_keep_refused)
                item.rest->push_back(std::move(part));
        }
        item.reason = invalid_reason::multipart;
    } else if (msg.size() > _max_message_bytes) {
        item.reason = invalid_reason::oversize;
    }
    _counters.bytes_received.add(bytes);
    if (item.reason != invalid_reason::none) {
        _counters.invalid[static_cast<std::size_t>(item.reason)].add();
        if (_invalid_log.allow())
            spdlog::warn("dropped an invalid message ({}, {} bytes); {} more dropped since the "
                         "last such line",
                         to_string(item.reason), bytes, _invalid_log.suppressed());
    }
}

void receiver::handle(pipeline_item &item, std::int64_t &held, std::size_t &unflushed) {
    refuse(item);
    if (item.reason != invalid_reason::none && !_keep_refused)
        return;
    take_time(item);
    --held;
    _outputs[_next]->write(std::move(item));
    _next = _next + 1 == _outputs.size() ? 0 : _next + 1;
    if (++unflushed == batch_size) {
        flush_all();
        unflushed = 0;
    }
}

void receiver::send_end_items() {
    // In round-robin order from where the data stopped, as the publisher will read them.
    for (std::size_t i = 0; i < _outputs.size(); ++i) {
        pipeline_item end;
        end.end = true;
        _outputs[_next]->write(std::move(end));
        _next = _next + 1 == _outputs.size() ? 0 : _next + 1;
    }
    flush_all();
}

bool receiver::wait_for_input(void *also_watch) {
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
    std::array<zmq::pollitem_t, 4> items{{
        {_socket.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, _control.abort_fd(), ZMQ_POLLIN, 0},
        {also_watch, 0, ZMQ_POLLIN, 0},
        {nullptr, _control.drain_fd(), ZMQ_POLLIN, 0}, // left out once draining
    }};
    std::size_t n = 4;
    if (also_watch == nullptr) {
        items[2] = items[3];
        --n;
    }
    if (draining)
        --n;
    zmq::poll(items.data(), n, timeout);
    // Draining and quiet: drained. (Something else woke us, such as a subscription: not quiet.)
    const bool woken = std::any_of(items.begin(), items.begin() + n,
                                   [](const zmq::pollitem_t &i) { return i.revents != 0; });
    return !(draining && !woken) && !_control.aborted();
}

void receiver::run() {
    if (_direct != nullptr)
        run_direct();
    else
        run_pipeline();
    _socket.close();
}

void receiver::run_pipeline() {
    std::int64_t held = 0; // credits taken and not yet spent on a message
    std::size_t unflushed = 0;
    while (!_control.aborted()) {
        _counters.beats.add();
        if (held == 0) {
            held = _credits.acquire(static_cast<std::int64_t>(batch_size));
            if (held == 0) {
                unflushed = 0;
                if (!wait_for_credits())
                    break;
                continue;
            }
        }
        pipeline_item item; // zmq_msg_init: no allocation
        if (_socket.recv(item.body, zmq::recv_flags::dontwait)) {
            handle(item, held, unflushed);
            continue;
        }
        // PULL is empty for now.
        flush_all();
        unflushed = 0;
        _credits.release(held); // so zrelay_inflight reads true while idle
        held = 0;
        if (!wait_for_input(nullptr))
            break;
    }
    _credits.release(held);
    if (!_control.aborted())
        send_end_items();
}

void receiver::run_direct() {
    // While running, an empty PULL is waited on with a blocking recv that gives up after
    // idle_poll, not with zmq_poll over the control fds: a blocking recv is one poll() on the
    // socket's mailbox, where zmq_poll over four items makes several calls per item, and on a
    // stream of large messages the thread waits once per message. The price is that a drain or
    // an abort is noticed up to idle_poll late.
    _socket.set(zmq::sockopt::rcvtimeo, static_cast<int>(idle_poll.count()));
    std::size_t since_tick = 0;
    pipeline_item item;
    while (!_control.aborted()) {
        _counters.beats.add();
        const bool draining = _control.draining();
        if (!_socket.recv(item.body,
                          draining ? zmq::recv_flags::dontwait : zmq::recv_flags::none)) {
            // PULL is empty for now (or stayed empty for idle_poll).
            _direct->tick();
            if (draining && !wait_for_input(_direct->handle()))
                break;
            continue;
        }
        // Subscriptions queue up inside the XPUB until read; read them (and publish the drop
        // notices due) now and then under load, invalid input included.
        if (++since_tick == 1024) {
            since_tick = 0;
            _direct->tick();
        }
        refuse(item);
        if (item.reason == invalid_reason::none) {
            take_time(item);
            _validator->process(item, _counters);
        }
        if (item.reason != invalid_reason::none) {
            _direct->reject(item);
            item.rest.reset();
            continue;
        }
        if (!_direct->publish(item))
            break; // aborted while a subscriber held us up
    }
    _direct->close();
}

} // namespace zrelay
