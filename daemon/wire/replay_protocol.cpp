#include "replay_protocol.hpp"

#include <climits>

#include <fmt/format.h>

#include "zrelay/v1/replay.pb.h"

namespace zrelay {
namespace {

constexpr std::size_t max_topic_bytes = 255;    // as the relay's own limit on topics
constexpr std::size_t max_request_bytes = 4096; // a request is a topic and a few integers

template <typename Message>
bool parse(Message &message, const void *data, std::size_t size) {
    return size <= INT_MAX && message.ParseFromArray(data, static_cast<int>(size));
}

} // namespace

std::string_view replay_status_name(replay_status status) noexcept {
    switch (status) {
    case replay_status::complete:
        return "complete";
    case replay_status::partial:
        return "partial";
    case replay_status::wrong_instance:
        return "wrong_instance";
    case replay_status::bad_request:
        return "bad_request";
    case replay_status::busy:
        return "busy";
    case replay_status::disabled:
        return "disabled";
    }
    return "unknown";
}

std::variant<replay_request, std::string> decode_replay_request(const void *data,
                                                                std::size_t size) {
    if (size > max_request_bytes)
        return fmt::format("a request is at most {} bytes, got {}", max_request_bytes, size);
    v1::ReplayRequest message;
    // Strings that are not UTF-8 fail the parse too (proto3 string fields).
    if (!parse(message, data, size))
        return std::string("not a ReplayRequest");
    replay_request out;
    out.request_id = message.request_id();
    out.instance = message.instance();
    out.window = message.window() == 0 ? default_replay_window : message.window();
    if (out.window > max_replay_window)
        return fmt::format("window {} is above {}", out.window, max_replay_window);
    switch (message.what_case()) {
    case v1::ReplayRequest::kRange: {
        const v1::Range &range = message.range();
        if (range.topic().size() > max_topic_bytes)
            return fmt::format("a topic is at most {} bytes, got {}", max_topic_bytes,
                               range.topic().size());
        if (range.from_sequence() == 0)
            return std::string("from_sequence must be at least 1");
        if (range.to_sequence() != 0 && range.to_sequence() < range.from_sequence())
            return fmt::format("to_sequence {} is below from_sequence {}", range.to_sequence(),
                               range.from_sequence());
        out.what = replay_range{range.topic(), range.from_sequence(), range.to_sequence()};
        break;
    }
    case v1::ReplayRequest::kSnapshot:
        if (message.snapshot().prefix().size() > max_topic_bytes)
            return fmt::format("a prefix is at most {} bytes, got {}", max_topic_bytes,
                               message.snapshot().prefix().size());
        out.what = replay_snapshot{message.snapshot().prefix()};
        break;
    case v1::ReplayRequest::kCredit:
        out.what = replay_credit{message.credit().messages()};
        break;
    case v1::ReplayRequest::WHAT_NOT_SET:
        return std::string("a request needs a range, a snapshot or a credit");
    }
    return out;
}

std::string encode_replay_request(const replay_request &request) {
    v1::ReplayRequest message;
    message.set_request_id(request.request_id);
    message.set_instance(request.instance);
    message.set_window(request.window);
    if (const auto *range = std::get_if<replay_range>(&request.what)) {
        v1::Range &r = *message.mutable_range();
        r.set_topic(range->topic);
        r.set_from_sequence(range->from_sequence);
        r.set_to_sequence(range->to_sequence);
    } else if (const auto *snapshot = std::get_if<replay_snapshot>(&request.what)) {
        message.mutable_snapshot()->set_prefix(snapshot->prefix);
    } else {
        message.mutable_credit()->set_messages(std::get<replay_credit>(request.what).messages);
    }
    return message.SerializeAsString();
}

std::string encode_replay_end(const replay_end &end) {
    v1::ReplayEnd message;
    message.set_request_id(end.request_id);
    message.set_status(static_cast<v1::ReplayEnd::Status>(end.status));
    message.set_instance(end.instance);
    message.set_messages(end.messages);
    message.set_missing(end.missing);
    message.set_first_held(end.first_held);
    message.set_newest_sequence(end.newest_sequence);
    message.set_error(end.error);
    return message.SerializeAsString();
}

std::variant<replay_end, std::string> decode_replay_end(const void *data, std::size_t size) {
    v1::ReplayEnd message;
    if (!parse(message, data, size))
        return std::string("not a ReplayEnd");
    const int status = message.status();
    if (status < static_cast<int>(replay_status::complete) ||
        status > static_cast<int>(replay_status::disabled))
        return fmt::format("unknown status {}", status);
    return replay_end{.request_id = message.request_id(),
                      .status = static_cast<replay_status>(status),
                      .instance = message.instance(),
                      .messages = message.messages(),
                      .missing = message.missing(),
                      .first_held = message.first_held(),
                      .newest_sequence = message.newest_sequence(),
                      .error = message.error()};
}

} // namespace zrelay
