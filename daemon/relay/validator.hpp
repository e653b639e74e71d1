// validator: the stage that decodes. It walks a received frame's DataMessage (envelope.hpp),
// and either sets the item's topic (its own, or routing.default_topic when it has none) or
// refuses it by reason (malformed, bad_utf8, reserved_topic), counted and logged at a limited
// rate. One per thread that validates: the direct path's thread, or each worker.
#pragma once

#include <string>

#include "log_rate_limiter.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

namespace zrelay {

class validator {
public:
    // `counters`: the block of the thread that will run this validator.
    validator(std::string default_topic, thread_counters &counters)
        : _default_topic(std::move(default_topic)), _counters(&counters) {}

    // Decodes item.body, sets item.topic or item.reason. Never throws on any input (it may
    // throw std::bad_alloc, like anything that allocates).
    void process(pipeline_item &item);

private:
    std::string _default_topic;
    thread_counters *_counters; // a pointer, so that a worker can be given its validator by value
    log_rate_limiter _invalid_log;
};

} // namespace zrelay
