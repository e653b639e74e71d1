#include "publisher.hpp"

#include <array>
#include <chrono>

#include <spdlog/spdlog.h>

namespace zrelay {
namespace {

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// After an abort, how long the sockets may linger so that a drain_deadline notice just sent
// leaves the process (nothing else waits then).
constexpr std::chrono::milliseconds notice_linger{200};

} // namespace

publisher::publisher(zmq::context_t &context, const config &cfg, const socket_security &security,
                     std::vector<pipe *> inputs, credits &credits, thread_counters &counters,
                     std::span<const thread_counters> all, topic_table &topics,
                     const pipeline_control &control)
    : _socket(context, zmq::socket_type::xpub), _inputs(std::move(inputs)), _credits(credits),
      _counters(counters), _all(all), _topics(topics), _control(control), _stamp(cfg.egress.stamp),
      _nodrop(cfg.egress.nodrop) {
    if (cfg.egress.drop_notices)
        _notices.emplace();
    _socket.set(zmq::sockopt::sndhwm, cfg.egress.sndhwm);
    _socket.set(zmq::sockopt::xpub_nodrop, cfg.egress.nodrop);
    _socket.set(zmq::sockopt::sndtimeo, static_cast<int>(idle_poll.count()));
    // run() sets the real linger when it closes; a relay that never ran has nothing to deliver.
    _socket.set(zmq::sockopt::linger, 0);
    _bound = attach_endpoints(_socket, "egress", cfg.egress.bind, cfg.egress.connect, security);
    if (!cfg.invalid.dead_letter.empty())
        _dead_letters.emplace(context, cfg.invalid, security);
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
    const std::string_view topic(static_cast<const char *>(item.topic.data()), item.topic.size());
    const std::uint64_t sequence = _topics.count(topic);
    // The stamped copy (or the producer's frame itself when not stamping).
    zmq::message_t stamped;
    zmq::message_t &body = _stamp ? stamped : item.body;
    if (_stamp)
        stamped = _stamper.stamp(item.body, sequence, item.received_ns);
    const std::size_t bytes = body.size();
    while (!_socket.send(item.topic, zmq::send_flags::sndmore)) {
        // SNDTIMEO passed with a subscriber still at its HWM (nodrop).
        _counters.beats.add();
        if (_control.aborted())
            return false;
        // A waiting publisher returns credits it holds, so zrelay_inflight tells the truth.
        return_credits();
        tick();
    }
    // zmq checks the HWM on a message's first frame only, so this one does not wait; the loop
    // is for safety.
    while (!_socket.send(body, zmq::send_flags::none)) {
        if (_control.aborted())
            return false;
    }
    _counters.published.add();
    _counters.bytes_published.add(bytes);
    return true;
}

void publisher::reject(pipeline_item &item) {
    if (!_dead_letters)
        return;
    _dead_letters->send(item.reason, item.body, item.rest.get());
    _counters.dead_letters.add();
}

void publisher::tick() {
    read_subscriptions();
    if (_notices)
        publish_drop_notices(drop_notices::clock::now());
}

drop_totals publisher::totals() const noexcept {
    drop_totals t{};
    for (const thread_counters &c : _all)
        for (std::size_t r = 1; r < drop_reason_count; ++r)
            t[r] += c.invalid[r].value();
    t[drain_deadline] = _drain_losses;
    return t;
}

void publisher::publish_drop_notices(drop_notices::clock::time_point now) {
    const drop_totals t = totals();
    while (const auto due = _notices->due(t, now)) {
        if (!send_own(drops_topic, drop_notices::content(*due)))
            return; // a subscriber of the notices is at its HWM (nodrop): try again next tick
        _notices->sent(*due, now);
        _counters.notices.add();
    }
}

bool publisher::send_own(std::string_view topic, const std::string &content) {
    // Rare (a notice a second at most per reason): building the message may allocate.
    const std::string encoded = encode_envelope(topic, content);
    zmq::message_t body(encoded.data(), encoded.size());
    if (_stamp)
        body = _stamper.stamp(body, _topics.peek(topic), now_ns());
    // The relay's own messages never wait: with nodrop, a subscriber at its HWM would hold back
    // a notice from everyone (most of all when it is what made the drain run out of time). For
    // this one message the XPUB drops instead, for that subscriber alone.
    if (_nodrop)
        _socket.set(zmq::sockopt::xpub_nodrop, false);
    const bool sent = _socket
                          .send(zmq::const_buffer(topic.data(), topic.size()),
                                zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                          .has_value();
    if (sent)
        (void)_socket.send(body, zmq::send_flags::dontwait);
    if (_nodrop)
        _socket.set(zmq::sockopt::xpub_nodrop, true);
    if (sent)
        (void)_topics.count(topic); // the sequence is taken only once the message went
    return sent;
}

void publisher::run() {
    std::size_t next = 0;
    std::size_t ended = 0;
    std::size_t since_tick = 0;
    while (ended < _inputs.size() && !_control.aborted()) {
        _counters.beats.add();
        std::optional<pipeline_item> item = _inputs[next]->read();
        if (!item) {
            return_credits();
            tick();
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
        if (item->reason != invalid_reason::none)
            reject(*item);
        else if (!publish(*item))
            break;
        if (++_unreturned == static_cast<std::int64_t>(batch_size))
            return_credits();
        // Subscriptions queue up inside the XPUB until read; read them now and then under load.
        if (++since_tick == 1024) {
            since_tick = 0;
            tick();
        }
    }
    return_credits();
    close();
}

void publisher::close() {
    // After a drain, give subscribers until the deadline to take what is queued for them; after
    // an abort nothing waits (the context's termination would otherwise block on it), but for a
    // moment for the drain_deadline notice.
    auto linger = _control.aborted() ? std::chrono::milliseconds(0) : _control.drain_time_left();
    if (_control.aborted() && _control.draining() && _notices) {
        // What was received and neither published nor refused is lost now.
        std::uint64_t received = 0;
        std::uint64_t accounted = 0;
        for (const thread_counters &c : _all) {
            received += c.received.value();
            accounted += c.published.value();
            for (std::size_t r = 1; r < drop_reason_count; ++r)
                accounted += c.invalid[r].value();
        }
        _drain_losses = received > accounted ? received - accounted : 0;
        const auto before = _counters.notices.value();
        // Whatever other reasons are held back by the rate limit go out too: it is the last word.
        _notices->waive_interval();
        publish_drop_notices(drop_notices::clock::now());
        if (_counters.notices.value() != before)
            linger = notice_linger;
    }
    _socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    _socket.close();
    if (_dead_letters)
        _dead_letters->close();
}

} // namespace zrelay
