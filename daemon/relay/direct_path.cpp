#include "direct_path.hpp"

namespace zrelay {

void direct_path::run() {
    std::size_t since_tick = 0;
    pipeline_item item;
    while (!_control.aborted()) {
        _counters.beats.add();
        const bool draining = _control.draining();
        // While running, an empty PULL is waited on inside receive(), up to idle_poll; once
        // draining, wait_for_input() decides when PULL has stayed quiet long enough.
        if (!_ingress.receive(item, !draining)) {
            _validator.idle();
            _egress.tick();
            if (draining && !_ingress.wait_for_input(_egress.handle()))
                break;
            continue;
        }
        // Subscriptions queue up inside the XPUB until read; read them (and publish the drop
        // notices due) now and then under load, invalid input included.
        if (++since_tick == 1024) {
            since_tick = 0;
            _egress.tick();
        }
        if (item.reason == invalid_reason::none)
            _validator.process(item);
        if (item.reason != invalid_reason::none) {
            if (_dead_letters != nullptr)
                _dead_letters->send(item);
            item.rest.reset();
            continue;
        }
        if (!_egress.publish(item, _no_hold))
            break; // aborted while a subscriber held us up
    }
    _validator.finish();
    _egress.close();
    if (_dead_letters != nullptr)
        _dead_letters->close();
    _ingress.close();
}

} // namespace zrelay
