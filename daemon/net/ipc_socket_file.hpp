// ipc_socket_file: the socket file a bound ipc:// endpoint made, removed when this goes.
//
// libzmq 4.3.4 leaves that file behind when the socket closes, on purpose (since 4.2.3, commit
// 656cdb9, "Race condition in IPC sockets"): by then the path may belong to another socket, as
// a process binding the same path unlinks the old file first. It removes only the files of
// ipc://*, with the directory it made for them. So the relay removes its own, and only its own:
// the file is known by device and inode from when it was bound, and removed only if the path
// still names that very socket file.
#pragma once

#include <string>

#include <sys/types.h>

namespace zrelay {

class ipc_socket_file {
public:
    // The socket file at `path`, just bound. Throws endpoint_error if it cannot be stat'ed.
    explicit ipc_socket_file(std::string path);
    // Removes the file if the path still names it (a failure is logged, never thrown).
    ~ipc_socket_file();
    ipc_socket_file(ipc_socket_file &&other) noexcept;
    ipc_socket_file &operator=(ipc_socket_file &&other) noexcept;
    ipc_socket_file(const ipc_socket_file &) = delete;
    ipc_socket_file &operator=(const ipc_socket_file &) = delete;

    [[nodiscard]] const std::string &path() const noexcept { return _path; }

private:
    void remove() noexcept;

    std::string _path; // empty once moved from
    dev_t _device = 0;
    ino_t _inode = 0;
};

} // namespace zrelay
