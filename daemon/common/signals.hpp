// signals: SIGTERM, SIGINT (stop) and SIGHUP (reload) delivered as readable events on a
// signalfd, never to a handler.
//
// Construct it in main before any thread starts: it blocks the signals in the calling thread,
// and every thread started afterwards inherits the mask, so the signals stay pending until
// someone reads the signalfd. Nothing runs in signal context.
#pragma once

#include <optional>

namespace zrelay {

class signal_watcher {
public:
    signal_watcher();
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
