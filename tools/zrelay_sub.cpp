#include "zrelay_sub.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "endpoint.hpp"
#include "signals.hpp"
#include "zrelay/v1/data_message.pb.h"
#include "zrelay_common.hpp"
#include "zrelay_connection.hpp"
#include "zrelay_gaps.hpp"
#include "zrelay_text.hpp"

namespace zrelay::tool {

namespace {

std::string hex_instance(std::uint64_t instance) {
    return fmt::format("{:016x}", instance);
}

// Says on stderr, at once, what `event` found on `topic`.
void report(std::string_view topic, const gap_event &event, std::uint64_t instance) {
    switch (event.what) {
    case gap_event::kind::none:
        return;
    case gap_event::kind::gap:
        std::cerr << fmt::format(
            "gap on topic \"{}\": {} missing ({})\n", one_line(topic), event.last - event.first + 1,
            event.first == event.last ? fmt::format("sequence {}", event.first)
                                      : fmt::format("sequences {}..{}", event.first, event.last));
        return;
    case gap_event::kind::duplicate:
        std::cerr << fmt::format(
            "duplicate or out-of-order on topic \"{}\": sequence {} after {}\n", one_line(topic),
            event.first, event.last);
        return;
    case gap_event::kind::restart:
        std::cerr << fmt::format("relay restart seen on topic \"{}\": new instance {}\n",
                                 one_line(topic), hex_instance(instance));
        return;
    }
}

// Writes `text` to stdout; a failure (a full disk, a closed pipe) ends the command.
void write_out(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
        throw std::system_error(errno, std::generic_category(), "writing to stdout");
}

void flush_out() {
    if (std::fflush(stdout) != 0)
        throw std::system_error(errno, std::generic_category(), "writing to stdout");
}

class subscriber {
public:
    explicit subscriber(const sub_options &options)
        : _options(options), _tracker(options.max_topics) {}

    // One message as received (all its frames); returns after printing it and any problem.
    void handle(const std::vector<zmq::message_t> &frames);
    void print_summary() const;
    [[nodiscard]] std::uint64_t received() const noexcept { return _received; }

private:
    void print_text(std::string_view topic, const zrelay::v1::DataMessage &message);
    void print_json(std::string_view topic, const zrelay::v1::DataMessage &message);

    const sub_options &_options;
    gap_tracker _tracker;
    zrelay::v1::DataMessage _message;
    std::string _line;
    std::uint64_t _received = 0;
    std::uint64_t _undecodable = 0;
};

void subscriber::handle(const std::vector<zmq::message_t> &frames) {
    ++_received;
    // The relay publishes [topic][DataMessage]; anything else did not come from a relay.
    if (frames.size() != 2 ||
        !_message.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size()))) {
        ++_undecodable;
        std::cerr << (frames.size() != 2
                          ? fmt::format("undecodable message: {} frames, expected 2 "
                                        "([topic][DataMessage])\n",
                                        frames.size())
                          : fmt::format("undecodable message on topic \"{}\": not a DataMessage "
                                        "({} bytes)\n",
                                        one_line(frames[0].to_string_view()), frames[1].size()));
        return;
    }
    // The topic frame, not the message's topic field: the relay routes (and numbers) a message
    // with an empty topic under its default topic.
    const std::string_view topic = frames[0].to_string_view();
    report(topic, _tracker.observe(topic, _message.relay_instance(), _message.relay_sequence()),
           _message.relay_instance());
    if (_options.quiet)
        return;
    if (_options.json)
        print_json(topic, _message);
    else
        print_text(topic, _message);
}

void subscriber::print_text(std::string_view topic, const zrelay::v1::DataMessage &message) {
    _line = fmt::format("{} #{} {}", one_line(topic), message.relay_sequence(),
                        one_line(message.content()));
    if (!message.payload().empty())
        _line += fmt::format(" [payload {} bytes]", message.payload().size());
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
    _line += fmt::format(R"(}},"relay_sequence":{},"relay_received_ns":{},"relay_instance":"{}"}})"
                         "\n",
                         message.relay_sequence(), message.relay_received_ns(),
                         hex_instance(message.relay_instance()));
    write_out(_line);
}

void subscriber::print_summary() const {
    const gap_totals &t = _tracker.totals();
    std::string text = fmt::format(
        "zrelay sub: received {}, topics {}, gaps {}, missing {}, restarts {}, duplicates {}, "
        "undecodable {}, untracked {}",
        _received, _tracker.topics(), t.gaps, t.missing, t.restarts, t.duplicates, _undecodable,
        t.untracked);
    if (t.overflow > 0)
        text += fmt::format("; {} messages on topics past the first {} were not checked for gaps",
                            t.overflow, _tracker.max_topics());
    std::cerr << text << '\n';
    if (_options.json)
        std::cerr << fmt::format(
            "{{\"summary\":{{\"received\":{},\"topics\":{},\"gaps\":{},\"missing\":{},"
            "\"restarts\":{},\"duplicates\":{},\"undecodable\":{},\"untracked\":{},"
            "\"unchecked\":{}}}}}\n",
            _received, _tracker.topics(), t.gaps, t.missing, t.restarts, t.duplicates, _undecodable,
            t.untracked, t.overflow);
}

} // namespace

int run_sub(const sub_options &options) {
    check_endpoint("sub: --from", options.from);
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
    std::vector<zmq::message_t> frames;
    std::array<zmq::pollitem_t, 3> items{{{sub.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, signals.fd(), ZMQ_POLLIN, 0},
                                          {watch.events().handle(), 0, ZMQ_POLLIN, 0}}};
    const auto done = [&] { return options.count > 0 && state.received() >= options.count; };
    while (!done()) {
        // Flushed only before waiting: lines come out as soon as nothing more is queued, without
        // a write per message under load.
        flush_out();
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
        if ((items[1].revents & ZMQ_POLLIN) != 0)
            break; // SIGINT or SIGTERM: summary, exit 0
        if ((items[2].revents & ZMQ_POLLIN) != 0)
            watch.read_events();
        // A bounded batch, so a signal is seen within a batch even under a flood.
        for (int i = 0; i < 1024 && !done(); ++i) {
            frames.clear();
            if (!zmq::recv_multipart(sub, std::back_inserter(frames), zmq::recv_flags::dontwait))
                break;
            state.handle(frames);
        }
    }
    flush_out();
    watch.read_events();
    if (!watch.ever_connected() && state.received() == 0)
        std::cerr << fmt::format("zrelay sub: never connected to {}\n", options.from);
    state.print_summary();
    return exit_ok;
}

} // namespace zrelay::tool
