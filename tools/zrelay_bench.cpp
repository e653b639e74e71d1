#include "zrelay_bench.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <zmq.hpp>

#include "bench_message.hpp"
#include "endpoint.hpp"
#include "reserved_topics.hpp"
#include "signals.hpp"
#include "zrelay_bench_report.hpp"
#include "zrelay_common.hpp"
#include "zrelay_connection.hpp"
#include "zrelay_latency.hpp"
#include "zrelay_text.hpp"

namespace zrelay::tool {

namespace {

using steady = std::chrono::steady_clock;

std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
        .count();
}

// A subscriber keeps a bit per expected message (to tell a duplicate from a late one): a bound
// on that memory, 1 GiB.
constexpr std::uint64_t max_messages_per_subscriber = std::uint64_t{1} << 33;

enum class phase : int { warming, measuring, stopping };

// The run's phase, which only the main thread changes, and the publishers' wake-up on a change.
class bench_control {
public:
    [[nodiscard]] phase now() const noexcept { return _phase.load(std::memory_order_acquire); }

    void set(phase next) {
        {
            const std::lock_guard lock(_mutex);
            _phase.store(next, std::memory_order_release);
        }
        _changed.notify_all();
    }

    // Returns after `wait`, or sooner once the phase is no longer `current`.
    void wait_while(phase current, std::chrono::milliseconds wait) {
        std::unique_lock lock(_mutex);
        _changed.wait_for(lock, wait, [&] { return now() != current; });
    }

private:
    std::atomic<phase> _phase{phase::warming};
    std::mutex _mutex;
    std::condition_variable _changed;
};

// What every thread of the run reads.
struct bench_shared {
    bench_shared(const bench_options &o, std::uint32_t run_id)
        : options(o), run(run_id), targets(o.publishers) {
        std::tie(message, stamp_at) = bench::make_message(o.topic, o.size);
        for (auto &t : targets)
            t.store(o.count, std::memory_order_relaxed);
    }

    const bench_options &options;
    const std::uint32_t run;
    // The DataMessage every publisher sends a copy of, its stamp written at stamp_at (no
    // protobuf on the measured path).
    std::vector<unsigned char> message;
    std::size_t stamp_at = 0;
    bench_control control;
    // Per publisher, the measured messages it sends: --count, or fewer once it stopped early, so
    // that the subscribers do not wait for the rest.
    std::vector<std::atomic<std::uint64_t>> targets;
};

int zmq_timeout(std::int64_t ms) {
    return static_cast<int>(std::min<std::int64_t>(ms, std::numeric_limits<int>::max()));
}

// One publisher: a thread with its own PUSH socket. Warm-up messages every 10 ms until the main
// thread starts the run, then --count measured ones, flat out or at --rate.
class publisher {
public:
    publisher(zmq::context_t &context, bench_shared &shared, std::uint16_t id)
        : _context(context), _shared(shared), _id(id) {}

    // The thread's body: nothing escapes it.
    void run() noexcept {
        try {
            work();
        } catch (const std::exception &e) {
            _error = e.what();
        }
        _shared.targets[_id].store(_figures.sent, std::memory_order_release);
        _finished.store(true, std::memory_order_release);
    }

    [[nodiscard]] std::uint64_t progress() const noexcept {
        return _sent.load(std::memory_order_relaxed);
    }
    [[nodiscard]] bool finished() const noexcept {
        return _finished.load(std::memory_order_acquire);
    }
    [[nodiscard]] bool connected() const noexcept {
        return _connected.load(std::memory_order_acquire);
    }
    // Once the thread is joined.
    [[nodiscard]] const publisher_figures &figures() const noexcept { return _figures; }
    [[nodiscard]] const std::string &error() const noexcept { return _error; }

private:
    void work();
    // Sends one stamped copy of the message; false if zmq did not take it (EAGAIN).
    bool send(zmq::socket_t &push, bench::kind kind, std::uint64_t sequence, zmq::send_flags flags,
              std::int64_t &sent_ns) const {
        zmq::message_t message(_shared.message.data(), _shared.message.size());
        sent_ns = steady_ns();
        const bench::stamp stamp{_shared.run, _id, kind, sequence,
                                 static_cast<std::uint64_t>(sent_ns)};
        std::memcpy(message.data<unsigned char>() + _shared.stamp_at, &stamp, sizeof(stamp));
        return push.send(message, flags).has_value();
    }

    zmq::context_t &_context;
    bench_shared &_shared;
    const std::uint16_t _id;
    std::atomic<std::uint64_t> _sent{0};
    std::atomic<bool> _finished{false};
    std::atomic<bool> _connected{false};
    publisher_figures _figures;
    std::string _error;
};

void publisher::work() {
    const bench_options &o = _shared.options;
    zmq::socket_t push(_context, zmq::socket_type::push);
    // Only to a connected relay: a warm-up message with none is not queued but refused, and a
    // measured send blocks (up to --timeout) instead of filling a queue nobody reads.
    push.set(zmq::sockopt::immediate, true);
    push.set(zmq::sockopt::sndtimeo, zmq_timeout(o.timeout_ms));
    push.set(zmq::sockopt::linger, zmq_timeout(o.timeout_ms)); // what is queued at the end goes
    push.set(zmq::sockopt::ipv6, wants_ipv6(o.to));
    // One publisher says what zmq cannot connect to: the others would only repeat it.
    std::optional<connection_watch> watch;
    if (_id == 0)
        watch.emplace(_context, push, o.to, "zrelay bench");
    push.connect(o.to);

    std::int64_t sent_ns = 0;
    for (std::uint64_t warmups = 0; _shared.control.now() == phase::warming; ++warmups) {
        if (send(push, bench::kind::warmup, warmups, zmq::send_flags::dontwait, sent_ns))
            _connected.store(true, std::memory_order_release);
        if (watch)
            watch->read_events();
        _shared.control.wait_while(phase::warming, std::chrono::milliseconds(10));
    }

    const auto start = steady::now();
    std::uint64_t sent = 0;
    while (sent < o.count && _shared.control.now() == phase::measuring) {
        if (o.rate > 0) {
            // The schedule, not the previous send, says when: a slow send is caught up on.
            const std::chrono::duration<double> due(static_cast<double>(sent) / o.rate);
            std::this_thread::sleep_until(start +
                                          std::chrono::duration_cast<steady::duration>(due));
        }
        if (!send(push, bench::kind::measured, sent, zmq::send_flags::none, sent_ns)) {
            _error = fmt::format("the relay at {} took no message for {} ms after {} were sent",
                                 o.to, o.timeout_ms, sent);
            break;
        }
        if (sent == 0)
            _figures.first_ns = sent_ns;
        _figures.last_ns = sent_ns;
        _sent.store(++sent, std::memory_order_relaxed);
    }
    _figures.sent = sent;
    _shared.targets[_id].store(sent, std::memory_order_release);
    if (_shared.control.now() == phase::stopping || !_error.empty())
        push.set(zmq::sockopt::linger, 0); // interrupted, or the relay is gone
    if (watch)
        watch->read_events();
    push.close();
    if (watch)
        watch->close();
}

// One subscriber: a thread with its own SUB socket on the bench's topic. It counts a publisher's
// warm-up messages until it has seen one from each (then it is proven subscribed and connected),
// and judges the measured ones: each (publisher, sequence) once, in each publisher's order.
class subscriber {
public:
    subscriber(zmq::context_t &context, bench_shared &shared, std::uint32_t id)
        : _context(context), _shared(shared), _id(id), _publishers(shared.options.publishers),
          _count(shared.options.count),
          _seen((static_cast<std::size_t>(_publishers * _count) + 63) / 64, 0),
          _next(_publishers, 0), _warmed(_publishers, false) {}

    void run() noexcept {
        try {
            work();
        } catch (const std::exception &e) {
            _error = e.what();
        }
        _finished.store(true, std::memory_order_release);
    }

    [[nodiscard]] std::uint64_t progress() const noexcept {
        return _received.load(std::memory_order_relaxed);
    }
    [[nodiscard]] bool ready() const noexcept { return _ready.load(std::memory_order_acquire); }
    [[nodiscard]] bool finished() const noexcept {
        return _finished.load(std::memory_order_acquire);
    }
    [[nodiscard]] bool connected() const noexcept {
        return _connected.load(std::memory_order_acquire);
    }
    // Once the thread is joined.
    [[nodiscard]] const subscriber_figures &figures() const noexcept { return _figures; }
    [[nodiscard]] const latency_histogram &latency() const noexcept { return _latency; }
    [[nodiscard]] const std::string &error() const noexcept { return _error; }

private:
    void work();
    void take(const zmq::message_t &body);
    // Every publisher's last measured message came (or it sent none): per publisher, zmq and the
    // relay keep order, so nothing earlier can still come.
    [[nodiscard]] bool done() const noexcept {
        for (std::uint32_t p = 0; p < _publishers; ++p)
            if (_next[p] < _shared.targets[p].load(std::memory_order_acquire))
                return false;
        return true;
    }

    zmq::context_t &_context;
    bench_shared &_shared;
    const std::uint32_t _id;
    const std::uint64_t _publishers;
    const std::uint64_t _count;
    std::vector<std::uint64_t> _seen; // a bit per (publisher, sequence) received
    std::vector<std::uint64_t> _next; // per publisher: one past the highest sequence received
    std::vector<bool> _warmed;        // per publisher: a warm-up message came
    std::uint64_t _warmed_count = 0;
    latency_histogram _latency;
    subscriber_figures _figures;
    std::atomic<std::uint64_t> _received{0};
    std::atomic<bool> _ready{false};
    std::atomic<bool> _finished{false};
    std::atomic<bool> _connected{false};
    std::string _error;
};

void subscriber::take(const zmq::message_t &body) {
    const auto stamp = bench::find_stamp(body.data(), body.size());
    if (!stamp || stamp->run != _shared.run || stamp->producer >= _publishers) {
        ++_figures.other;
        return;
    }
    if (stamp->what == bench::kind::warmup) {
        if (!_warmed[stamp->producer]) {
            _warmed[stamp->producer] = true;
            if (++_warmed_count == _publishers)
                _ready.store(true, std::memory_order_release);
        }
        return;
    }
    if (stamp->what != bench::kind::measured || stamp->sequence >= _count) {
        ++_figures.other;
        return;
    }
    const std::int64_t now = steady_ns();
    const std::uint64_t bit = stamp->producer * _count + stamp->sequence;
    std::uint64_t &word = _seen[bit / 64];
    const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
    if ((word & mask) != 0) {
        ++_figures.duplicated;
        return;
    }
    word |= mask;
    std::uint64_t &next = _next[stamp->producer];
    if (stamp->sequence < next)
        ++_figures.reordered; // late: a later one of its publisher came first
    else
        next = stamp->sequence + 1;
    _received.store(++_figures.received, std::memory_order_relaxed);
    _figures.last_ns = now;
    _latency.record(static_cast<std::uint64_t>(
        std::max<std::int64_t>(now - static_cast<std::int64_t>(stamp->sent_ns), 0)));
}

void subscriber::work() {
    const bench_options &o = _shared.options;
    zmq::socket_t sub(_context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, o.topic);
    sub.set(zmq::sockopt::ipv6, wants_ipv6(o.from));
    std::optional<connection_watch> watch;
    if (_id == 0)
        watch.emplace(_context, sub, o.from, "zrelay bench");
    sub.connect(o.from);

    std::array<zmq::pollitem_t, 2> items{
        {{sub.handle(), 0, ZMQ_POLLIN, 0},
         {watch ? watch->events().handle() : nullptr, 0, ZMQ_POLLIN, 0}}};
    const std::size_t polled = watch ? 2 : 1;
    const auto timeout = std::chrono::milliseconds(o.timeout_ms);
    zmq::message_t frame;
    bool measuring = false;
    auto last_heard = steady::now();
    while (true) {
        const phase now = _shared.control.now();
        if (now == phase::stopping)
            break;
        if (now == phase::measuring && !measuring) {
            measuring = true;
            last_heard = steady::now(); // the silence that counts starts with the run
        }
        if (measuring && done())
            break;
        zmq::poll(items.data(), polled, std::chrono::milliseconds(100));
        if (watch && (items[1].revents & ZMQ_POLLIN) != 0) {
            watch->read_events();
            if (watch->ever_connected())
                _connected.store(true, std::memory_order_release);
        }
        // A bounded batch, so the phase and the end are looked at under a flood too.
        int taken = 0;
        for (; taken < 4096 && sub.recv(frame, zmq::recv_flags::dontwait); ++taken) {
            while (frame.more()) // [topic][DataMessage]: the body is the last frame
                (void)sub.recv(frame);
            take(frame);
        }
        if (taken > 0) {
            _connected.store(true, std::memory_order_release);
            last_heard = steady::now();
        } else if (measuring && steady::now() - last_heard >= timeout) {
            _figures.timed_out = !done();
            break;
        }
    }
    sub.close();
    if (watch)
        watch->close();
}

// The main thread's wait: up to `wait` for a signal; true if one came.
bool signalled(signal_watcher &signals, std::chrono::milliseconds wait) {
    pollfd fd{signals.fd(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(wait.count())) > 0 && (fd.revents & POLLIN) != 0)
        return signals.take().has_value();
    return false;
}

// The progress line on stderr: in place on a terminal, else a line at a time.
class progress_line {
public:
    explicit progress_line(std::uint64_t expected_sent, std::uint64_t expected_received)
        : _tty(::isatty(STDERR_FILENO) == 1), _expected_sent(expected_sent),
          _expected_received(expected_received), _last(steady::now()) {}

    [[nodiscard]] std::chrono::milliseconds interval() const noexcept {
        return std::chrono::milliseconds(_tty ? 250 : 1000);
    }

    void show(std::uint64_t sent, std::uint64_t received) {
        const auto now = steady::now();
        const double seconds = std::chrono::duration<double>(now - _last).count();
        if (seconds <= 0)
            return;
        const std::string line =
            fmt::format("zrelay bench: sent {}/{} ({:.0f} msg/s), received {}/{} ({:.0f} msg/s)",
                        sent, _expected_sent, static_cast<double>(sent - _sent) / seconds, received,
                        _expected_received, static_cast<double>(received - _received) / seconds);
        std::cerr << (_tty ? "\r" + line + "\033[K" : line + "\n") << std::flush;
        _shown = true;
        _last = now;
        _sent = sent;
        _received = received;
    }

    // Ends an in-place line, so that what follows starts on a line of its own.
    void end() {
        if (_tty && _shown)
            std::cerr << '\n' << std::flush;
    }

private:
    bool _tty;
    std::uint64_t _expected_sent;
    std::uint64_t _expected_received;
    steady::time_point _last;
    std::uint64_t _sent = 0;
    std::uint64_t _received = 0;
    bool _shown = false;
};

void check_options(const bench_options &o) {
    check_endpoint("bench: " + o.to_from, o.to);
    check_endpoint("bench: " + o.from_from, o.from);
    if (o.size < sizeof(bench::stamp))
        throw tool_error(exit_usage,
                         fmt::format("bench: --size {}: at least {} bytes, for the stamp each "
                                     "message carries (publisher, sequence, send time)",
                                     o.size, sizeof(bench::stamp)));
    if (!valid_utf8(o.topic))
        throw tool_error(exit_usage, "bench: --topic is not valid UTF-8");
    if (o.topic.starts_with(reserved_topic_prefix))
        throw tool_error(exit_usage, fmt::format("bench: --topic {}: the relay refuses topics "
                                                 "starting with {}",
                                                 one_line(o.topic), reserved_topic_prefix));
    if (!(o.rate >= 0 && std::isfinite(o.rate)))
        throw tool_error(exit_usage, fmt::format("bench: --rate {}: not a rate", o.rate));
    if (o.count > max_messages_per_subscriber / o.publishers)
        throw tool_error(exit_usage,
                         fmt::format("bench: --pub x --count: at most {} messages per subscriber "
                                     "(each keeps a bit per message to find duplicates)",
                                     max_messages_per_subscriber));
}

// Why no run could start: the subscribers were not all proven subscribed within --timeout.
std::string not_ready(const bench_options &o, bool pushed, bool subscribed,
                      std::uint32_t ready_subscribers) {
    if (!pushed)
        return fmt::format("bench: no relay at {} ({}): no publisher could hand it a message "
                           "within {} ms",
                           o.to, o.to_from, o.timeout_ms);
    if (!subscribed)
        return fmt::format("bench: no relay at {} ({}): the subscribers could not connect "
                           "within {} ms",
                           o.from, o.from_from, o.timeout_ms);
    return fmt::format("bench: the relay at {} took the warm-up messages, but {} of {} "
                       "subscribers at {} did not get one from every publisher within {} ms (is "
                       "{} that relay's egress, and does it route topic {}?)",
                       o.to, o.subscribers - ready_subscribers, o.subscribers, o.from, o.timeout_ms,
                       o.from, one_line(o.topic));
}

} // namespace

int run_bench(const bench_options &o) {
    check_options(o);
    // SIGINT and SIGTERM end the run early, with a summary: before the context and the threads,
    // which inherit the blocked mask.
    signal_watcher signals({SIGINT, SIGTERM});
    // An I/O thread per four sockets, up to four: 1 for one publisher and one subscriber, as
    // tools/bench_driver uses.
    zmq::context_t context(
        static_cast<int>(std::clamp<std::uint32_t>((o.publishers + o.subscribers + 3) / 4, 1, 4)));
    bench_shared shared(o, std::random_device{}());

    std::vector<std::unique_ptr<subscriber>> subscribers;
    std::vector<std::unique_ptr<publisher>> publishers;
    subscribers.reserve(o.subscribers);
    publishers.reserve(o.publishers);
    for (std::uint32_t i = 0; i < o.subscribers; ++i)
        subscribers.push_back(std::make_unique<subscriber>(context, shared, i));
    for (std::uint32_t i = 0; i < o.publishers; ++i)
        publishers.push_back(
            std::make_unique<publisher>(context, shared, static_cast<std::uint16_t>(i)));
    bench_figures figures;
    {
        std::vector<std::jthread> threads;
        threads.reserve(subscribers.size() + publishers.size());
        // Destroyed before the threads, which it lets end; they are joined at the block's end.
        struct stop_on_exit {
            explicit stop_on_exit(bench_control &c) : control(c) {}
            stop_on_exit(const stop_on_exit &) = delete;
            stop_on_exit &operator=(const stop_on_exit &) = delete;
            stop_on_exit(stop_on_exit &&) = delete;
            stop_on_exit &operator=(stop_on_exit &&) = delete;
            ~stop_on_exit() { control.set(phase::stopping); }
            bench_control &control;
        } stop(shared.control);
        for (auto &s : subscribers)
            threads.emplace_back([&s] { s->run(); });
        for (auto &p : publishers)
            threads.emplace_back([&p] { p->run(); });

        // The slow joiner: no measured message goes before every subscriber has had a warm-up
        // message from every publisher, on the bench's own topic. That proves its subscription
        // in effect at the relay and every publisher's connection up, whatever order zmq sent
        // things in; a sleep would prove nothing.
        const auto deadline = steady::now() + std::chrono::milliseconds(o.timeout_ms);
        const auto ready_count = [&] {
            return static_cast<std::uint32_t>(std::count_if(
                subscribers.begin(), subscribers.end(), [](const auto &s) { return s->ready(); }));
        };
        while (ready_count() < o.subscribers) {
            if (signalled(signals, std::chrono::milliseconds(10))) {
                std::cerr << "zrelay bench: interrupted before the run started\n";
                return 1;
            }
            if (steady::now() > deadline) {
                const bool pushed = std::any_of(publishers.begin(), publishers.end(),
                                                [](const auto &p) { return p->connected(); });
                const bool subscribed =
                    std::any_of(subscribers.begin(), subscribers.end(),
                                [](const auto &s) { return s->connected() || s->ready(); });
                throw tool_error(exit_unavailable, not_ready(o, pushed, subscribed, ready_count()));
            }
        }
        shared.control.set(phase::measuring);

        progress_line progress(o.count * o.publishers, o.count * o.publishers * o.subscribers);
        const auto all_finished = [](const auto &v) {
            return std::all_of(v.begin(), v.end(), [](const auto &x) { return x->finished(); });
        };
        auto next_line = steady::now() + progress.interval();
        while (!all_finished(publishers) || !all_finished(subscribers)) {
            // Short waits, so that the summary follows the end at once.
            if (signalled(signals, std::chrono::milliseconds(20))) {
                figures.interrupted = true;
                shared.control.set(phase::stopping);
            }
            if (steady::now() < next_line)
                continue;
            next_line += progress.interval();
            std::uint64_t sent = 0;
            std::uint64_t received = 0;
            for (const auto &p : publishers)
                sent += p->progress();
            for (const auto &s : subscribers)
                received += s->progress();
            progress.show(sent, received);
        }
        progress.end();
    }

    figures.to = o.to;
    figures.from = o.from;
    figures.topic = o.topic;
    figures.payload_bytes = o.size;
    figures.message_bytes = shared.message.size();
    figures.count = o.count;
    figures.rate = o.rate;
    std::uint64_t sent = 0;
    std::string failure;
    for (const auto &p : publishers) {
        figures.publishers.push_back(p->figures());
        sent += p->figures().sent;
        if (failure.empty() && !p->error().empty())
            failure = p->error();
    }
    for (const auto &s : subscribers) {
        figures.subscribers.push_back(s->figures());
        figures.subscribers.back().expected = sent;
        figures.latency.merge(s->latency());
        if (failure.empty() && !s->error().empty())
            failure = s->error();
    }
    std::cout << (o.json ? bench_summary_json(figures) : bench_summary_text(figures)) << std::flush;
    if (!failure.empty()) {
        std::cerr << "zrelay bench: " << failure << '\n';
        return exit_unavailable;
    }
    return figures.ok() ? exit_ok : 1;
}

} // namespace zrelay::tool
