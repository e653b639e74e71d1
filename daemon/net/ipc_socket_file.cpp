#include "ipc_socket_file.hpp"

#include <cerrno>
#include <system_error>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "errors.hpp"

namespace zrelay {

ipc_socket_file::ipc_socket_file(std::string path) : _path(std::move(path)) {
    struct stat st {};
    if (::lstat(_path.c_str(), &st) != 0)
        throw endpoint_error("cannot stat ipc socket file '" + _path +
                             "': " + std::generic_category().message(errno));
    _device = st.st_dev;
    _inode = st.st_ino;
}

ipc_socket_file::~ipc_socket_file() {
    remove();
}

ipc_socket_file::ipc_socket_file(ipc_socket_file &&other) noexcept
    : _path(std::exchange(other._path, {})), _device(other._device), _inode(other._inode) {}

ipc_socket_file &ipc_socket_file::operator=(ipc_socket_file &&other) noexcept {
    if (this != &other) {
        remove();
        _path = std::exchange(other._path, {});
        _device = other._device;
        _inode = other._inode;
    }
    return *this;
}

void ipc_socket_file::remove() noexcept {
    if (_path.empty())
        return;
    // No system call unlinks by inode: a file put in its place between this lstat and the
    // unlink would still go, a window of microseconds against the whole run's.
    struct stat st {};
    if (::lstat(_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_dev != _device ||
        st.st_ino != _inode)
        return; // gone already, or another's now
    if (::unlink(_path.c_str()) != 0 && errno != ENOENT)
        spdlog::warn("cannot remove ipc socket file '{}': {}", _path,
                     std::generic_category().message(errno));
    _path.clear();
}

} // namespace zrelay
