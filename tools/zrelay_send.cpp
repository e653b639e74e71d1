#include "zrelay_send.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <zmq.hpp>

#include "clock.hpp"
#include "endpoint.hpp"
#include "zrelay/v1/data_message.pb.h"
#include "zrelay_common.hpp"
#include "zrelay_connection.hpp"
#include "zrelay_text.hpp"

namespace zrelay::tool {

namespace {

using clock_type = std::chrono::steady_clock;

// Where the messages' contents come from: the TEXTs --count times over, stdin's lines, or
// generated numbers. Each call fills `content` and returns false when there is none left.
using content_source = std::function<bool(std::string &content)>;

content_source make_source(const send_options &options, std::uint64_t &skipped) {
    const bool from_stdin = options.texts.size() == 1 && options.texts.front() == "-";
    if (from_stdin) {
        if (options.count)
            throw tool_error(exit_usage, "send: --count does not apply to stdin ('-')");
        return [&skipped, line_number = std::uint64_t{0}](std::string &content) mutable {
            while (std::getline(std::cin, content)) {
                ++line_number;
                // The relay refuses (and protobuf will not parse) a string field that is not
                // UTF-8: say which line, and go on with the others.
                if (valid_utf8(content))
                    return true;
                ++skipped;
                std::cerr << "zrelay send: stdin line " << line_number
                          << " is not valid UTF-8; skipped\n";
            }
            return false;
        };
    }
    for (const std::string &text : options.texts) {
        if (text == "-")
            throw tool_error(exit_usage, "send: '-' (stdin) cannot be mixed with TEXT arguments");
        if (!valid_utf8(text))
            throw tool_error(exit_usage, "send: a TEXT argument is not valid UTF-8");
    }
    const std::uint64_t total = options.texts.empty()
                                    ? options.count.value_or(1)
                                    : options.count.value_or(1) * options.texts.size();
    // Numbered contents only for generated messages: one carrying a --file has its own payload.
    const bool numbered = options.file.empty();
    return [&texts = options.texts, total, numbered,
            index = std::uint64_t{0}](std::string &content) mutable {
        if (index == total)
            return false;
        if (!texts.empty())
            content = texts[index % texts.size()];
        else
            content = numbered ? std::to_string(index) : std::string();
        ++index;
        return true;
    };
}

// The largest --file, as the largest --size: more than any relay takes in one message.
constexpr std::size_t max_file_bytes = std::size_t{256} << 20;

// The whole of `path`, byte for byte (a pipe or /dev/stdin too); a usage error naming the file
// and the OS's reason if it cannot be read.
std::string read_file(const std::string &path) {
    const auto fail = [&](const std::string &reason) {
        return tool_error(exit_usage, fmt::format("send: --file {}: {}", path, reason));
    };
    const std::unique_ptr<std::FILE, int (*)(std::FILE *)> file(std::fopen(path.c_str(), "rb"),
                                                                &std::fclose);
    if (!file)
        throw fail(std::strerror(errno)); // NOLINT(concurrency-mt-unsafe): before any thread
    std::string bytes;
    std::array<char, 65536> chunk{};
    while (true) {
        const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
        bytes.append(chunk.data(), got);
        if (bytes.size() > max_file_bytes)
            throw fail(fmt::format("larger than {} bytes", max_file_bytes));
        if (got < chunk.size())
            break;
    }
    if (std::ferror(file.get()) != 0)
        throw fail(std::strerror(errno)); // NOLINT(concurrency-mt-unsafe): before any thread
    return bytes;
}

// Each KEY=VALUE into `message`'s headers; a usage error naming the first that is not one.
void add_headers(const std::vector<std::string> &headers, zrelay::v1::DataMessage &message) {
    for (const std::string &header : headers) {
        const auto fail = [&](std::string_view why) {
            return tool_error(exit_usage,
                              fmt::format("send: --header '{}': {}", one_line(header), why));
        };
        const auto equals = header.find('=');
        if (equals == std::string::npos || equals == 0)
            throw fail("expected KEY=VALUE with a KEY that is not empty");
        // The relay, as protobuf, refuses a map entry that is not UTF-8.
        if (!valid_utf8(header))
            throw fail("not valid UTF-8");
        const std::string key = header.substr(0, equals);
        auto &map = *message.mutable_headers();
        if (map.find(key) != map.end())
            throw fail(fmt::format("KEY '{}' given twice", one_line(key)));
        map[key] = header.substr(equals + 1);
    }
}

std::string payload_of(std::size_t size) {
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        payload[i] = static_cast<char>('a' + i % 26);
    return payload;
}

std::string describe_timeout(std::int64_t timeout_ms) {
    return timeout_ms == 0 ? std::string("ever") : fmt::format("{} ms", timeout_ms);
}

} // namespace

int run_send(const send_options &options) {
    check_endpoint("send: " + options.to_from, options.to);
    zrelay::v1::DataMessage message;
    message.set_topic(options.topic);
    add_headers(options.headers, message);
    message.set_payload(options.file.empty() ? payload_of(options.size) : read_file(options.file));
    std::uint64_t skipped = 0;
    const content_source next = make_source(options, skipped);

    zmq::context_t context(1);
    zmq::socket_t push(context, zmq::socket_type::push);
    // Immediate: queue only to a connected relay, so that with no relay a send blocks (and times
    // out) instead of filling a queue that nobody will ever read.
    push.set(zmq::sockopt::immediate, true);
    push.set(zmq::sockopt::sndtimeo,
             options.timeout_ms == 0 ? -1 : static_cast<int>(options.timeout_ms));
    // Linger on close up to the timeout, so what the relay took into our queue is delivered.
    push.set(zmq::sockopt::linger,
             options.timeout_ms == 0 ? -1 : static_cast<int>(options.timeout_ms));
    // Says, when the relay takes nothing, why zmq could not reach it (a wrong port, a CURVE
    // relay); read only then, so a send that succeeds prints nothing of it.
    connection_watch watch(context, push, options.to, "zrelay send");
    push.set(zmq::sockopt::ipv6, wants_ipv6(options.to));
    try {
        push.connect(options.to);
    } catch (const zmq::error_t &e) {
        throw tool_error(e.num() == EINVAL ? exit_usage : exit_unavailable,
                         fmt::format("send: cannot connect to {}: {}", options.to, e.what()));
    }

    std::string content;
    std::string wire;
    std::uint64_t sent = 0;
    std::uint64_t bytes = 0;
    bool warned_size = false;
    const auto start = clock_type::now();
    while (next(content)) {
        if (options.rate > 0) {
            // The schedule, not the previous send, says when: a slow send is caught up on.
            const std::chrono::duration<double> due(static_cast<double>(sent) / options.rate);
            std::this_thread::sleep_until(start +
                                          std::chrono::duration_cast<clock_type::duration>(due));
        }
        message.set_content(content);
        message.set_timestamp(epoch_ns());
        message.SerializeToString(&wire);
        if (wire.size() > options.relay_default_max_bytes && !warned_size) {
            std::cerr << fmt::format(
                "zrelay send: warning: a message of {} bytes is over the {} bytes a relay takes "
                "by default (ingress.max_message_bytes): unless {} allows more, it drops the "
                "message and counts it as oversize\n",
                wire.size(), options.relay_default_max_bytes, options.to);
            warned_size = true;
        }
        if (!push.send(zmq::buffer(wire), zmq::send_flags::none)) {
            watch.read_events();
            throw tool_error(
                exit_unavailable,
                sent == 0 ? fmt::format("send: no relay at {} after {}", options.to,
                                        describe_timeout(options.timeout_ms))
                          : fmt::format("send: the relay at {} took no message for {} after {} "
                                        "were sent",
                                        options.to, describe_timeout(options.timeout_ms), sent));
        }
        ++sent;
        bytes += wire.size();
    }

    // zmq cannot say whether the queue drained, but closing returns as soon as it has: a close
    // that took the whole linger means messages were still queued when zmq gave up on them.
    const auto closing = clock_type::now();
    push.close();
    const bool undelivered =
        options.timeout_ms > 0 &&
        clock_type::now() - closing >= std::chrono::milliseconds(options.timeout_ms);
    if (undelivered)
        watch.read_events(); // what became of the connection meanwhile
    watch.close();
    context.close();
    const auto end = clock_type::now();
    if (undelivered)
        throw tool_error(exit_unavailable,
                         fmt::format("send: {} messages were passed to zmq but some were still "
                                     "undelivered to {} after {} ms",
                                     sent, options.to, options.timeout_ms));

    const double seconds = std::chrono::duration<double>(end - start).count();
    // What zmq handed to the relay's socket (the linger drained our queue), not what any
    // subscriber received: `zrelay bench` measures that.
    std::cerr << fmt::format(
        "zrelay send: sent {} messages ({} bytes) to {} in {:.3f} s, {:.0f} msg/s taken by "
        "the relay's socket (not delivery to subscribers: see zrelay bench){}\n",
        sent, bytes, options.to, seconds, seconds > 0 ? static_cast<double>(sent) / seconds : 0.0,
        skipped > 0 ? fmt::format("; skipped {} non-UTF-8 lines", skipped) : std::string());
    return exit_ok;
}

} // namespace zrelay::tool
