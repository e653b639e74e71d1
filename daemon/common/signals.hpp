// signals: the signals a program waits for (zrelayd: SIGTERM, SIGINT to stop, SIGHUP to reload;
// `zrelay sub`: SIGINT, SIGTERM) delivered as readable events on a signalfd, never to a handler.
//
// Construct it in main before any thread starts (zmq's included): it blocks the signals in the
// calling thread, and every thread started afterwards inherits the mask, so the signals stay
// pending until someone reads the signalfd. Nothing runs in signal context. The mask stays as it
// is when it goes: the program is ending, and a signal that came meanwhile must not kill it.
#pragma once

#include <initializer_list>
#include <optional>

namespace zrelay {

class signal_watcher {
public:
    explicit signal_watcher(std::initializer_list<int> signals);
    ~signal_watcher();
    signal_watcher(const signal_watcher &) = delete;
    signal_watcher &operator=(const signal_watcher &) = delete;
    signal_watcher(signal_watcher &&) = delete;
    signal_watcher &operator=(signal_watcher &&) = delete;

    // Readable while a signal is pending.
    [[nodiscard]] int fd() const noexcept { return _fd; }
    // The pending signal's number, or nullopt if none is pending.
    std::optional<int> take();

private:
    int _fd = -1;
};

} // namespace zrelay
