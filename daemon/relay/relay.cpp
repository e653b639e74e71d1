#include "relay.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "frame_guard.hpp"
#include "keys.hpp"
#include "reserved_topics.hpp"

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
    : _context(static_cast<int>(cfg.io_threads)), _credits(cfg.pipeline.max_inflight),
      _counters(cfg.workers, cfg.egress.forward.size(), cfg.ingress.subscribe.size()),
      _topics(cfg.egress.max_topics, cfg.metrics.max_topic_labels,
              std::string(health_topic_prefix)) {
    // The context's own io threads must never take a signal meant for main's signalfd: main
    // blocks them before constructing the relay, and the io threads inherit the mask.
    socket_security in = security_for(cfg, "ingress");
    socket_security out = security_for(cfg, "egress");
    // Frames up to twice max_message_bytes are read and counted as oversize (the producer keeps
    // its connection and the operator sees why its messages went nowhere); a bigger frame drops
    // the connection at its header, before zmq allocates anything for it.
    in.max_frame_bytes = static_cast<std::int64_t>(message_limits(cfg).max_message_bytes);
    out.max_frame_bytes = max_egress_inbound_frame;
    _handshake_watch = std::make_unique<handshake_watch>(_context, _counters.handshakes);
    in.watch = _handshake_watch.get();
    out.watch = _handshake_watch.get();
    if (in.curve || out.curve) {
        // Bound before any CURVE socket, so no handshake can find it missing.
        _authenticator = std::make_unique<authenticator>(_context, _counters.authenticator);
        if (in.curve)
            _own_keys[authenticator::ingress] = in.curve->public_key;
        if (out.curve)
            _own_keys[authenticator::egress] = out.curve->public_key;
        reload_allow_lists(cfg);
    }
    // With two or more I/O threads, ingress's connections (decoding what producers send) go to
    // the first and egress's (encoding every subscriber's copy) to the others. Left to itself,
    // libzmq puts each new connection on the least loaded thread at that moment, which at start
    // is the same one for all: the other threads then sit idle.
    const std::uint64_t all_io = (std::uint64_t{1} << cfg.io_threads) - 1;
    const std::uint64_t ingress_io = cfg.io_threads >= 2 ? 1 : 0;
    const std::uint64_t egress_io = cfg.io_threads >= 2 ? all_io & ~ingress_io : 0;
    if (cfg.retention.max_bytes > 0)
        _retention = std::make_unique<retention_log>(
            cfg.retention.max_bytes, cfg.retention.last_values ? cfg.egress.max_topics : 0);
    if (!cfg.egress.forward.empty())
        _forwarder = std::make_unique<forwarder>(_context, cfg.egress, _counters.forward,
                                                 _handshake_watch.get(), _control);
    // Subscription changes go from egress's thread to ingress's over an inproc PAIR, unless the
    // links ask for fixed topics.
    std::optional<zmq::socket_t> changes_in;
    if (!cfg.ingress.subscribe.empty() && cfg.ingress.subscribe_topics.empty()) {
        static std::atomic<unsigned> pairs{0};
        const std::string name = "inproc://zrelay-subscription-changes-" +
                                 std::to_string(pairs.fetch_add(1, std::memory_order_relaxed));
        changes_in.emplace(_context, zmq::socket_type::pair);
        changes_in->bind(name);
        _changes_out.emplace(_context, zmq::socket_type::pair);
        _changes_out->set(zmq::sockopt::sndhwm, 0); // a handful, and never to be lost
        _changes_out->connect(name);
    }
    // Egress first: a relay that cannot publish must not start taking messages.
    _egress = std::make_unique<egress>(
        _context, cfg.egress, out, egress_io, stamper(), _topics, _counters.egress, _control,
        [this] { return drops(); }, _retention.get(),
        egress_links{.forward = _forwarder.get(),
                     .subscribed = &_counters.subscribe,
                     .changes = _changes_out ? &*_changes_out : nullptr});
    for (std::size_t i = 0; i < cfg.egress.forward.size(); ++i)
        _links.push_back({cfg.egress.forward[i], link_direction::forward, &_counters.forward[i]});
    if (!cfg.ingress.subscribe.empty()) {
        _upstream_links = std::make_unique<upstream_links>(
            _context, cfg.ingress, in.max_frame_bytes, _counters.subscribe, _handshake_watch.get(),
            std::move(changes_in));
        for (std::size_t i = 0; i < cfg.ingress.subscribe.size(); ++i)
            _links.push_back(
                {cfg.ingress.subscribe[i], link_direction::subscribe, &_counters.subscribe[i]});
    }
    // Who may not subscribe may not replay: the replay socket is secured as egress is.
    if (_retention && !cfg.replay.bind.empty())
        _replay = std::make_unique<replay_server>(_context, cfg.replay.bind, out, *_retention,
                                                  _egress->instance(), _counters.replay);
    if (!cfg.invalid.dead_letter.empty())
        _dead_letters =
            std::make_unique<dead_letters>(_context, cfg.invalid, out, _counters.egress);
    _ingress = std::make_unique<ingress>(_context, cfg.ingress, in,
                                         ingress::options{.take_time = cfg.egress.stamp,
                                                          .keep_refused = _dead_letters != nullptr,
                                                          .affinity = ingress_io},
                                         _counters.ingress, _control, _upstream_links.get());
    if (cfg.workers == 0) {
        _validator = std::make_unique<validator>(validator_options(cfg), _counters.ingress);
        _direct = std::make_unique<direct_path>(*_ingress, *_validator, *_egress,
                                                _dead_letters.get(), _counters.ingress, _control);
        return;
    }
    compose_pipelined(cfg);
}

void relay::compose_pipelined(const config &cfg) {
    std::vector<pipe *> dispatch_to;
    std::vector<pipe *> collect_from;
    for (std::size_t i = 0; i < cfg.workers; ++i) {
        _to_workers.push_back(std::make_unique<pipe>());
        dispatch_to.push_back(_to_workers.back().get());
        _from_workers.push_back(std::make_unique<pipe>());
        collect_from.push_back(_from_workers.back().get());
        _workers.push_back(
            std::make_unique<worker>(*_to_workers.back(), *_from_workers.back(),
                                     validator(validator_options(cfg), _counters.workers[i]),
                                     _counters.workers[i], _control));
    }
    _dispatcher =
        std::make_unique<dispatcher>(*_ingress, std::move(dispatch_to), _dead_letters != nullptr,
                                     _credits, _counters.ingress, _control);
    _collector = std::make_unique<collector>(std::move(collect_from), *_egress, _dead_letters.get(),
                                             _credits, _counters.egress, _control);
}

validator::options relay::validator_options(const config &cfg) const {
    // Without a stamp of its own, a relay cannot tell its messages coming back.
    return {.default_topic = cfg.routing.default_topic,
            .self = cfg.egress.stamp ? _egress->instance() : 0,
            .max_hops = cfg.routing.max_hops};
}

drop_totals relay::drops() const noexcept {
    drop_totals t{};
    _counters.for_each([&t](const thread_counters &c) {
        for (std::size_t r = 1; r < drop_reason_count; ++r)
            t[r] += c.invalid[r].value();
    });
    // Once a drain has run out of time, what was received and neither published nor refused is
    // lost; egress publishes that as its last notice.
    if (_control.aborted() && _control.draining())
        t[drain_deadline] = _counters.unaccounted();
    return t;
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
    if (!_threads.empty() || _authenticator_thread.joinable() ||
        _handshake_watch_thread.joinable() || _replay_thread.joinable()) {
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
auto relay::guarded(const char *name, F body) {
    return [this, name, body]() mutable {
        pthread_setname_np(pthread_self(), name);
        try {
            body();
        } catch (const std::exception &e) {
            record_failure(name, e);
        }
    };
}

template <typename F>
void relay::spawn(const char *name, F body) {
    _running.fetch_add(1);
    _threads.emplace_back([this, run = guarded(name, body)]() mutable {
        run();
        if (_running.fetch_sub(1) == 1)
            _stopped.send();
    });
}

void relay::start() {
    _beat_blocks.clear();
    if (_authenticator) {
        _beat_blocks.push_back({&_counters.authenticator, nullptr});
        // Not counted in _running: it serves handshakes until join(), after the others end.
        _authenticator_thread =
            std::thread(guarded("zrelay-auth", [this] { _authenticator->run(); }));
    }
    _beat_blocks.push_back({&_counters.handshakes, nullptr});
    // Not counted in _running either: it counts refusals until join().
    _handshake_watch_thread =
        std::thread(guarded("zrelay-watch", [this] { _handshake_watch->run(); }));
    if (_replay) {
        _beat_blocks.push_back({&_counters.replay, nullptr});
        _replay_thread = std::thread(guarded("zrelay-replay", [this] { _replay->run(); }));
    }
    if (_direct) {
        _thread_count = 1;
        _beat_blocks.push_back({&_counters.ingress, &_counters.egress});
        spawn("zrelay-relay", [this] { _direct->run(); });
    } else {
        _thread_count = 2 + _workers.size();
        _beat_blocks.push_back({&_counters.egress, nullptr});
        spawn("zrelay-publish", [this] { _collector->run(); });
        for (std::size_t i = 0; i < _workers.size(); ++i) {
            // Thread names are at most 15 characters.
            static constexpr const char *names[] = {"zrelay-work0", "zrelay-work1", "zrelay-work2",
                                                    "zrelay-work3", "zrelay-work4", "zrelay-work5",
                                                    "zrelay-work6", "zrelay-work7"};
            _beat_blocks.push_back({&_counters.workers[i], nullptr});
            spawn(i < 8 ? names[i] : "zrelay-work", [this, i] { _workers[i]->run(); });
        }
        _beat_blocks.push_back({&_counters.ingress, nullptr});
        spawn("zrelay-receive", [this] { _dispatcher->run(); });
    }
    _last_beats.assign(_beat_blocks.size(), 0);
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
    if (_replay_thread.joinable()) {
        _replay->stop();
        _replay_thread.join();
    }
    if (_authenticator_thread.joinable()) {
        _authenticator->stop();
        _authenticator_thread.join();
    }
    if (_handshake_watch_thread.joinable()) {
        _handshake_watch->stop();
        _handshake_watch_thread.join();
    }
}

std::optional<std::string> relay::failure() const {
    const std::lock_guard lock(_failure_mutex);
    return _failure;
}

metrics_snapshot relay::snapshot() const {
    metrics_snapshot s;
    _counters.for_each([&s](const thread_counters &c) { s.add(c); });
    s.pipelined = !_direct;
    s.inflight = _credits.in_flight();
    s.max_inflight = _credits.capacity();
    s.subscriptions = _egress->subscriptions();
    s.topics = _topics.labelled();
    s.topics_other = _topics.other();
    s.draining = _control.draining();
    s.connections_dropped = frame_guard_cuts();
    for (const link_entry &l : _links)
        s.links.push_back({l.endpoint, l.direction, l.counters->messages.value(),
                           l.counters->dropped.value(), l.counters->missing.value(),
                           l.counters->gaps.value(), l.counters->restarts.value(),
                           l.counters->connected.load(std::memory_order_relaxed)});
    if (_retention) {
        const retention_totals t = _retention->totals();
        s.retention = true;
        s.retained_bytes = t.bytes;
        s.retained_messages = t.messages;
        s.evicted = t.evicted;
    }
    return s;
}

bool relay::all_threads_beating() {
    bool all = true;
    for (std::size_t i = 0; i < _last_beats.size(); ++i) {
        std::uint64_t beats = 0;
        for (const thread_counters *block : _beat_blocks[i])
            beats += block != nullptr ? block->beats.value() : 0;
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
    return _ingress->bound();
}

std::vector<std::string> relay::egress_endpoints() const {
    return _egress->bound();
}

std::vector<std::string> relay::replay_endpoints() const {
    return _replay ? _replay->bound() : std::vector<std::string>{};
}

std::vector<std::string> relay::dead_letter_endpoints() const {
    return _dead_letters ? _dead_letters->bound() : std::vector<std::string>{};
}

} // namespace zrelay
