// string_hash: a transparent hash for unordered containers keyed by std::string, so a lookup by
// std::string_view (a topic seen in a message) builds no std::string. Use with std::equal_to<>.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace zrelay {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

} // namespace zrelay
