#include "validator.hpp"

namespace zrelay {

void validator::process(pipeline_item &item) {
    decode_result r = decode_envelope(item.body.data(), item.body.size(), _options.self);
    if (r.reason == invalid_reason::none) {
        // An upstream relay's notices come down its link as its messages do, and go on to this
        // relay's subscribers (the hop says whose they are); from anyone else they are forged.
        if (r.topic.starts_with(reserved_topic_prefix) && item.link == 0)
            r.reason = invalid_reason::reserved_topic;
        else if (r.crossed_self)
            r.reason = invalid_reason::loop;
        else if (r.relays_crossed >= _options.max_hops)
            r.reason = invalid_reason::too_many_hops;
    }
    if (r.reason != invalid_reason::none) {
        item.reason = r.reason;
        _counters->invalid[static_cast<std::size_t>(r.reason)].add();
        _invalid_log.add(r.reason, item.body.size());
        return;
    }
    const std::string_view topic =
        r.topic.empty() ? std::string_view(_options.default_topic) : r.topic;
    item.upstream = r.upstream;
    // zmq keeps topics up to 33 bytes inside the message object: no allocation for those.
    item.topic.rebuild(topic.data(), topic.size());
}

} // namespace zrelay
