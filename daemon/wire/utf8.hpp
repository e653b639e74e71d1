// utf8: whether bytes are valid UTF-8, by protobuf's own rule, so that the relay refuses
// (bad_utf8) exactly the string fields protobuf's generated parser refuses.
//
// protobuf publishes no such function: this is the one place zrelay calls into
// google::protobuf::internal (IsStructurallyValidUTF8, what its parser calls on proto3 string
// fields). tests/utf8_test.cpp holds it to UTF-8's definition (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), exhaustively up to two bytes and at every boundary above,
// so a protobuf upgrade that changed its rule fails the build's tests, not the relay's verdicts.
#pragma once

#include <string_view>

namespace zrelay {

[[nodiscard]] bool valid_utf8(std::string_view bytes) noexcept;

} // namespace zrelay
