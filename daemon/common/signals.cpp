#include "signals.hpp"

#include <cerrno>
#include <csignal>
#include <system_error>

#include <sys/signalfd.h>
#include <unistd.h>

namespace zrelay {

signal_watcher::signal_watcher(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (const int sig : signals)
        sigaddset(&set, sig);
    if (const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_sigmask");
    _fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (_fd < 0)
        throw std::system_error(errno, std::generic_category(), "signalfd");
}

signal_watcher::~signal_watcher() {
    ::close(_fd);
}

std::optional<int> signal_watcher::take() {
    signalfd_siginfo info{};
    ssize_t rc = 0;
    do {
        rc = ::read(_fd, &info, sizeof info);
    } while (rc < 0 && errno == EINTR);
    if (rc != sizeof info)
        return std::nullopt;
    return static_cast<int>(info.ssi_signo);
}

} // namespace zrelay
