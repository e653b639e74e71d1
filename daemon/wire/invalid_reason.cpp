#include "invalid_reason.hpp"

namespace zrelay {

std::string_view to_string(invalid_reason reason) noexcept {
    switch (reason) {
    case invalid_reason::none:
        return "none";
    case invalid_reason::malformed:
        return "malformed";
    case invalid_reason::bad_utf8:
        return "bad_utf8";
    case invalid_reason::oversize:
        return "oversize";
    case invalid_reason::multipart:
        return "multipart";
    case invalid_reason::reserved_topic:
        return "reserved_topic";
    case invalid_reason::loop:
        return "loop";
    case invalid_reason::too_many_hops:
        return "too_many_hops";
    }
    return "unknown"; // only reachable through a cast of an out-of-range value
}

} // namespace zrelay
