// collector: the pipelined composition's last thread. It reads the workers' output pipes in the
// dispatcher's round-robin order (which restores arrival order), hands each valid item to
// egress and each refused one to dead letters, and returns the items' credits in batches, and
// at once whenever it would wait (for input, or for a slow subscriber) so that zrelay_inflight
// tells the truth.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "credits.hpp"
#include "dead_letters.hpp"
#include "egress.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "pipeline_control.hpp"

namespace zrelay {

class collector {
public:
    // `letters` may be nullptr (no dead-letter socket). `counters`: the block the loop beats on.
    collector(std::vector<pipe *> inputs, egress &out, dead_letters *letters, credits &credits,
              thread_counters &counters, const pipeline_control &control)
        : _inputs(std::move(inputs)), _egress(out), _dead_letters(letters), _credits(credits),
          _counters(counters), _control(control), _return_credits([this] { return_credits(); }) {}
    collector(const collector &) = delete; // _return_credits holds this
    collector &operator=(const collector &) = delete;
    collector(collector &&) = delete;
    collector &operator=(collector &&) = delete;
    ~collector() = default;

    // The thread body: returns once every input pipe delivered its end item (after a drain) or
    // on abort(), having closed egress and dead letters.
    void run();

private:
    void return_credits();

    std::vector<pipe *> _inputs;
    egress &_egress;
    dead_letters *_dead_letters;
    credits &_credits;
    thread_counters &_counters;
    const pipeline_control &_control;
    std::int64_t _unreturned = 0; // credits for items handled but not yet returned
    const std::function<void()> _return_credits;
};

} // namespace zrelay
