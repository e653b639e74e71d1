// clock: nanoseconds since the Unix epoch, as DataMessage.timestamp and the relay's stamp carry
// them (the relay's receive time, the client tool's send time).
#pragma once

#include <chrono>
#include <cstdint>

namespace zrelay {

inline std::int64_t epoch_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace zrelay
