// bench_driver: load for a relay (zrelayd or a baseline forwarder), and the judge of its output.
//
// Pushes `--count` DataMessages of exactly `--size` bytes into the relay's ingress from
// `--producers` PUSH sockets (one thread each), receives them on one SUB socket at the egress,
// checks that every message arrived exactly once and in its producer's order, and prints one JSON
// line: throughput (msgs/s, MB/s from the first send to the last receive) and latency percentiles
// (send to receive, from a timestamp carried in the message). Exit status 1 if anything was lost,
// duplicated or reordered, so a benchmark never reports figures for a relay that cheated.
//
// A message is a valid zrelay.v1.DataMessage: topic (field 3) "bench", and payload (field 4)
// starting with a 24-byte stamp [u32 producer][u32 kind][u64 sequence][u64 send time, ns] then
// filler up to the size. The receiver finds field 4 by walking the protobuf wire format, so it
// accepts the bare forwarders' one frame [DataMessage] and zrelayd's two [topic][DataMessage],
// and fields a relay appends after the client's.
//
// Before measuring: probes until one gets through (PUSH and SUB connect asynchronously, and a
// SUB's subscription takes a moment to reach the XPUB), then `--warmup` messages per producer.
//
// With `--rate R` (messages per second over all producers) each producer paces itself: it sends
// whatever its schedule says is due, then sleeps until the next message is due. Latency is
// measured from the actual send, and the JSON says how far behind schedule the producers fell
// (`behind_ms`), so a rate the relay could not take shows as such.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
            .count());
}

enum class kind : std::uint32_t { probe = 1, warmup = 2, measured = 3 };

struct stamp {
    std::uint32_t producer;
    kind what;
    std::uint64_t sequence;
    std::uint64_t sent_ns;
};
static_assert(sizeof(stamp) == 24);

// ---- Wire format ------------------------------------------------------------------------------

std::size_t put_varint(unsigned char *out, std::uint64_t v) {
    std::size_t n = 0;
    while (v >= 0x80) {
        out[n++] = static_cast<unsigned char>(v | 0x80);
        v >>= 7;
    }
    out[n++] = static_cast<unsigned char>(v);
    return n;
}

std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// A DataMessage of exactly `size` bytes; returns the template and the stamp's offset in it.
std::pair<std::vector<unsigned char>, std::size_t> make_template(std::size_t size) {
    static constexpr char topic[] = "bench";
    const std::size_t topic_field = 1 + 1 + sizeof(topic) - 1;
    std::size_t payload = sizeof(stamp);
    // Grow the payload until tag + length + payload fills the size exactly.
    while (topic_field + 1 + varint_size(payload) + payload < size)
        ++payload;
    if (topic_field + 1 + varint_size(payload) + payload != size)
        throw std::runtime_error("--size too small for a stamped DataMessage (min 33 bytes)");
    std::vector<unsigned char> out(size, 0);
    std::size_t at = 0;
    out[at++] = (3 << 3) | 2;
    out[at++] = sizeof(topic) - 1;
    std::memcpy(&out[at], topic, sizeof(topic) - 1);
    at += sizeof(topic) - 1;
    out[at++] = (4 << 3) | 2;
    at += put_varint(&out[at], payload);
    const std::size_t stamp_at = at;
    for (std::size_t i = stamp_at + sizeof(stamp); i < size; ++i)
        out[i] = static_cast<unsigned char>('a' + i % 26);
    return {std::move(out), stamp_at};
}

bool get_varint(const unsigned char *&p, const unsigned char *end, std::uint64_t &v) {
    v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
        const unsigned char b = *p++;
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

// The stamp at the start of field 4, if the bytes are a DataMessage carrying one.
std::optional<stamp> find_stamp(const void *data, std::size_t size) {
    const auto *p = static_cast<const unsigned char *>(data);
    const auto *end = p + size;
    while (p < end) {
        std::uint64_t tag = 0;
        if (!get_varint(p, end, tag))
            return std::nullopt;
        std::uint64_t len = 0;
        switch (tag & 7) {
        case 0:
            if (!get_varint(p, end, len))
                return std::nullopt;
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        case 2:
            if (!get_varint(p, end, len) || len > static_cast<std::uint64_t>(end - p))
                return std::nullopt;
            if ((tag >> 3) == 4 && len >= sizeof(stamp)) {
                stamp s{};
                std::memcpy(&s, p, sizeof(s));
                return s;
            }
            p += len;
            break;
        default:
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// ---- Sending ----------------------------------------------------------------------------------

class producer {
public:
    producer(zmq::context_t &ctx, const std::vector<std::string> &endpoints, std::uint32_t id,
             std::size_t size, int sndhwm)
        : _socket(ctx, zmq::socket_type::push), _id(id) {
        _socket.set(zmq::sockopt::sndhwm, sndhwm);
        _socket.set(zmq::sockopt::linger, 0);
        for (const auto &ep : endpoints)
            _socket.connect(ep);
        std::tie(_template, _stamp_at) = make_template(size);
    }

    void send(kind what, std::uint64_t sequence) {
        zmq::message_t msg(_template.data(), _template.size());
        const stamp s{_id, what, sequence, now_ns()};
        std::memcpy(static_cast<unsigned char *>(msg.data()) + _stamp_at, &s, sizeof(s));
        _socket.send(msg, zmq::send_flags::none);
    }

    // Sends `count` measured messages, flat out (rate 0) or paced. Returns how far behind its
    // schedule it was at the end, in ns.
    std::uint64_t run(std::uint64_t count, double rate) {
        if (rate <= 0) {
            for (std::uint64_t i = 0; i < count; ++i)
                send(kind::measured, i);
            return 0;
        }
        const double interval_ns = 1e9 / rate;
        const std::uint64_t start = now_ns();
        std::uint64_t i = 0;
        while (i < count) {
            const std::uint64_t now = now_ns();
            const auto due =
                static_cast<std::uint64_t>(static_cast<double>(now - start) / interval_ns) + 1;
            for (; i < std::min(due, count); ++i)
                send(kind::measured, i);
            if (i < count) {
                const auto next =
                    start + static_cast<std::uint64_t>(static_cast<double>(i) * interval_ns);
                const std::uint64_t t = now_ns();
                if (next > t)
                    std::this_thread::sleep_for(std::chrono::nanoseconds(next - t));
            }
        }
        const auto last_due =
            start + static_cast<std::uint64_t>(static_cast<double>(count - 1) * interval_ns);
        const std::uint64_t t = now_ns();
        return t > last_due ? t - last_due : 0;
    }

private:
    zmq::socket_t _socket;
    std::uint32_t _id;
    std::vector<unsigned char> _template;
    std::size_t _stamp_at = 0;
};

// ---- Receiving --------------------------------------------------------------------------------

struct verdict {
    std::uint64_t received = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated_or_reordered = 0;
    std::uint64_t foreign = 0; // frames that are not a stamped DataMessage
    std::uint64_t last_ns = 0;
    std::vector<std::uint32_t> latency_ns; // capped at ~4.29 s, far past any sane figure
};

class consumer {
public:
    consumer(zmq::context_t &ctx, const std::vector<std::string> &endpoints, int rcvhwm,
             std::uint32_t producers, std::uint64_t per_producer)
        : _socket(ctx, zmq::socket_type::sub), _next(producers, 0), _per_producer(per_producer) {
        _socket.set(zmq::sockopt::rcvhwm, rcvhwm);
        _socket.set(zmq::sockopt::linger, 0);
        _socket.set(zmq::sockopt::subscribe, "");
        for (const auto &ep : endpoints)
            _socket.connect(ep);
        _verdict.latency_ns.reserve(producers * per_producer);
    }

    // Runs until every measured message arrived, or nothing arrived for `idle` once measuring
    // began, or stop() was called.
    void run(std::chrono::milliseconds idle) {
        const std::uint64_t expected = _next.size() * _per_producer;
        auto last_activity = clock_type::now();
        zmq::message_t frame;
        while (_verdict.received < expected && !_stop.load(std::memory_order_acquire)) {
            zmq::pollitem_t item{_socket.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) {
                if (!_measuring.load(std::memory_order_acquire))
                    last_activity = clock_type::now();
                else if (clock_type::now() - last_activity > idle)
                    break; // silence: what did not come is lost
                continue;
            }
            // Read whatever is queued without polling again.
            while (_socket.recv(frame, zmq::recv_flags::dontwait)) {
                while (frame.more())
                    (void)_socket.recv(frame); // the body is the last frame
                take(frame);
            }
            last_activity = clock_type::now();
        }
        for (const std::uint64_t next : _next)
            _verdict.lost += _per_producer > next ? _per_producer - next : 0;
    }

    void measuring() { _measuring.store(true, std::memory_order_release); }
    void stop() { _stop.store(true, std::memory_order_release); }
    [[nodiscard]] bool probe_seen() const { return _probe_seen.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t warmups_seen() const {
        return _warmups_seen.load(std::memory_order_acquire);
    }
    verdict &result() { return _verdict; }

private:
    void take(const zmq::message_t &frame) {
        const std::uint64_t now = now_ns();
        const auto s = find_stamp(frame.data(), frame.size());
        if (!s || s->producer >= _next.size()) {
            ++_verdict.foreign;
            return;
        }
        if (s->what == kind::probe) {
            _probe_seen.store(true, std::memory_order_release);
            return;
        }
        if (s->what == kind::warmup) {
            _warmups_seen.fetch_add(1, std::memory_order_release);
            return;
        }
        auto &next = _next[s->producer];
        if (s->sequence != next) {
            // A gap or a step back: either way the relay broke its contract.
            ++_verdict.duplicated_or_reordered;
            if (s->sequence < next)
                return;
        }
        next = s->sequence + 1;
        ++_verdict.received;
        _verdict.last_ns = now;
        const std::uint64_t lat = now > s->sent_ns ? now - s->sent_ns : 0;
        _verdict.latency_ns.push_back(static_cast<std::uint32_t>(
            std::min<std::uint64_t>(lat, std::numeric_limits<std::uint32_t>::max())));
    }

    zmq::socket_t _socket;
    std::vector<std::uint64_t> _next; // next expected sequence, per producer
    std::uint64_t _per_producer;
    verdict _verdict;
    std::atomic<bool> _probe_seen{false};
    std::atomic<std::uint64_t> _warmups_seen{0};
    std::atomic<bool> _measuring{false};
    std::atomic<bool> _stop{false};
};

double percentile_us(const std::vector<std::uint32_t> &sorted, double q) {
    if (sorted.empty())
        return 0;
    const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
    return static_cast<double>(sorted[i]) / 1000.0;
}

int run(int argc, char **argv) {
    CLI::App app{"bench_driver: pushes stamped DataMessages through a relay and checks them"};
    std::vector<std::string> push_eps;
    std::vector<std::string> sub_eps;
    std::uint64_t count = 100000;
    std::size_t size = 64;
    std::uint32_t producers = 1;
    double rate = 0;
    std::uint64_t warmup = 1000;
    int hwm = 1000;
    int idle_ms = 5000;
    app.add_option("--push", push_eps, "relay ingress endpoint(s) to connect PUSH to")->required();
    app.add_option("--sub", sub_eps, "relay egress endpoint(s) to connect SUB to")->required();
    app.add_option("--count", count, "measured messages per producer")->capture_default_str();
    app.add_option("--size", size, "bytes per DataMessage (>= 33)")->capture_default_str();
    app.add_option("--producers", producers, "PUSH sockets, one thread each")
        ->capture_default_str();
    app.add_option("--rate", rate, "offered messages/s over all producers; 0 = flat out")
        ->capture_default_str();
    app.add_option("--warmup", warmup, "unmeasured messages per producer first")
        ->capture_default_str();
    app.add_option("--hwm", hwm, "SNDHWM of the PUSH and RCVHWM of the SUB")->capture_default_str();
    app.add_option("--idle-ms", idle_ms, "give up when nothing arrives for this long")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (producers == 0 || count == 0) {
        std::cerr << "bench_driver: --producers and --count must be > 0\n";
        return 64;
    }

    try {
        zmq::context_t ctx(1);
        consumer sink(ctx, sub_eps, hwm, producers, count);
        std::vector<producer> sources;
        sources.reserve(producers);
        for (std::uint32_t p = 0; p < producers; ++p)
            sources.emplace_back(ctx, push_eps, p, size, hwm);

        // The sink thread owns the SUB socket from here on.
        std::thread sink_thread([&] { sink.run(std::chrono::milliseconds(idle_ms)); });
        const auto stop_sink = [&] {
            sink.stop();
            sink_thread.join();
        };
        // Probe from this thread; the sockets move to their threads afterwards (zmq allows a
        // socket to change threads across a full barrier, which thread creation is).
        const auto probe_deadline = clock_type::now() + std::chrono::seconds(10);
        while (!sink.probe_seen()) {
            if (clock_type::now() > probe_deadline) {
                stop_sink();
                throw std::runtime_error("no probe got through the relay within 10 s");
            }
            sources[0].send(kind::probe, 0);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        for (auto &s : sources)
            for (std::uint64_t i = 0; i < warmup; ++i)
                s.send(kind::warmup, i);
        const auto warm_deadline = clock_type::now() + std::chrono::seconds(30);
        while (sink.warmups_seen() < warmup * producers) {
            if (clock_type::now() > warm_deadline) {
                stop_sink();
                throw std::runtime_error("warm-up messages did not all get through within 30 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }

        sink.measuring();
        const std::uint64_t start_ns = now_ns();
        std::vector<std::uint64_t> behind(producers, 0);
        std::vector<std::thread> threads;
        std::atomic<bool> send_failed{false};
        for (std::uint32_t p = 0; p < producers; ++p)
            threads.emplace_back([&, p] {
                try {
                    behind[p] = sources[p].run(count, rate / producers);
                } catch (const std::exception &e) {
                    std::cerr << "bench_driver: producer " << p << ": " << e.what() << '\n';
                    send_failed.store(true);
                }
            });
        for (auto &t : threads)
            t.join();
        sink_thread.join();

        verdict &v = sink.result();
        std::sort(v.latency_ns.begin(), v.latency_ns.end());
        const double seconds = static_cast<double>(v.last_ns - start_ns) / 1e9;
        const auto msgs = static_cast<double>(v.received);
        const bool ok =
            v.lost == 0 && v.duplicated_or_reordered == 0 && v.foreign == 0 && !send_failed.load();
        std::ostringstream out;
        out << std::fixed << std::setprecision(2) << "{\"ok\": " << (ok ? "true" : "false")
            << ", \"size\": " << size << ", \"producers\": " << producers
            << ", \"count\": " << count * producers << ", \"received\": " << v.received
            << ", \"lost\": " << v.lost
            << ", \"duplicated_or_reordered\": " << v.duplicated_or_reordered
            << ", \"foreign\": " << v.foreign << ", \"seconds\": " << seconds
            << ", \"msgs_per_s\": " << (seconds > 0 ? msgs / seconds : 0.0) << ", \"mb_per_s\": "
            << (seconds > 0 ? msgs * static_cast<double>(size) / seconds / 1e6 : 0.0)
            << ", \"rate\": " << rate << ", \"behind_ms\": "
            << static_cast<double>(*std::max_element(behind.begin(), behind.end())) / 1e6
            << ", \"p50_us\": " << percentile_us(v.latency_ns, 0.50)
            << ", \"p99_us\": " << percentile_us(v.latency_ns, 0.99)
            << ", \"p999_us\": " << percentile_us(v.latency_ns, 0.999)
            << ", \"max_us\": " << percentile_us(v.latency_ns, 1.0) << "}\n";
        std::cout << out.str() << std::flush;
        if (!ok)
            std::cerr << "bench_driver: FAILED: " << v.lost << " lost, "
                      << v.duplicated_or_reordered << " duplicated or reordered, " << v.foreign
                      << " foreign frames\n";
        return ok ? 0 : 1;
    } catch (const std::exception &e) {
        std::cerr << "bench_driver: " << e.what() << '\n';
        return 1;
    }
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (...) {
        return 70; // only CLI11 or iostreams could get here
    }
}
