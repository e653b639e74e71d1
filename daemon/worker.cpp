#include "worker.hpp"

#include <spdlog/spdlog.h>

namespace zrelay {

void validator::process(pipeline_item &item, thread_counters &counters) {
    decode_result r = decode_envelope(item.body.data(), item.body.size());
    if (r.reason == invalid_reason::none && r.topic.starts_with(reserved_topic_prefix))
        r.reason = invalid_reason::reserved_topic;
    if (r.reason != invalid_reason::none) {
        item.reason = r.reason;
        counters.invalid[static_cast<std::size_t>(r.reason)].add();
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

void worker::run() {
    std::size_t unflushed = 0;
    for (;;) {
        _counters.beats.add();
        std::optional<pipeline_item> item = _in.read();
        if (!item) {
            // Going idle: publish what this batch holds before sleeping.
            if (unflushed != 0) {
                _out.flush();
                unflushed = 0;
            }
            if (_control.aborted())
                return;
            _in.wait(idle_poll);
            continue;
        }
        if (item->end) {
            _out.write(std::move(*item));
            _out.flush();
            return;
        }
        if (item->reason == invalid_reason::none) // else refused by the receiver, passed on whole
            _validator.process(*item, _counters);
        _out.write(std::move(*item));
        if (++unflushed == batch_size) {
            _out.flush();
            unflushed = 0;
        }
    }
}

} // namespace zrelay
