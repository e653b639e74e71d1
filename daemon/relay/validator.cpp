#include "validator.hpp"

#include <spdlog/spdlog.h>

namespace zrelay {

void validator::process(pipeline_item &item) {
    decode_result r = decode_envelope(item.body.data(), item.body.size());
    if (r.reason == invalid_reason::none && r.topic.starts_with(reserved_topic_prefix))
        r.reason = invalid_reason::reserved_topic;
    if (r.reason != invalid_reason::none) {
        item.reason = r.reason;
        _counters->invalid[static_cast<std::size_t>(r.reason)].add();
        if (_invalid_log.allow())
            spdlog::warn("dropped an invalid message ({}, {} bytes); {} more dropped since the "
                         "last such line",
                         to_string(r.reason), item.body.size(), _invalid_log.suppressed());
        return;
    }
    const std::string_view topic = r.topic.empty() ? std::string_view(_default_topic) : r.topic;
    // zmq keeps topics up to 33 bytes inside the message object: no allocation for those.
    item.topic.rebuild(topic.data(), topic.size());
}

} // namespace zrelay
