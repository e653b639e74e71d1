#include "dispatcher.hpp"

#include <array>

namespace zrelay {

void dispatcher::flush_all() {
    for (pipe *p : _outputs)
        p->flush();
    _unflushed = 0;
}

bool dispatcher::wait_for_credits() {
    flush_all(); // the collector can only return credits for what it can see
    while (!_control.aborted()) {
        _counters.beats.add();
        std::array<zmq::pollitem_t, 2> items{{
            {nullptr, _credits.fd(), ZMQ_POLLIN, 0},
            {nullptr, _control.abort_fd(), ZMQ_POLLIN, 0},
        }};
        zmq::poll(items.data(), items.size(), idle_poll);
        if ((items[0].revents & ZMQ_POLLIN) != 0) {
            _credits.rearm();
            return true;
        }
    }
    return false;
}

void dispatcher::deal(pipeline_item &item) {
    _outputs[_next]->write(std::move(item));
    _next = _next + 1 == _outputs.size() ? 0 : _next + 1;
    if (++_unflushed == batch_size)
        flush_all();
}

void dispatcher::send_end_items() {
    // In round-robin order from where the data stopped, as the collector will read them.
    for (std::size_t i = 0; i < _outputs.size(); ++i) {
        pipeline_item end;
        end.end = true;
        deal(end);
    }
    flush_all();
}

void dispatcher::run() {
    std::int64_t held = 0; // credits taken and not yet spent on an item
    while (!_control.aborted()) {
        _counters.beats.add();
        if (held == 0) {
            held = _credits.acquire(static_cast<std::int64_t>(batch_size));
            if (held == 0) {
                if (!wait_for_credits())
                    break;
                continue;
            }
        }
        pipeline_item item; // zmq_msg_init: no allocation
        if (_ingress.receive(item, false)) {
            if (item.reason == invalid_reason::none || _pass_refused) {
                --held;
                deal(item);
            }
            continue;
        }
        // PULL is empty for now.
        flush_all();
        _credits.release(held); // so zrelay_inflight reads true while idle
        held = 0;
        if (!_ingress.wait_for_input(nullptr))
            break;
    }
    _credits.release(held);
    if (!_control.aborted())
        send_end_items();
    _ingress.close();
}

} // namespace zrelay
