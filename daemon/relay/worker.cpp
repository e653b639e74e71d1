#include "worker.hpp"

namespace zrelay {

void worker::run() {
    std::size_t unflushed = 0;
    for (;;) {
        _counters.beats.add();
        std::optional<pipeline_item> item = _in.read();
        if (!item) {
            // Going idle: publish what this batch holds before sleeping.
            if (unflushed != 0) {
                _out.flush();
                unflushed = 0;
            }
            if (_control.aborted()) {
                _validator.finish();
                return;
            }
            _validator.idle();
            _in.wait(idle_poll);
            continue;
        }
        if (item->end) {
            _validator.finish();
            _out.write(std::move(*item));
            _out.flush();
            return;
        }
        if (item->reason == invalid_reason::none) // else refused by ingress, passed on whole
            _validator.process(*item);
        _out.write(std::move(*item));
        if (++unflushed == batch_size) {
            _out.flush();
            unflushed = 0;
        }
    }
}

} // namespace zrelay
