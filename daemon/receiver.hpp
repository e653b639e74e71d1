// receiver: owns the ingress PULL socket. It takes one credit per message it dispatches, so
// when max_inflight messages are in the pipeline it stops reading and the PULL's RCVHWM (and
// then the producers) take the backpressure. Multi-frame and oversize messages are refused
// here; everything else is dealt to the output pipes round-robin.
//
// With workers: 0 it takes the direct path instead: it validates each message itself and
// publishes it through a publisher it owns, on this one thread. No pipes, no credits, no
// wake-ups between our threads; backpressure is the publisher's blocking send, during which PULL
// is not read.
#pragma once

#include <optional>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "credits.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "publisher.hpp"
#include "security.hpp"
#include "worker.hpp"

namespace zrelay {

class receiver {
public:
    // Creates the PULL socket and binds/connects every ingress endpoint, on the caller's thread,
    // so a bad endpoint fails start-up: throws endpoint_error naming it and the OS reason.
    // Pipeline: deals every message to `outputs` round-robin, for workers to validate.
    receiver(zmq::context_t &context, const ingress_config &cfg, const socket_security &security,
             std::vector<pipe *> outputs, credits &credits, thread_counters &counters,
             const pipeline_control &control);
    // Direct path: validates with `inline_validator` and publishes through `direct`, which
    // this receiver's thread then owns (and closes when it stops).
    receiver(zmq::context_t &context, const ingress_config &cfg, const socket_security &security,
             publisher &direct, validator inline_validator, credits &credits,
             thread_counters &counters, const pipeline_control &control);

    // The endpoints actually bound (wildcard ports resolved), for the log.
    [[nodiscard]] const std::vector<std::string> &bound() const noexcept { return _bound; }

    // Before run(). Take the receive time of each message (for the relay's stamp).
    void stamp_receive_time(bool on) noexcept { _stamp_time = on; }
    // Before run(). Pass refused messages on, whole, rather than dropping them here: for the
    // dead-letter socket, which the publisher owns.
    void keep_refused(bool on) noexcept { _keep_refused = on; }

    // The thread body. Returns after a drain (PULL read dry, end items sent) or abort(); the
    // socket is closed by then, on the thread that used it.
    void run();

private:
    receiver(zmq::context_t &context, const ingress_config &cfg, const socket_security &security,
             std::vector<pipe *> outputs, publisher *direct,
             std::optional<validator> inline_validator, credits &credits, thread_counters &counters,
             const pipeline_control &control);
    // Sets item.reason if item.body is the first frame of a multi-frame message (whose other
    // frames it takes, keeping them in item.rest if keep_refused) or oversize; counts it.
    void refuse(pipeline_item &item);
    void handle(pipeline_item &item, std::int64_t &held, std::size_t &unflushed);
    void take_time(pipeline_item &item) const noexcept;
    void run_pipeline();
    void run_direct();
    // Waits for input while PULL is empty; false once the receiver should stop reading.
    bool wait_for_input(void *also_watch);
    void flush_all();
    bool wait_for_credits();
    void send_end_items();

    zmq::socket_t _socket;
    std::size_t _max_message_bytes;
    std::vector<pipe *> _outputs;
    std::size_t _next = 0; // the output pipe the next message goes to
    credits &_credits;
    thread_counters &_counters;
    const pipeline_control &_control;
    std::optional<validator> _validator;
    publisher *_direct = nullptr;
    log_rate_limiter _invalid_log;
    bool _stamp_time = false;
    bool _keep_refused = false;
    std::vector<std::string> _bound;
};

} // namespace zrelay
