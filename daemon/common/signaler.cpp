#include "signaler.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <system_error>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace zrelay {

signaler::signaler() : _fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (_fd < 0)
        throw std::system_error(errno, std::generic_category(), "eventfd");
}

signaler::~signaler() {
    ::close(_fd);
}

void signaler::send() noexcept {
    const std::uint64_t one = 1;
    ssize_t rc = 0;
    do {
        rc = ::write(_fd, &one, sizeof one);
    } while (rc < 0 && errno == EINTR);
    // EAGAIN means the counter is at its maximum, i.e. a wake-up is pending anyway. Anything else
    // is a broken descriptor: a lost wake-up would hang a thread, so stop loudly instead.
    if (rc < 0 && errno != EAGAIN)
        std::abort();
}

bool signaler::consume() noexcept {
    std::uint64_t count = 0;
    ssize_t rc = 0;
    do {
        rc = ::read(_fd, &count, sizeof count);
    } while (rc < 0 && errno == EINTR);
    return rc == sizeof count;
}

bool signaler::wait(std::chrono::milliseconds timeout) {
    if (consume())
        return true;
    pollfd pfd{_fd, POLLIN, 0};
    const int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
    int rc = 0;
    do {
        rc = ::poll(&pfd, 1, ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        throw std::system_error(errno, std::generic_category(), "poll on eventfd");
    return rc > 0 && consume();
}

} // namespace zrelay
