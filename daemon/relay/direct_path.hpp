// direct_path: the one-thread composition (workers: 0). One thread runs every stage for each
// message: ingress -> validator -> egress, or dead letters for what either refused. No pipes, no
// credits, no wake-ups between threads of ours; backpressure is egress's blocking send, during
// which PULL is not read.
#pragma once

#include <functional>

#include "dead_letters.hpp"
#include "egress.hpp"
#include "ingress.hpp"
#include "metrics.hpp"
#include "pipeline_control.hpp"
#include "validator.hpp"

namespace zrelay {

class direct_path {
public:
    // The stages are the relay's; this thread uses them alone from run() on. `letters` may be
    // nullptr (no dead-letter socket). `counters`: the block the loop beats on.
    direct_path(ingress &in, validator &check, egress &out, dead_letters *letters,
                thread_counters &counters, const pipeline_control &control)
        : _ingress(in), _validator(check), _egress(out), _dead_letters(letters),
          _counters(counters), _control(control) {}

    // The thread body: returns after a drain (PULL read dry, everything published) or an
    // abort, having closed every socket it used.
    void run();

private:
    ingress &_ingress;
    validator &_validator;
    egress &_egress;
    dead_letters *_dead_letters;
    thread_counters &_counters;
    const pipeline_control &_control;
    const std::function<void()> _no_hold; // nothing to do while a subscriber holds egress up
};

} // namespace zrelay
