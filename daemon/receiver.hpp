// receiver: owns the ingress PULL socket. It takes one credit per message it dispatches, so
// when max_inflight messages are in the pipeline it stops reading and the PULL's RCVHWM (and
// then the producers) take the backpressure. Multi-frame and oversize messages are refused
// here; everything else is dealt to the output pipes round-robin.
#pragma once

#include <optional>
#include <vector>

#include <zmq.hpp>

#include "config.hpp"
#include "credits.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "worker.hpp"

namespace zrelay {

class receiver {
public:
    // Creates the PULL socket and binds/connects every ingress endpoint, on the caller's thread,
    // so a bad endpoint fails start-up: throws endpoint_error naming it and the OS reason.
    // `inline_validator`: validate here (workers: 0) instead of in workers.
    receiver(zmq::context_t &context, const ingress_config &cfg, std::vector<pipe *> outputs,
             credits &credits, thread_counters &counters, const pipeline_control &control,
             std::optional<validator> inline_validator);

    // The endpoints actually bound (wildcard ports resolved), for the log.
    [[nodiscard]] const std::vector<std::string> &bound() const noexcept { return _bound; }

    // The thread body. Returns after a drain (PULL read dry, end items sent) or abort(); the
    // socket is closed by then, on the thread that used it.
    void run();

private:
    void handle(zmq::message_t &msg, std::int64_t &held, std::size_t &unflushed);
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
    log_rate_limiter _invalid_log;
    std::vector<std::string> _bound;
};

// Binds or connects `socket` to each endpoint; throws endpoint_error("cannot bind <role>
// endpoint <ep>: <reason>"). Returns the endpoints as bound (ZMQ_LAST_ENDPOINT).
std::vector<std::string> attach_endpoints(zmq::socket_t &socket, const char *role,
                                          const std::vector<std::string> &bind,
                                          const std::vector<std::string> &connect);

} // namespace zrelay
