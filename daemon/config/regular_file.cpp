#include "regular_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.hpp"

namespace zrelay {
namespace {

class fd_closer {
public:
    explicit fd_closer(int fd) : _fd(fd) {}
    ~fd_closer() { ::close(_fd); }
    fd_closer(const fd_closer &) = delete;
    fd_closer &operator=(const fd_closer &) = delete;
    fd_closer(fd_closer &&) = delete;
    fd_closer &operator=(fd_closer &&) = delete;

private:
    int _fd;
};

const char *kind_of(mode_t mode) {
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

std::string size_text(std::size_t bytes) {
    constexpr std::size_t mib = std::size_t{1} << 20U;
    if (bytes % mib == 0)
        return fmt::format("{} MiB ({} bytes)", bytes / mib, bytes);
    return fmt::format("{} bytes", bytes);
}

} // namespace

std::string read_regular_file(const std::string &path, std::size_t max_bytes,
                              std::string_view what) {
    const auto cannot = [&](const std::string &why) {
        return config_error(fmt::format("cannot read {} '{}': {}", what, path, why));
    };
    const auto os_reason = [] { return std::generic_category().message(errno); };
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        throw cannot(os_reason());
    const fd_closer closer(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw cannot(os_reason());
    if (S_ISDIR(st.st_mode))
        throw cannot(std::generic_category().message(EISDIR));
    if (!S_ISREG(st.st_mode))
        throw cannot(fmt::format("{}, not a regular file (only regular files are read)",
                                 kind_of(st.st_mode)));
    const std::string limit = fmt::format("more than the {} limit", size_text(max_bytes));
    if (static_cast<std::uintmax_t>(st.st_size) > max_bytes)
        throw cannot(fmt::format("{} bytes, {}", st.st_size, limit));
    // st_size is only a hint (the file may grow meanwhile, /proc files say 0): read up to one
    // byte past the cap, and refuse the file if that byte is there.
    std::string text(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_bytes) + 1,
                     '\0');
    std::size_t have = 0;
    for (;;) {
        if (have == text.size()) {
            if (have > max_bytes)
                throw cannot(limit);
            text.resize(std::min(max_bytes + 1, have * 2));
        }
        const ssize_t n = ::read(fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw cannot(os_reason());
        if (n == 0)
            break;
        have += static_cast<std::size_t>(n);
    }
    text.resize(have);
    return text;
}

} // namespace zrelay
