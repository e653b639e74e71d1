#include "relay.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "frame_guard.hpp"
#include "healthcheck.hpp"
#include "keys.hpp"

namespace zrelay {
namespace {

// A subscriber sends subscribe frames (1 byte + a prefix of at most 255 bytes: no topic is
// longer) and, under CURVE, a handshake of a few hundred bytes. Anything bigger from it is
// not a subscriber: ZMQ_MAXMSGSIZE drops the connection at the frame header.
constexpr std::int64_t max_egress_inbound_frame = 1024;
// The relay takes single-frame messages; a few more frames are still read and counted as
// "multipart", so a misbehaving producer shows in the metrics rather than as lost connections.
constexpr std::uint32_t max_message_frames = 64;

} // namespace

frame_limits message_limits(const config &cfg) {
    return {.max_message_bytes = std::uint64_t{cfg.ingress.max_message_bytes} * 2,
            .max_message_frames = max_message_frames};
}

relay::relay(const config &cfg)
    : _context(1), _credits(cfg.pipeline.max_inflight), _counter_blocks(3 + cfg.workers),
      _topics(cfg.egress.max_topics, cfg.metrics.max_topic_labels,
              std::string(health_topic_prefix)) {
    // The context's own io thread must never take a signal meant for main's signalfd: main
    // blocks them before constructing the relay, and the io thread inherits the mask.
    // Blocks: [receiver, publisher, worker 0.., authenticator].
    _counters = std::make_unique<thread_counters[]>(_counter_blocks);
    socket_security in = security_for(cfg, "ingress");
    socket_security out = security_for(cfg, "egress");
    // Frames up to twice max_message_bytes are read and counted as oversize (the producer keeps
    // its connection and the operator sees why its messages went nowhere); a bigger frame drops
    // the connection at its header, before zmq allocates anything for it.
    in.max_frame_bytes = static_cast<std::int64_t>(message_limits(cfg).max_message_bytes);
    out.max_frame_bytes = max_egress_inbound_frame;
    if (in.curve || out.curve) {
        // Bound before any CURVE socket, so no handshake can find it missing.
        _authenticator = std::make_unique<authenticator>(_context, _counters[_counter_blocks - 1]);
        if (in.curve)
            _own_keys[authenticator::ingress] = in.curve->public_key;
        if (out.curve)
            _own_keys[authenticator::egress] = out.curve->public_key;
        reload_allow_lists(cfg);
    }
    if (cfg.workers == 0) {
        // The direct path: one thread from PULL to XPUB. Egress first: a relay that cannot
        // publish must not start taking messages.
        _publisher =
            std::make_unique<publisher>(_context, cfg, out, std::vector<pipe *>{}, _credits,
                                        _counters[1], all_counters(), _topics, _control);
        _receiver = std::make_unique<receiver>(_context, cfg.ingress, in, *_publisher,
                                               validator(cfg.routing.default_topic), _credits,
                                               _counters[0], _control);
        configure_receiver(cfg);
        return;
    }
    std::vector<pipe *> receiver_outputs;
    std::vector<pipe *> publisher_inputs;
    for (std::size_t i = 0; i < cfg.workers; ++i) {
        _from_workers.push_back(std::make_unique<pipe>());
        publisher_inputs.push_back(_from_workers.back().get());
        _to_workers.push_back(std::make_unique<pipe>());
        receiver_outputs.push_back(_to_workers.back().get());
        _workers.push_back(std::make_unique<worker>(*_to_workers.back(), *_from_workers.back(),
                                                    cfg.routing.default_topic, _counters[2 + i],
                                                    _control));
    }
    _publisher =
        std::make_unique<publisher>(_context, cfg, out, std::move(publisher_inputs), _credits,
                                    _counters[1], all_counters(), _topics, _control);
    _receiver = std::make_unique<receiver>(_context, cfg.ingress, in, std::move(receiver_outputs),
                                           _credits, _counters[0], _control);
    configure_receiver(cfg);
}

void relay::configure_receiver(const config &cfg) {
    _receiver->stamp_receive_time(cfg.egress.stamp);
    _receiver->keep_refused(!cfg.invalid.dead_letter.empty());
}

void relay::reload_allow_lists(const config &cfg) {
    if (!_authenticator)
        return;
    // Read both before applying either: a reload applies whole or not at all.
    std::array<std::optional<std::vector<std::string>>, 2> lists;
    const std::array<const curve_config *, 2> sides{&cfg.security.ingress_curve,
                                                    &cfg.security.egress_curve};
    for (std::size_t i = 0; i < 2; ++i)
        if (!_own_keys.at(i).empty() && sides.at(i)->enabled())
            lists.at(i) = load_allow_list(sides.at(i)->allow);
    for (std::size_t i = 0; i < 2; ++i) {
        if (!lists.at(i))
            continue;
        const auto which = static_cast<authenticator::side>(i);
        _authenticator->allow(which, *lists.at(i), _own_keys.at(i));
        _allowed_counts.at(i) = lists.at(i)->size();
        const char *side = i == 0 ? "ingress" : "egress";
        if (lists.at(i)->empty())
            spdlog::warn("CURVE on {}: the allow-list {} holds no keys, so no client can connect",
                         side, sides.at(i)->allow);
        else
            spdlog::info("CURVE on {}: {} client keys allowed from {}", side, lists.at(i)->size(),
                         sides.at(i)->allow);
    }
}

relay::~relay() {
    if (!_threads.empty() || _authenticator_thread.joinable()) {
        abort();
        join();
    }
}

void relay::record_failure(const char *name, const std::exception &e) {
    // No exception leaves a thread: record it, stop the others, let main decide.
    {
        const std::lock_guard lock(_failure_mutex);
        if (!_failure)
            _failure = std::string(name) + ": " + e.what();
    }
    _control.abort();
    _stopped.send();
}

template <typename F>
void relay::spawn(const char *name, F body) {
    _running.fetch_add(1);
    _threads.emplace_back([this, name, body]() mutable {
        pthread_setname_np(pthread_self(), name);
        try {
            body();
        } catch (const std::exception &e) {
            record_failure(name, e);
        }
        if (_running.fetch_sub(1) == 1)
            _stopped.send();
    });
}

void relay::start() {
    const bool direct = _workers.empty(); // workers: 0
    _thread_count = direct ? 1 : 2 + _workers.size();
    // Block i belongs to thread i; the direct path's one thread writes block 0 (and block 1,
    // the publisher's counters, only when it publishes); the authenticator has the last.
    _beat_blocks.clear();
    for (std::size_t i = 0; i < (direct ? 1 : _counter_blocks - 1); ++i)
        _beat_blocks.push_back(i);
    if (_authenticator) {
        _beat_blocks.push_back(_counter_blocks - 1);
        // Not counted in _running: it serves handshakes until join(), after the others end.
        _authenticator_thread = std::thread([this] {
            pthread_setname_np(pthread_self(), "zrelay-auth");
            try {
                _authenticator->run();
            } catch (const std::exception &e) {
                record_failure("zrelay-auth", e);
            }
        });
    }
    _last_beats.assign(_beat_blocks.size(), 0);
    if (!direct)
        spawn("zrelay-publish", [this] { _publisher->run(); });
    for (std::size_t i = 0; i < _workers.size(); ++i) {
        // Thread names are at most 15 characters.
        static constexpr const char *names[] = {"zrelay-work0", "zrelay-work1", "zrelay-work2",
                                                "zrelay-work3", "zrelay-work4", "zrelay-work5",
                                                "zrelay-work6", "zrelay-work7"};
        spawn(i < 8 ? names[i] : "zrelay-work", [this, i] { _workers[i]->run(); });
    }
    spawn(direct ? "zrelay-relay" : "zrelay-receive", [this] { _receiver->run(); });
    _started.store(true);
}

void relay::request_drain(std::chrono::steady_clock::time_point deadline) {
    _control.request_drain(deadline);
}

void relay::abort() {
    _control.abort();
}

bool relay::wait_until(std::chrono::steady_clock::time_point deadline) {
    while (_running.load() != 0) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        _stopped.wait(left);
    }
    return true;
}

void relay::join() {
    for (auto &t : _threads)
        if (t.joinable())
            t.join();
    if (_authenticator_thread.joinable()) {
        _authenticator->stop();
        _authenticator_thread.join();
    }
}

std::optional<std::string> relay::failure() const {
    const std::lock_guard lock(_failure_mutex);
    return _failure;
}

metrics_snapshot relay::snapshot() const {
    metrics_snapshot s;
    for (std::size_t i = 0; i < _counter_blocks; ++i)
        s.add(_counters[i]);
    s.inflight = _credits.in_flight();
    s.max_inflight = _credits.capacity();
    s.subscriptions = _publisher->subscriptions();
    s.topics = _topics.labelled();
    s.topics_other = _topics.other();
    s.draining = _control.draining();
    s.connections_dropped = frame_guard_cuts();
    return s;
}

bool relay::all_threads_beating() {
    bool all = true;
    for (std::size_t i = 0; i < _last_beats.size(); ++i) {
        const std::uint64_t beats = _counters[_beat_blocks[i]].beats.value();
        all = all && beats != _last_beats[i];
        _last_beats[i] = beats;
    }
    return all && !_last_beats.empty();
}

bool relay::healthy() const noexcept {
    return _started.load() && _running.load() == _thread_count && !_control.draining() &&
           !_control.aborted();
}

std::vector<std::string> relay::ingress_endpoints() const {
    return _receiver->bound();
}

std::vector<std::string> relay::egress_endpoints() const {
    return _publisher->bound();
}

std::vector<std::string> relay::dead_letter_endpoints() const {
    return _publisher->dead_letter_bound();
}

} // namespace zrelay
