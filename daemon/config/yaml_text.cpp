#include "yaml_text.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "quoting.hpp"

namespace zrelay {
namespace {

// YAML 1.2's c-printable: tab, line feed, carriage return and printable characters; not the other
// C0 controls, DEL, the C1 controls but NEL, U+FFFE or U+FFFF. yaml-cpp does not check: it turned
// a NUL into a stray byte that to_yaml() could not print back. A non-printable character can
// still be written escaped in a double-quoted string ("\x01").
bool yaml_printable(char32_t c) {
    if (c < 0x80)
        return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7f);
    return (c >= 0xa0 || c == 0x85) && c != 0xfffe && c != 0xffff;
}

bool can_write_back(char32_t c) {
    return c != 0x7f && c != 0xfffe && c != 0xffff;
}

struct bad_text {
    std::size_t offset;
    std::optional<char32_t> character; // none: not UTF-8
};
std::optional<bad_text> first_bad_text(std::string_view text, bool (*allowed)(char32_t)) {
    for (std::size_t i = 0; i < text.size();) {
        const std::optional<utf8_char> c = decode_utf8(text, i);
        if (!c)
            return bad_text{i, std::nullopt};
        if (!allowed(c->code))
            return bad_text{i, c->code};
        i += c->length;
    }
    return std::nullopt;
}

} // namespace

std::optional<text_problem> yaml_text_problem(std::string_view text) {
    const auto bad = first_bad_text(text, yaml_printable);
    if (!bad)
        return std::nullopt;
    const std::string_view before = text.substr(0, bad->offset);
    const std::size_t line_start = before.rfind('\n') + 1; // npos + 1 == 0: the first line
    const text_place at{static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
                        static_cast<int>(bad->offset - line_start) + 1};
    if (bad->character)
        return text_problem{
            at, fmt::format("a character YAML does not allow, U+{:04X}, at offset {} (YAML text "
                            "holds printable characters, tabs and line breaks only; write others "
                            "escaped in a double-quoted string)",
                            static_cast<std::uint32_t>(*bad->character), bad->offset)};
    return text_problem{at,
                        fmt::format("not UTF-8 text: byte 0x{:02x} at offset {} (a YAML file "
                                    "must be UTF-8)",
                                    static_cast<unsigned char>(text[bad->offset]), bad->offset)};
}

std::optional<std::string> unwritable_problem(std::string_view value) {
    if (const auto bad = first_bad_text(value, can_write_back); bad && bad->character)
        return fmt::format("U+{:04X} is not allowed in a value (it cannot be written back by "
                           "--check-config), got {}",
                           static_cast<std::uint32_t>(*bad->character), quote(value));
    return std::nullopt; // not UTF-8 cannot happen: the whole text was checked first
}

// The message may end with a character of the input as it was, or with yaml-cpp's end-of-stream
// marker, 0x04 ("unknown escape character"). The text check has refused a 0x04 of the input's
// own by then, so that one is named for what it is.
std::string yaml_cpp_says(std::string_view message) {
    constexpr char end_of_stream = '\x04';
    std::string out = "invalid YAML: ";
    for (std::size_t at = 0; at < message.size();) {
        const std::size_t end = std::min(message.find(end_of_stream, at), message.size());
        out += escaped(message.substr(at, end - at), std::numeric_limits<std::size_t>::max());
        if (end < message.size())
            out += "the end of the text";
        at = end + 1;
    }
    return out;
}

#ifdef ZRELAY_YAML_CPP_LOADALL_CAN_HANG
namespace {

// Records where each document starts; builds nothing.
class document_starts : public YAML::EventHandler {
public:
    YAML::Mark previous;
    YAML::Mark last;
    std::size_t count = 0;

    void OnDocumentStart(const YAML::Mark &mark) override {
        previous = last;
        last = mark;
        ++count;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark & /*mark*/, YAML::anchor_t /*anchor*/) override {}
    void OnAlias(const YAML::Mark & /*mark*/, YAML::anchor_t /*anchor*/) override {}
    void OnScalar(const YAML::Mark & /*mark*/, const std::string & /*tag*/,
                  YAML::anchor_t /*anchor*/, const std::string & /*value*/) override {}
    void OnSequenceStart(const YAML::Mark & /*mark*/, const std::string & /*tag*/,
                         YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark & /*mark*/, const std::string & /*tag*/,
                    YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
    void OnMapEnd() override {}
};

} // namespace

// yaml-cpp before 0.9.0 never returns from LoadAll on some invalid input (a lone "," is enough):
// its parser reports a document without consuming anything, again and again (jbeder/yaml-cpp
// issue #1040, fixed by pull request #1319, commit bc67157, in 0.9.0). Walk the documents first
// with a handler that builds nothing, and stop where a document starts at the very place the
// previous one did; if none does, LoadAll takes the same steps and ends. CMake defines
// ZRELAY_YAML_CPP_LOADALL_CAN_HANG for the versions that need it (daemon/CMakeLists.txt).
std::optional<text_place> where_yaml_cpp_would_hang(const std::string &text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    document_starts starts;
    while (parser.HandleNextDocument(starts))
        if (starts.count >= 2 && starts.last.pos == starts.previous.pos)
            return text_place{starts.last.line + 1, starts.last.column + 1};
    return std::nullopt;
}
#else
std::optional<text_place> where_yaml_cpp_would_hang(const std::string & /*text*/) {
    return std::nullopt;
}
#endif

} // namespace zrelay
