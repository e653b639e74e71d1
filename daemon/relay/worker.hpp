// worker: one thread of the pipelined composition's middle. It runs a validator between two
// pipes: every item it reads, valid or not, leaves on its output pipe in the order it came, so
// the collector can restore the dispatcher's order by reading the workers round-robin.
#pragma once

#include "metrics.hpp"
#include "pipeline.hpp"
#include "pipeline_control.hpp"
#include "validator.hpp"

namespace zrelay {

class worker {
public:
    // `counters`: this worker's block, which `check` counts into too.
    worker(pipe &in, pipe &out, validator check, thread_counters &counters,
           const pipeline_control &control)
        : _in(in), _out(out), _validator(std::move(check)), _counters(counters), _control(control) {
    }

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
