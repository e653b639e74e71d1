#include "zrelay_sub.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "endpoint.hpp"
#include "replay_protocol.hpp"
#include "reserved_topics.hpp"
#include "signals.hpp"
#include "zrelay/v1/data_message.pb.h"
#include "zrelay_common.hpp"
#include "zrelay_connection.hpp"
#include "zrelay_recovery.hpp"
#include "zrelay_text.hpp"

namespace zrelay::tool {

namespace {

// Writes `text` to stdout; a failure (a full disk, a closed pipe) ends the command.
void write_out(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
        throw std::system_error(errno, std::generic_category(), "writing to stdout");
}

void flush_out() {
    if (std::fflush(stdout) != 0)
        throw std::system_error(errno, std::generic_category(), "writing to stdout");
}

class subscriber final : public recovery_sink {
public:
    explicit subscriber(const sub_options &options)
        : _options(options), _recovering(options.recover || options.snapshot),
          _machine(
              recovery_options{
                  .recover = options.recover,
                  .dedupe = _recovering,
                  .max_topics = options.max_topics,
                  .reply_timeout_text = fmt::format("{} s", options.replay_timeout_s),
              },
              *this),
          _last_message(std::chrono::steady_clock::now()) {}

    // One message from the SUB socket (all its frames).
    void handle(const std::vector<zmq::message_t> &frames);
    // One message from the replay endpoint: a replayed [topic][DataMessage] or a ReplayEnd.
    void handle_reply(const std::vector<zmq::message_t> &frames);
    // Where requests go; null: nowhere (without --recover and --snapshot).
    void set_replay(zmq::socket_t *replay) noexcept { _replay = replay; }

    [[nodiscard]] recovery &machine() noexcept { return _machine; }
    // When the last message came that is not hidden (or the start), for --idle-timeout.
    [[nodiscard]] std::chrono::steady_clock::time_point last_message() const noexcept {
        return _last_message;
    }
    // When the replay endpoint was last heard from, or a request sent to it.
    [[nodiscard]] std::chrono::steady_clock::time_point last_heard() const noexcept {
        return _last_heard;
    }
    // --count is reached: with recovery, messages printed (replayed and snapshot ones too);
    // without, messages received.
    [[nodiscard]] bool done() const noexcept {
        return _options.count > 0 && (_recovering ? _delivered : _received) >= _options.count;
    }
    [[nodiscard]] std::uint64_t received() const noexcept { return _received; }
    void print_summary() const;

    void deliver(const stamped_message &message, message_origin origin) override;
    void send(const replay_request &request) override;
    void say(const std::string &line) override { std::cerr << line << '\n'; }

private:
    // Reads the stamp of [topic][DataMessage] into `out` (views into `frames`); false, having
    // said why, if it is not one.
    bool decode(const std::vector<zmq::message_t> &frames, stamped_message &out,
                std::string_view what);
    // A topic of the relay's own ($zrelay/...) under a subscription that did not name it: like
    // $SYS under an MQTT wildcard, not shown without --show-internal.
    [[nodiscard]] bool hidden(std::string_view topic) const;
    void print_raw(const zrelay::v1::DataMessage &message);
    void print_text(std::string_view topic, const zrelay::v1::DataMessage &message);
    void print_json(std::string_view topic, const zrelay::v1::DataMessage &message);

    const sub_options &_options;
    const bool _recovering;
    recovery _machine;
    zmq::socket_t *_replay = nullptr;
    zrelay::v1::DataMessage _message;
    std::string_view _parsed; // the bytes _message holds, so a message is parsed once
    std::string _line;
    std::chrono::steady_clock::time_point _last_heard;
    std::chrono::steady_clock::time_point _last_message;
    std::uint64_t _received = 0;
    std::uint64_t _delivered = 0;
    std::uint64_t _undecodable = 0;
};

bool subscriber::decode(const std::vector<zmq::message_t> &frames, stamped_message &out,
                        std::string_view what) {
    // The relay publishes [topic][DataMessage]; anything else did not come from a relay.
    if (frames.size() != 2 ||
        !_message.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size()))) {
        _parsed = {};
        ++_undecodable;
        std::cerr << (frames.size() != 2
                          ? fmt::format("undecodable {}: {} frames, expected 2 "
                                        "([topic][DataMessage])\n",
                                        what, frames.size())
                          : fmt::format("undecodable {} on topic \"{}\": not a DataMessage "
                                        "({} bytes)\n",
                                        what, one_line(frames[0].to_string_view()),
                                        frames[1].size()));
        return false;
    }
    _parsed = frames[1].to_string_view();
    relay_mark origin;
    if (_message.relay_hops_size() > 0)
        origin = {_message.relay_hops(0).instance(), _message.relay_hops(0).sequence()};
    // The topic frame, not the message's topic field: the relay routes (and numbers) a message
    // with an empty topic under its default topic.
    out = {frames[0].to_string_view(), _parsed, _message.relay_instance(),
           _message.relay_sequence(), origin};
    return true;
}

bool subscriber::hidden(std::string_view topic) const {
    if (_options.show_internal || !topic.starts_with(own_topic_prefix))
        return false;
    // A --topic that starts with '$' asked for the relay's topics by name.
    return std::none_of(_options.topics.begin(), _options.topics.end(), [&](const auto &prefix) {
        return prefix.starts_with('$') && topic.starts_with(prefix);
    });
}

void subscriber::handle(const std::vector<zmq::message_t> &frames) {
    // Not counted, checked or printed: as if not subscribed to (zmq subscribes by prefix only).
    if (!frames.empty() && hidden(frames[0].to_string_view()))
        return;
    _last_message = std::chrono::steady_clock::now();
    ++_received;
    stamped_message message;
    if (decode(frames, message, "message"))
        _machine.on_live(message);
    _parsed = {}; // the frames go: a later message may be given their address
}

void subscriber::handle_reply(const std::vector<zmq::message_t> &frames) {
    _last_heard = std::chrono::steady_clock::now();
    _last_message = _last_heard;
    if (frames.size() == 1) {
        auto end = decode_replay_end(frames[0].data(), frames[0].size());
        if (auto *problem = std::get_if<std::string>(&end))
            _machine.on_bad_reply(*problem);
        else
            _machine.on_end(std::get<replay_end>(end));
        return;
    }
    stamped_message message;
    if (decode(frames, message, "replayed message"))
        _machine.on_replayed(message);
    _parsed = {};
}

void subscriber::deliver(const stamped_message &message, message_origin /*origin*/) {
    if (_recovering && done())
        return; // --count printed already: what a stop releases is not printed
    if (hidden(message.topic))
        return; // a last value of the relay's own, from a --snapshot of everything
    ++_delivered;
    if (_options.quiet)
        return;
    // The frame just decoded is in _message already; a held copy is parsed again, and then
    // _message no longer holds that frame.
    if (message.body.data() != _parsed.data() || message.body.size() != _parsed.size()) {
        _parsed = {};
        if (!_message.ParseFromArray(message.body.data(), static_cast<int>(message.body.size())))
            return; // cannot happen: it parsed when it came
    }
    if (_options.json)
        print_json(message.topic, _message);
    else if (_options.raw)
        print_raw(_message);
    else
        print_text(message.topic, _message);
}

void subscriber::send(const replay_request &request) {
    if (_replay == nullptr)
        return;
    if (!std::holds_alternative<replay_credit>(request.what))
        _last_heard = std::chrono::steady_clock::now(); // the reply's wait starts now
    const std::string bytes = encode_replay_request(request);
    // A DEALER queues while it connects; a full queue (a relay long gone) only means no reply,
    // which the reply timeout handles.
    (void)_replay->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
}

void subscriber::print_raw(const zrelay::v1::DataMessage &message) {
    _line = message.content();
    _line += '\n';
    write_out(_line);
}

// A time of the message's, or '-' for none (a producer that set no timestamp).
std::string time_or_dash(std::int64_t epoch_ns) {
    return epoch_ns == 0 ? std::string("-") : iso8601_ms(epoch_ns);
}

void subscriber::print_text(std::string_view topic, const zrelay::v1::DataMessage &message) {
    _line.clear();
    if (_options.timestamps)
        _line = fmt::format("{} {} ", time_or_dash(message.timestamp()),
                            time_or_dash(message.relay_received_ns()));
    _line += fmt::format("{} #{} {}", one_line(topic), message.relay_sequence(),
                         one_line(message.content()));
    if (!message.payload().empty())
        _line += fmt::format(" [payload {} bytes]", message.payload().size());
    // The relays before the one whose sequence leads the line, oldest first.
    for (int i = 0; i < message.relay_hops_size(); ++i) {
        const zrelay::v1::RelayHop &hop = message.relay_hops(i);
        _line += fmt::format("{}{}#{}", i == 0 ? " via " : " > ", hex_instance(hop.instance()),
                             hop.sequence());
    }
    _line += '\n';
    write_out(_line);
}

void subscriber::print_json(std::string_view topic, const zrelay::v1::DataMessage &message) {
    _line = R"({"topic":)";
    append_json_string(_line, topic);
    _line += R"(,"content":)";
    append_json_string(_line, message.content());
    _line += fmt::format(R"(,"timestamp":{},"payload":"{}","payload_size":{},"headers":{{)",
                         message.timestamp(), base64(message.payload()), message.payload().size());
    // Sorted, so equal messages print equal lines (a protobuf map has no order).
    std::vector<std::pair<std::string_view, std::string_view>> headers(message.headers().begin(),
                                                                       message.headers().end());
    std::sort(headers.begin(), headers.end());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        if (i > 0)
            _line += ',';
        append_json_string(_line, headers[i].first);
        _line += ':';
        append_json_string(_line, headers[i].second);
    }
    _line += fmt::format(R"(}},"relay_sequence":{},"relay_received_ns":{},"relay_instance":"{}")",
                         message.relay_sequence(), message.relay_received_ns(),
                         hex_instance(message.relay_instance()));
    // Only when there are hops: a message that crossed one relay prints as it always did.
    if (message.relay_hops_size() > 0) {
        _line += R"(,"relay_hops":[)";
        for (int i = 0; i < message.relay_hops_size(); ++i) {
            const zrelay::v1::RelayHop &hop = message.relay_hops(i);
            _line += fmt::format(R"({}{{"instance":"{}","sequence":{},"received_ns":{}}})",
                                 i == 0 ? "" : ",", hex_instance(hop.instance()), hop.sequence(),
                                 hop.received_ns());
        }
        _line += ']';
    }
    _line += "}\n";
    write_out(_line);
}

void subscriber::print_summary() const {
    const gap_tracker &tracker = _machine.tracker();
    const gap_totals &t = tracker.totals();
    const recovery_totals &r = _machine.totals();
    const origin_totals &o = _machine.origins().totals();
    // Only once a message came through a chain, so the summary without one reads as it did.
    const bool chained = o.checked > 0;
    std::string text = fmt::format(
        "zrelay sub: received {}, topics {}, gaps {}, missing {}, restarts {}, duplicates {}, "
        "undecodable {}, untracked {}",
        _received, tracker.topics(), t.gaps, t.missing, t.restarts, t.duplicates, _undecodable,
        t.untracked);
    // Only with recovery on, so the summary without it reads as it always did.
    if (_recovering)
        text += fmt::format(", recovered {}, lost {}", r.recovered, r.lost);
    if (chained)
        text += fmt::format(", origin checked {}, origin lost {}, origin duplicates {}", o.checked,
                            o.lost, o.duplicates);
    if (t.overflow > 0)
        text += fmt::format("; {} messages on topics past the first {} were not checked for gaps",
                            t.overflow, tracker.max_topics());
    std::cerr << text << '\n';
    if (_options.json)
        std::cerr << fmt::format(
            "{{\"summary\":{{\"received\":{},\"topics\":{},\"gaps\":{},\"missing\":{},"
            "\"restarts\":{},\"duplicates\":{},\"undecodable\":{},\"untracked\":{},"
            "\"unchecked\":{}{}{}}}}}\n",
            _received, tracker.topics(), t.gaps, t.missing, t.restarts, t.duplicates, _undecodable,
            t.untracked, t.overflow,
            _recovering ? fmt::format(R"(,"recovered":{},"lost":{})", r.recovered, r.lost)
                        : std::string(),
            chained ? fmt::format(R"(,"origin_checked":{},"origin_lost":{},"origin_duplicates":{})",
                                  o.checked, o.lost, o.duplicates)
                    : std::string());
}

// The replay endpoint's DEALER: opened at start and again after a reply timeout, so that the late
// replies of a request given up on are dropped with the old socket (the Guide's Lazy Pirate).
zmq::socket_t open_replay(zmq::context_t &context, const std::string &endpoint) {
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::ipv6, wants_ipv6(endpoint));
    try {
        dealer.connect(endpoint);
    } catch (const zmq::error_t &e) {
        throw tool_error(e.num() == EINVAL ? exit_usage : exit_unavailable,
                         fmt::format("sub: cannot connect to {}: {}", endpoint, e.what()));
    }
    return dealer;
}

// --idle-timeout's bound: a year, far inside what steady_clock's nanoseconds hold.
constexpr double max_idle_timeout_s = 365.0 * 24 * 3600;

// Reads up to a batch of messages from `socket` into `handle`; false once none is left.
template <typename More, typename Handle>
bool read_batch(zmq::socket_t &socket, std::vector<zmq::message_t> &frames, const More &more,
                const Handle &handle) {
    // A bounded batch, so a signal is seen within a batch even under a flood.
    for (int i = 0; i < 1024 && more(); ++i) {
        frames.clear();
        if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait))
            return false;
        handle(frames);
    }
    return true;
}

} // namespace

int run_sub(const sub_options &options) {
    check_endpoint("sub: " + options.from_from, options.from);
    const bool recovering = options.recover || options.snapshot;
    if (recovering)
        check_endpoint("sub: " + options.replay_from, options.replay);
    // Also what CLI11's range check lets through: NaN.
    if (!(options.idle_timeout_s >= 0 && options.idle_timeout_s <= max_idle_timeout_s))
        throw tool_error(exit_usage, fmt::format("sub: --idle-timeout {}: not in [0.001, {}]",
                                                 options.idle_timeout_s, max_idle_timeout_s));
    const auto idle_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options.idle_timeout_s));
    // Its own parse errors are what this tool reports (as undecodable); protobuf's log lines
    // would only repeat them, once per bad message.
    google::protobuf::SetLogHandler(nullptr);

    // SIGINT and SIGTERM as a readable fd that the SUB socket's poll also watches (no handler, no
    // timeout to poll a flag with). Before the context, so zmq's threads inherit the blocked mask.
    signal_watcher signals({SIGINT, SIGTERM});
    zmq::context_t context(1);
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    if (options.topics.empty())
        sub.set(zmq::sockopt::subscribe, "");
    for (const std::string &prefix : options.topics)
        sub.set(zmq::sockopt::subscribe, prefix);
    connection_watch watch(context, sub, options.from, "zrelay sub"); // before connect: all events
    sub.set(zmq::sockopt::ipv6, wants_ipv6(options.from));
    try {
        sub.connect(options.from);
    } catch (const zmq::error_t &e) {
        throw tool_error(e.num() == EINVAL ? exit_usage : exit_unavailable,
                         fmt::format("sub: cannot connect to {}: {}", options.from, e.what()));
    }

    subscriber state(options);
    std::optional<zmq::socket_t> replay;
    if (recovering) {
        replay = open_replay(context, options.replay);
        state.set_replay(&*replay);
    }
    // Subscribed first, then the snapshot: what is published meanwhile arrives live (held until
    // the snapshot is in), so nothing falls between the two; the seam is checked per topic.
    if (options.snapshot)
        state.machine().start_snapshot(options.topics);

    std::vector<zmq::message_t> frames;
    std::array<zmq::pollitem_t, 4> items{{{sub.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, signals.fd(), ZMQ_POLLIN, 0},
                                          {watch.events().handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, -1, 0, 0}}};
    const std::size_t polled = replay ? items.size() : items.size() - 1;
    const std::chrono::seconds reply_timeout{options.replay_timeout_s};
    const auto wants_live = [&] { return !state.done() && state.machine().wants_live(); };
    const auto not_done = [&] { return !state.done(); };
    while (!state.done()) {
        // Flushed only before waiting: lines come out as soon as nothing more is queued, without
        // a write per message under load.
        flush_out();
        // Live messages wait in zmq's queue while too many are held for a recovery.
        items[0].events = state.machine().wants_live() ? ZMQ_POLLIN : 0;
        if (replay)
            items[3] = {replay->handle(), 0, ZMQ_POLLIN, 0};
        auto wait = std::chrono::milliseconds(-1);
        if (state.machine().awaiting_reply())
            wait = std::max(
                std::chrono::milliseconds(0),
                std::chrono::ceil<std::chrono::milliseconds>(state.last_heard() + reply_timeout -
                                                             std::chrono::steady_clock::now()));
        if (idle_timeout.count() > 0) {
            const auto idle_left = std::chrono::ceil<std::chrono::milliseconds>(
                state.last_message() + idle_timeout - std::chrono::steady_clock::now());
            if (idle_left.count() <= 0) {
                std::cerr << fmt::format("zrelay sub: no message for {} s; stopping\n",
                                         options.idle_timeout_s);
                break;
            }
            wait = wait.count() < 0 ? idle_left : std::min(wait, idle_left);
        }
        zmq::poll(items.data(), polled, wait);
        if ((items[1].revents & ZMQ_POLLIN) != 0)
            break; // SIGINT or SIGTERM: summary, exit 0
        if ((items[2].revents & ZMQ_POLLIN) != 0)
            watch.read_events();
        if (replay && (items[3].revents & ZMQ_POLLIN) != 0)
            (void)read_batch(*replay, frames, not_done,
                             [&](const auto &f) { state.handle_reply(f); });
        if ((items[0].revents & ZMQ_POLLIN) != 0)
            (void)read_batch(sub, frames, wants_live, [&](const auto &f) { state.handle(f); });
        if (replay && state.machine().awaiting_reply() &&
            std::chrono::steady_clock::now() - state.last_heard() >= reply_timeout) {
            replay = open_replay(context, options.replay);
            state.set_replay(&*replay);
            state.machine().on_timeout();
        }
    }
    if (recovering) {
        // What is held is printed; what was still being asked for counts as lost.
        state.machine().finish();
        state.machine().report_topics();
    }
    flush_out();
    watch.read_events();
    if (!watch.ever_connected() && state.received() == 0)
        std::cerr << fmt::format("zrelay sub: never connected to {}\n", options.from);
    state.print_summary();
    return exit_ok;
}

} // namespace zrelay::tool
