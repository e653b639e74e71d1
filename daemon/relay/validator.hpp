// validator: the stage that decodes. It walks a received frame's DataMessage (envelope.hpp),
// and either sets the item's topic (its own, or routing.default_topic when it has none) and the
// stamp of the relay it came from, or refuses it by reason (malformed, bad_utf8, reserved_topic;
// loop when it carries this relay's own stamp, too_many_hops past routing.max_hops), counted and
// logged at a limited rate. One per thread that validates: the direct path's thread, or each
// worker.
#pragma once

#include <cstdint>
#include <string>

#include "invalid_log.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

namespace zrelay {

class validator {
public:
    struct options {
        std::string default_topic;
        std::uint64_t self = 0;       // this relay's instance (0: not stamping, no loop check)
        std::uint32_t max_hops = 255; // relays a message may cross, this one included
    };
    // `counters`: the block of the thread that will run this validator.
    validator(options opts, thread_counters &counters)
        : _options(std::move(opts)), _counters(&counters) {}

    // Decodes item.body, sets item.topic or item.reason. Never throws on any input (it may
    // throw std::bad_alloc, like anything that allocates).
    void process(pipeline_item &item);
    // Logs what it refused and held back for a second or more: when its thread is idle.
    void idle() { _invalid_log.flush_due(); }
    // Logs all it refused and held back: when its thread stops.
    void finish() { _invalid_log.flush_all(); }

private:
    options _options;
    thread_counters *_counters; // a pointer, so that a worker can be given its validator by value
    invalid_log _invalid_log;
};

} // namespace zrelay
