// worker: the validating stage. A validator turns a received frame into a publishable item (or
// an invalid one, counted and logged at a limited rate); a worker runs one on its own thread
// between two pipes. With workers: 0 the receiver runs the validator itself.
#pragma once

#include <string>

#include "envelope.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"

namespace zrelay {

class validator {
public:
    explicit validator(std::string default_topic) : _default_topic(std::move(default_topic)) {}

    // Decodes item.body, sets item.topic or item.reason, and counts invalid ones. Never throws
    // on any input (it may throw std::bad_alloc, like anything that allocates).
    void process(pipeline_item &item, thread_counters &counters);

private:
    std::string _default_topic;
    log_rate_limiter _invalid_log;
};

class worker {
public:
    worker(pipe &in, pipe &out, std::string default_topic, thread_counters &counters,
           const pipeline_control &control)
        : _in(in), _out(out), _validator(std::move(default_topic)), _counters(counters),
          _control(control) {}

    // The thread body: validates until the end item arrives (and forwards it) or abort().
    void run();

private:
    pipe &_in;
    pipe &_out;
    validator _validator;
    thread_counters &_counters;
    const pipeline_control &_control;
};

} // namespace zrelay
