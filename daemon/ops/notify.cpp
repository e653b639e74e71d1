#include "notify.hpp"

#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace zrelay {

service_notifier::service_notifier() {
    const char *socket =
        std::getenv("NOTIFY_SOCKET"); // NOLINT(concurrency-mt-unsafe): main, at start
    _enabled = socket != nullptr && *socket != '\0';
    std::uint64_t usec = 0;
    // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
    if (_enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        _watchdog = std::chrono::microseconds(usec);
}

void service_notifier::send(const std::string &state) {
    if (!_enabled)
        return;
    // sd_notify fails only if the socket is gone; the service manager then no longer listens,
    // and there is nobody to tell but the debug log.
    if (sd_notify(0, state.c_str()) < 0)
        spdlog::debug("sd_notify failed for \"{}\"", state);
}

void service_notifier::ready() {
    send("READY=1");
}

void service_notifier::status(const std::string &text) {
    send("STATUS=" + text);
}

void service_notifier::reloading() {
    // systemd 253+ wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); older ones ignore
    // it.
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<long long>(now.tv_sec) * 1000000LL + now.tv_nsec / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void service_notifier::stopping() {
    send("STOPPING=1");
}

void service_notifier::extend_timeout(std::chrono::microseconds by) {
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(by.count()));
}

void service_notifier::watchdog() {
    send("WATCHDOG=1");
}

} // namespace zrelay
