// regular_file: reads a file the daemon is configured from, refusing what is not a regular file
// (a FIFO would block the reader for ever, /dev/zero never ends) and what is larger than a cap,
// without ever holding more than the cap: at start-up and on SIGHUP, inside the running relay.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zrelay {

// The text of the regular file at `path`, at most `max_bytes` long. Throws config_error
// "cannot read <what> '<path>': <reason>": the OS's reason, a directory, a FIFO, a device or
// socket (not a regular file), or more than `max_bytes`. Never blocks on a FIFO.
[[nodiscard]] std::string read_regular_file(const std::string &path, std::size_t max_bytes,
                                            std::string_view what);

} // namespace zrelay
