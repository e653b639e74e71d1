// notify: telling the service manager what the daemon is doing (sd_notify, libsystemd).
//
// Without NOTIFY_SOCKET in the environment (not started by systemd with Type=notify) every call
// does nothing, so the daemon runs the same everywhere. Only main's thread calls it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace zrelay {

class service_notifier {
public:
    // Reads NOTIFY_SOCKET and WATCHDOG_USEC (for this process only) once.
    service_notifier();

    [[nodiscard]] bool enabled() const noexcept { return _enabled; }
    // The interval systemd expects WATCHDOG=1 within, if it asked for a watchdog.
    [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval() const noexcept {
        return _watchdog;
    }

    void ready();                                      // READY=1, with a STATUS line
    void status(const std::string &text);              // STATUS=...
    void reloading();                                  // RELOADING=1 and MONOTONIC_USEC
    void stopping();                                   // STOPPING=1
    void extend_timeout(std::chrono::microseconds by); // EXTEND_TIMEOUT_USEC=...
    void watchdog();                                   // WATCHDOG=1

private:
    void send(const std::string &state);

    bool _enabled = false;
    std::optional<std::chrono::microseconds> _watchdog;
};

} // namespace zrelay
