// idle_poll: how long any of the relay's threads (the stages, the ZAP handler, the handshake
// watch) sleeps before it looks at its stop state again when nothing else wakes it. Each thread
// beats once per turn of its loop, so this also bounds how stale the systemd watchdog's view is.
#pragma once

#include <chrono>

namespace zrelay {

inline constexpr std::chrono::milliseconds idle_poll{100};

} // namespace zrelay
