#include "egress.hpp"

#include <chrono>

#include "clock.hpp"

namespace zrelay {
namespace {

// After an abort, how long the socket may linger so that a drain_deadline notice just sent
// leaves the process (nothing else waits then).
constexpr std::chrono::milliseconds notice_linger{200};

} // namespace

egress::egress(zmq::context_t &context, const egress_config &cfg, const socket_security &security,
               std::uint64_t affinity, stamper stamp_with, topic_table &topics,
               thread_counters &counters, const pipeline_control &control, drop_source drops,
               retention_log *retention, egress_links links)
    : _socket(context, zmq::socket_type::xpub), _topics(topics), _counters(counters),
      _control(control), _stamper(stamp_with), _stamp(cfg.stamp), _nodrop(cfg.nodrop),
      _drops(std::move(drops)), _retention(retention), _forward(links.forward),
      _subscribed(links.subscribed), _changes(links.changes), _upstream(cfg.max_topics) {
    if (cfg.drop_notices)
        _notices.emplace();
    _socket.set(zmq::sockopt::sndhwm, cfg.sndhwm);
    _socket.set(zmq::sockopt::xpub_nodrop, cfg.nodrop);
    _socket.set(zmq::sockopt::sndtimeo, static_cast<int>(idle_poll.count()));
    // close() sets the real linger; a relay that never ran has nothing to deliver.
    _socket.set(zmq::sockopt::linger, 0);
    if (affinity != 0)
        _socket.set(zmq::sockopt::affinity, affinity);
    _bound = attach_endpoints(_socket, "egress", cfg.bind, cfg.connect, security);
}

void egress::read_subscriptions() {
    zmq::message_t frame;
    while (_socket.recv(frame, zmq::recv_flags::dontwait)) {
        // XPUB passes up the first subscription to a prefix and the last unsubscription from it,
        // but also an unsubscription from a prefix it never had (libzmq 4.3.4's xpub.cpp passes
        // mtrie's not_found on): a set, so a stray cancel cannot take the gauge below zero.
        if (frame.empty())
            continue;
        const auto kind = *static_cast<const unsigned char *>(frame.data());
        const std::string_view prefix(static_cast<const char *>(frame.data()) + 1,
                                      frame.size() - 1);
        if (kind == 1)
            _prefixes.emplace(prefix);
        else if (kind == 0)
            _prefixes.erase(std::string(prefix));
        else
            continue;
        // Up the tree as it came: the XPUB passes a prefix's first subscription and its last
        // unsubscription only, which is what an upstream needs.
        if (_changes != nullptr)
            (void)_changes->send(frame, zmq::send_flags::dontwait);
    }
    _subscriptions.store(static_cast<std::int64_t>(_prefixes.size()), std::memory_order_relaxed);
}

bool egress::send_topic(zmq::message_t &topic_frame, const std::function<void()> &held_up) {
    if (_socket.send(topic_frame, zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return true;
    // Only with nodrop (without, the XPUB drops for a full subscriber and the send succeeds).
    // Counted as it goes, so a scrape during a long wait sees it grow.
    auto mark = std::chrono::steady_clock::now();
    const auto count_wait = [&] {
        const auto now = std::chrono::steady_clock::now();
        _counters.nodrop_wait_ns.add(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - mark).count()));
        mark = now;
    };
    while (!_socket.send(topic_frame, zmq::send_flags::sndmore)) {
        // SNDTIMEO passed with a subscriber still at its HWM.
        count_wait();
        _counters.beats.add();
        if (_control.aborted())
            return false;
        if (held_up)
            held_up();
        tick();
    }
    count_wait();
    return true;
}

bool egress::publish(pipeline_item &item, const std::function<void()> &held_up) {
    const std::string_view topic(static_cast<const char *>(item.topic.data()), item.topic.size());
    const topic_count counted = _topics.count_indexed(topic);
    if (item.upstream.instance != 0)
        check_upstream(item, counted.index);
    // The stamped copy (or the producer's frame itself when not stamping).
    zmq::message_t stamped;
    zmq::message_t &body = _stamp ? stamped : item.body;
    if (_stamp)
        stamped = _stamper.stamp(item.body, counted.sequence, item.received_ns, item.upstream);
    const std::size_t bytes = body.size();
    // Sending a message_t hands its bytes to zmq, and retention and forwarding need the topic
    // (and forwarding the body) after the send: the XPUB gets copies, which share the bytes
    // (zmq_msg_copy: a reference count for a long frame, inline bytes for one up to 33).
    const bool keep = _retention != nullptr || _forward != nullptr;
    zmq::message_t topic_copy;
    if (keep)
        topic_copy.copy(item.topic);
    zmq::message_t &topic_frame = keep ? topic_copy : item.topic;
    if (!send_topic(topic_frame, held_up))
        return false;
    // Untracked topics (sequence 0) cannot be asked for by sequence, nor have a last value.
    if (_retention != nullptr && counted.sequence != 0)
        _retention->append(counted.index, topic, counted.sequence,
                           {static_cast<const char *>(body.data()), bytes});
    zmq::message_t forward_copy;
    if (_forward != nullptr) {
        // Spread round robin, a topic's messages reach each next relay in part: their copy is
        // stamped with sequence 0, "not numbered", so that no relay or subscriber downstream
        // takes the parts for gaps.
        if (_stamp && _forward->spreads())
            forward_copy = _stamper.stamp(item.body, 0, item.received_ns, item.upstream);
        else
            forward_copy.copy(body);
    }
    // zmq checks the HWM on a message's first frame only, so this one does not wait; the loop
    // is for safety.
    while (!_socket.send(body, zmq::send_flags::none)) {
        if (_control.aborted())
            return false;
    }
    _counters.published.add();
    _counters.bytes_published.add(bytes);
    if (_forward != nullptr)
        return _forward->forward(topic, forward_copy, [&] {
            _counters.beats.add();
            if (held_up)
                held_up();
            tick();
        });
    return true;
}

void egress::check_upstream(const pipeline_item &item, std::uint32_t topic_index) {
    // Over a subscribe link the upstream is one relay: a new instance is its restart.
    if (item.link != 0 && _subscribed != nullptr && item.link <= _subscribed->size()) {
        if (_link_instances.size() < _subscribed->size())
            _link_instances.resize(_subscribed->size());
        std::uint64_t &seen = _link_instances[item.link - 1];
        if (seen != item.upstream.instance) {
            if (seen != 0) {
                (*_subscribed)[item.link - 1].restarts.add();
                _upstream.restarted(seen, item.upstream.instance);
            }
            seen = item.upstream.instance;
        }
    }
    const std::uint64_t missing =
        _upstream.check(item.upstream.instance, topic_index, item.upstream.sequence);
    if (missing == 0)
        return;
    _counters.upstream_gaps.add();
    _counters.upstream_missing.add(missing);
    if (item.link != 0 && _subscribed != nullptr && item.link <= _subscribed->size()) {
        link_counters &link = (*_subscribed)[item.link - 1];
        link.gaps.add();
        link.missing.add(missing);
    }
}

void egress::tick() {
    read_subscriptions();
    if (_notices)
        publish_drop_notices(drop_notices::clock::now());
}

void egress::publish_drop_notices(drop_notices::clock::time_point now) {
    const drop_totals t = _drops();
    while (const auto due = _notices->due(t, now)) {
        if (!send_own(drops_topic, drop_notices::content(*due)))
            return; // a subscriber of the notices is at its HWM (nodrop): try again next tick
        _notices->sent(*due, now);
        _counters.notices.add();
    }
    while (const auto due = _upstream.due(now)) {
        if (!send_own(drops_topic, upstream_gaps::content(*due)))
            return;
        _upstream.sent(*due, now);
        _counters.notices.add();
    }
    while (const auto due = _upstream.restart_due()) {
        if (!send_own(drops_topic, *due))
            return;
        _upstream.restart_sent();
        _counters.notices.add();
    }
}

bool egress::send_own(std::string_view topic, const std::string &content) {
    // Rare (a notice a second at most per reason): building the message may allocate.
    const std::string encoded = encode_envelope(topic, content);
    zmq::message_t body(encoded.data(), encoded.size());
    if (_stamp)
        body = _stamper.stamp(body, _topics.peek(topic), epoch_ns());
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

void egress::close() {
    // After a drain, give subscribers until the deadline to take what is queued for them; after
    // an abort nothing waits (the context's termination would otherwise block on it), but for a
    // moment for the drain_deadline notice.
    auto linger = _control.aborted() ? std::chrono::milliseconds(0) : _control.drain_time_left();
    if (_control.aborted() && _control.draining() && _notices) {
        const auto before = _counters.notices.value();
        // The source now counts what was received and neither published nor refused as lost;
        // whatever other reasons the rate limit holds back go out too: it is the last word.
        _notices->waive_interval();
        publish_drop_notices(drop_notices::clock::now());
        if (_counters.notices.value() != before)
            linger = notice_linger;
    }
    _socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    _socket.close();
    if (_forward != nullptr)
        _forward->close(_control.aborted() ? std::chrono::milliseconds(0)
                                           : _control.drain_time_left());
}

} // namespace zrelay
