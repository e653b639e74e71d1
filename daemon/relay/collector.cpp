#include "collector.hpp"

#include <array>
#include <optional>

namespace zrelay {

void collector::return_credits() {
    _credits.release(_unreturned);
    _unreturned = 0;
}

void collector::run() {
    std::size_t next = 0;
    std::size_t ended = 0;
    std::size_t since_tick = 0;
    while (ended < _inputs.size() && !_control.aborted()) {
        _counters.beats.add();
        std::optional<pipeline_item> item = _inputs[next]->read();
        if (!item) {
            return_credits();
            _egress.tick();
            std::array<zmq::pollitem_t, 3> items{{
                {_egress.handle(), 0, ZMQ_POLLIN, 0},
                {nullptr, _inputs[next]->fd(), ZMQ_POLLIN, 0},
                {nullptr, _control.abort_fd(), ZMQ_POLLIN, 0},
            }};
            zmq::poll(items.data(), items.size(), idle_poll); // wakes to beat for the watchdog
            if ((items[1].revents & ZMQ_POLLIN) != 0)
                _inputs[next]->rearm();
            continue;
        }
        next = next + 1 == _inputs.size() ? 0 : next + 1;
        if (item->end) {
            ++ended;
            continue;
        }
        if (item->reason != invalid_reason::none) {
            if (_dead_letters != nullptr)
                _dead_letters->send(*item);
        } else if (!_egress.publish(*item, _return_credits)) {
            break; // aborted while a subscriber held us up
        }
        if (++_unreturned == static_cast<std::int64_t>(batch_size))
            return_credits();
        // Subscriptions queue up inside the XPUB until read; read them now and then under load.
        if (++since_tick == 1024) {
            since_tick = 0;
            _egress.tick();
        }
    }
    return_credits();
    _egress.close();
    if (_dead_letters != nullptr)
        _dead_letters->close();
}

} // namespace zrelay
