#include "utf8.hpp"

#include <climits>

#include <google/protobuf/stubs/common.h>

namespace zrelay {

bool valid_utf8(std::string_view bytes) noexcept {
    // protobuf takes an int length; no frame the relay accepts comes near INT_MAX.
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
        return false;
    return google::protobuf::internal::IsStructurallyValidUTF8(bytes.data(),
                                                               static_cast<int>(bytes.size()));
}

} // namespace zrelay
