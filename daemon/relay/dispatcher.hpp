// dispatcher: the pipelined composition's first thread. It takes messages from ingress and deals
// them to the workers' pipes round-robin, one credit each (credits.hpp): while none is left it
// stops reading, so the PULL's RCVHWM, and then the producers, take the backpressure. Refused
// items go along too when dead letters want them (so they keep their place), else stop here.
// When ingress is done it sends each pipe its end item, in the order the collector reads them.
#pragma once

#include <cstdint>
#include <vector>

#include "credits.hpp"
#include "ingress.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "pipeline_control.hpp"

namespace zrelay {

class dispatcher {
public:
    // `pass_refused`: deal refused items too (for dead letters). `counters`: the block the loop
    // beats on.
    dispatcher(ingress &in, std::vector<pipe *> outputs, bool pass_refused, credits &credits,
               thread_counters &counters, const pipeline_control &control)
        : _ingress(in), _outputs(std::move(outputs)), _pass_refused(pass_refused),
          _credits(credits), _counters(counters), _control(control) {}

    // The thread body. Returns after a drain (PULL read dry, end items sent) or abort(), having
    // closed the ingress socket.
    void run();

private:
    void deal(pipeline_item &item);
    void flush_all();
    // Waits until a credit is free; false if the relay aborts meanwhile.
    bool wait_for_credits();
    void send_end_items();

    ingress &_ingress;
    std::vector<pipe *> _outputs;
    bool _pass_refused;
    credits &_credits;
    thread_counters &_counters;
    const pipeline_control &_control;
    std::size_t _next = 0;      // the output pipe the next item goes to
    std::size_t _unflushed = 0; // items written since the last flush
};

} // namespace zrelay
