// Reading the YAML configuration. Every value is checked here, once, so the rest of the daemon can
// trust `config`; every error names the source, the line and the full dotted key, because an
// operator reading "invalid value" in a journal cannot tell which of forty lines is wrong.
#include "config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "endpoint.hpp"
#include "envelope.hpp"
#include "errors.hpp"
#include "quoting.hpp"
#include "regular_file.hpp"

namespace zrelay {
namespace {

using namespace std::string_view_literals;

constexpr std::size_t max_topic_bytes = 255;
constexpr std::int64_t max_hwm = std::numeric_limits<int>::max();
constexpr std::int64_t max_message_bytes_limit = std::int64_t{256} * 1024 * 1024;
constexpr std::int64_t max_workers = 64;
// ZMQ_IO_THREADS; libzmq takes more, but past one per core they only take turns.
constexpr std::int64_t max_io_threads = 16;
constexpr std::int64_t max_tracked_topics = 1'000'000;
constexpr std::int64_t max_topic_labels_limit = 10'000;
constexpr std::int64_t max_inflight_limit = 10'000'000;
constexpr std::int64_t max_drain_timeout_ms = 3'600'000; // an hour

constexpr std::int64_t max_handshake_timeout_ms = 3'600'000;

constexpr std::array top_keys{"ingress"sv,  "egress"sv,   "workers"sv, "io_threads"sv,
                              "pipeline"sv, "routing"sv,  "invalid"sv, "metrics"sv,
                              "log"sv,      "shutdown"sv, "security"sv};
constexpr std::array ingress_keys{"bind"sv, "connect"sv, "rcvhwm"sv, "max_message_bytes"sv};
constexpr std::array egress_keys{"bind"sv,  "connect"sv,    "sndhwm"sv,      "nodrop"sv,
                                 "stamp"sv, "max_topics"sv, "drop_notices"sv};
constexpr std::array invalid_keys{"dead_letter"sv, "dead_letter_hwm"sv};
constexpr std::array pipeline_keys{"max_inflight"sv};
constexpr std::array routing_keys{"default_topic"sv};
constexpr std::array metrics_keys{"listen"sv, "max_topic_labels"sv};
constexpr std::array log_keys{"level"sv, "format"sv};
constexpr std::array shutdown_keys{"drain_timeout_ms"sv};
constexpr std::array security_keys{"curve"sv, "handshake_timeout_ms"sv, "ipc_mode"sv,
                                   "ipc_group"sv};
constexpr std::array curve_sides{"ingress"sv, "egress"sv};
constexpr std::array curve_keys{"secret_key_file"sv, "allow"sv};
constexpr std::array log_levels{"trace"sv, "debug"sv,    "info"sv, "warn"sv,
                                "error"sv, "critical"sv, "off"sv};
constexpr std::array log_formats{"text"sv, "json"sv};

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Edit distance counting an adjacent transposition as one edit (optimal string alignment), so
// "sndhmw" is one typo away from "sndhwm", as a person would count it. Case is ignored.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t width = b.size() + 1;
    std::vector<std::size_t> d((a.size() + 1) * width);
    const auto at = [&](std::size_t i, std::size_t j) -> std::size_t & { return d[i * width + j]; };
    for (std::size_t i = 0; i <= a.size(); ++i)
        at(i, 0) = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        at(0, j) = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]))
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
        }
    }
    return at(a.size(), b.size());
}

// Whether `word` is `candidate` with letters left out and the first kept, the way people
// abbreviate: "max_msg_bytes" for "max_message_bytes", "conn" for "connect".
bool abbreviates(std::string_view word, std::string_view candidate) {
    if (word.size() < 3 || word.size() >= candidate.size() || lower(word[0]) != lower(candidate[0]))
        return false;
    std::size_t at = 0;
    for (const char c : candidate)
        if (at < word.size() && lower(word[at]) == lower(c))
            ++at;
    return at == word.size();
}

// The known word `word` is most likely a typo or an abbreviation of, if any. Short words get less
// slack: any two four-letter words are two edits apart, and a wrong guess is worse than none.
std::optional<std::string_view> closest(std::string_view word,
                                        std::span<const std::string_view> known) {
    const std::size_t slack = word.size() <= 4 ? 1 : 2;
    std::optional<std::string_view> best;
    std::size_t best_distance = slack + 1;
    for (const std::string_view candidate : known) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (!best) {
        const auto it = std::find_if(known.begin(), known.end(),
                                     [&](std::string_view k) { return abbreviates(word, k); });
        if (it != known.end())
            best = *it;
    }
    return best;
}

std::string joined(std::span<const std::string_view> words) {
    std::string out;
    for (const std::string_view w : words) {
        if (!out.empty())
            out += ", ";
        out += w;
    }
    return out;
}

// What YAML 1.2 allows in a stream (c-printable, section 5.1): tab, line feed, carriage return,
// and printable characters; not the other C0 controls, DEL, the C1 controls but NEL, U+FFFE or
// U+FFFF. yaml-cpp does not check: it turned a NUL into a stray byte that to_yaml() could not
// print back (found by fuzzing). A non-printable character can still be written escaped in a
// double-quoted string ("\x01").
bool yaml_printable(char32_t c) {
    if (c < 0x80)
        return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7f);
    return (c >= 0xa0 || c == 0x85) && c != 0xfffe && c != 0xffff;
}

// What a string value in the config may not hold, however it was written (escapes in a
// double-quoted string can produce any character): what to_yaml() could not print back, because
// yaml-cpp's emitter writes DEL raw (which YAML text may not hold) and U+FFFE and U+FFFF as
// U+FFFD. No topic, path, endpoint or name has any use for them. Other controls, a tab in a
// topic say, print back escaped and are left to each key's own rules.
bool can_write_back(char32_t c) {
    return c != 0x7f && c != 0xfffe && c != 0xffff;
}

// The first byte of `text` that is not UTF-8 (yaml-cpp passes stray bytes through, and a value
// holding them would not survive to_yaml(), found by fuzzing), or that starts a character
// `allowed` refuses.
struct bad_text {
    std::size_t offset;
    std::optional<char32_t> character; // nullopt: not UTF-8
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

// yaml-cpp's message, escaped: it may end with a character of the input as it was, or with its
// end-of-stream marker, 0x04 ("unknown escape character", found by fuzzing). The text check has
// refused a 0x04 of the input's own by then, so that one is named for what it is.
std::string yaml_cpp_says(const YAML::Exception &e) {
    constexpr char end_of_stream = '\x04';
    std::string out = "invalid YAML: ";
    const std::string_view msg = e.msg;
    for (std::size_t at = 0; at < msg.size();) {
        const std::size_t end = std::min(msg.find(end_of_stream, at), msg.size());
        out += escaped(msg.substr(at, end - at), std::numeric_limits<std::size_t>::max());
        if (end < msg.size())
            out += "the end of the text";
        at = end + 1;
    }
    return out;
}

std::string describe(const YAML::Node &node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar:
        return quote(node.Scalar());
    case YAML::NodeType::Sequence:
        return "a sequence";
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        break;
    }
    return "null";
}

std::optional<int> line_of(const YAML::Mark &mark) {
    if (mark.line < 0)
        return std::nullopt;
    return mark.line + 1; // yaml-cpp counts from 0, editors from 1
}

std::optional<int> line_of(const YAML::Node &node) {
    return line_of(node.Mark());
}

// Decimal digits only: "0x10", "1e3", "+5" and " 5" are not what an operator means by a count.
std::optional<std::int64_t> to_integer(std::string_view text) {
    std::int64_t value = 0;
    const char *const last = text.data() + text.size();
    const auto [end, error] = std::from_chars(text.data(), last, value);
    if (error != std::errc{} || end != last)
        return std::nullopt;
    return value;
}

// A key and its value as found in the file, with the dotted path that names it in errors.
struct entry {
    std::string path;
    std::optional<int> key_line; // the line of the key, or of the enclosing one
    YAML::Node value;

    // An empty value has no position of its own (yaml-cpp marks where the next token starts),
    // and an alias's is where its anchor was; the key's line is the better pointer for both.
    [[nodiscard]] std::optional<int> line() const {
        const std::optional<int> own = line_of(value);
        if (value.IsNull() || !own || (key_line && *own < *key_line))
            return key_line;
        return own;
    }
};

// An endpoint with where it came from, to name both places when two collide.
struct endpoint_at {
    std::string endpoint;
    std::string path;        // e.g. "ingress.bind[1]"
    std::optional<int> line; // none: a default
};

// One section's endpoints as the file gives them.
struct endpoints_given {
    std::optional<int> section_line; // none: the section is absent
    bool given = false;              // bind or connect appeared: the defaults are replaced
    std::vector<endpoint_at> bind;
    std::vector<endpoint_at> connect;
};

class reader {
public:
    explicit reader(std::string_view source) : _source(source) {}

    [[noreturn]] void fail(std::optional<int> line, std::string_view key,
                           std::string_view what) const {
        std::string message(_source);
        if (line)
            message += ":" + std::to_string(*line);
        message += ": ";
        if (!key.empty()) {
            message += key;
            message += ": ";
        }
        message += what;
        throw config_error(message);
    }

    [[noreturn]] void fail(const entry &e, std::string_view what) const {
        fail(e.line(), e.path, what);
    }

    config read(const YAML::Node &root) {
        config cfg;
        if (root.IsNull())
            return cfg; // an empty file, or only comments: all defaults
        if (!root.IsMap())
            fail(line_of(root), {},
                 "the top level must be a mapping of sections (" + joined(top_keys) + "), got " +
                     describe(root));
        endpoints_given ingress;
        endpoints_given egress;
        endpoints_given dead_letter;
        each(entry{{}, line_of(root), root}, top_keys, [&](std::string_view name, const entry &e) {
            if (name == "ingress")
                read_ingress(e, cfg.ingress, ingress);
            else if (name == "egress")
                read_egress(e, cfg.egress, egress);
            else if (name == "workers")
                cfg.workers = static_cast<unsigned>(integer(e, 0, max_workers));
            else if (name == "io_threads")
                cfg.io_threads = static_cast<unsigned>(integer(e, 1, max_io_threads));
            else if (name == "pipeline")
                each(e, pipeline_keys, [&](std::string_view, const entry &f) {
                    cfg.pipeline.max_inflight = integer(f, 1, max_inflight_limit);
                });
            else if (name == "routing")
                each(e, routing_keys, [&](std::string_view, const entry &f) {
                    cfg.routing.default_topic = topic(f);
                });
            else if (name == "invalid")
                read_invalid(e, cfg.invalid, dead_letter);
            else if (name == "metrics")
                each(e, metrics_keys, [&](std::string_view key, const entry &f) {
                    if (key == "listen")
                        cfg.metrics.listen = listen_address(f);
                    else
                        cfg.metrics.max_topic_labels =
                            static_cast<std::size_t>(integer(f, 0, max_topic_labels_limit));
                });
            else if (name == "log")
                read_log(e, cfg.log);
            else if (name == "shutdown")
                each(e, shutdown_keys, [&](std::string_view, const entry &f) {
                    cfg.shutdown.drain_timeout =
                        std::chrono::milliseconds(integer(f, 0, max_drain_timeout_ms));
                });
            else if (name == "security")
                read_security(e, cfg.security);
        });
        settle("ingress", ingress, cfg.ingress.bind, cfg.ingress.connect);
        settle("egress", egress, cfg.egress.bind, cfg.egress.connect);
        check_collisions(ingress, egress, dead_letter);
        return cfg;
    }

private:
    // Calls on_key(name, entry) for each key of a section, after rejecting unknown and repeated
    // keys (yaml-cpp keeps both copies of a repeated key and lookups would see only the first).
    template <typename F>
    void each(const entry &section, std::span<const std::string_view> known, F &&on_key) const {
        if (section.value.IsNull())
            return; // a section with everything under it commented out: its defaults
        if (!section.value.IsMap())
            fail(section, "expected a mapping with keys " + joined(known) + ", got " +
                              describe(section.value));
        std::vector<std::pair<std::string, std::optional<int>>> seen;
        // Nodes copied out: yaml-cpp's iterators hand out temporaries (Nodes are cheap handles).
        for (const auto &pair : section.value) {
            const YAML::Node key = pair.first;
            const YAML::Node value = pair.second;
            const std::optional<int> key_line = line_of(key);
            if (!key.IsScalar())
                fail(key_line, section.path, "expected a key name, got " + describe(key));
            const std::string &name = key.Scalar();
            entry child{section.path.empty() ? name : section.path + "." + name, key_line, value};
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                const auto guess = closest(name, known);
                // The name is the user's: quoted if it holds what quote() escapes (a stray CR
                // in a key would return the cursor over the message, found by fuzzing).
                const std::string quoted = quote(name);
                const std::string &shown =
                    quoted.compare(1, quoted.size() - 2, name) == 0 ? name : quoted;
                fail(key_line, section.path.empty() ? shown : section.path + "." + shown,
                     guess ? "unknown key; did you mean '" + std::string(*guess) + "'?"
                           : "unknown key; expected one of " + joined(known));
            }
            const auto previous = std::find_if(seen.begin(), seen.end(),
                                               [&](const auto &s) { return s.first == name; });
            if (previous != seen.end())
                fail(key_line, child.path,
                     "given twice (first on line " +
                         (previous->second ? std::to_string(*previous->second) : std::string("?")) +
                         ")");
            seen.emplace_back(name, key_line);
            on_key(name, child);
        }
    }

    [[nodiscard]] std::int64_t integer(const entry &e, std::int64_t min, std::int64_t max) const {
        std::optional<std::int64_t> value;
        if (e.value.IsScalar())
            value = to_integer(e.value.Scalar());
        if (!value || *value < min || *value > max)
            fail(e, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                        "], got " + describe(e.value));
        return *value;
    }

    // YAML 1.2's booleans only. yaml-cpp would also take YAML 1.1's y/n/yes/no/on/off, which
    // YAML 1.2 tools (linters, templating) read as strings; refusing them keeps the file meaning
    // the same thing to every tool that touches it.
    [[nodiscard]] bool boolean(const entry &e) const {
        if (e.value.IsScalar()) {
            const std::string &text = e.value.Scalar();
            if (text == "true" || text == "True" || text == "TRUE")
                return true;
            if (text == "false" || text == "False" || text == "FALSE")
                return false;
        }
        fail(e, "expected true or false, got " + describe(e.value));
    }

    [[nodiscard]] std::string string(const entry &e, std::string_view expected = "a string") const {
        if (!e.value.IsScalar())
            fail(e, "expected " + std::string(expected) + ", got " + describe(e.value));
        refuse_unwritable(e, e.value.Scalar());
        return e.value.Scalar();
    }

    // Refuses a value holding what can_write_back() does not allow, naming the character.
    void refuse_unwritable(const entry &e, std::string_view value) const {
        if (const auto bad = first_bad_text(value, can_write_back); bad && bad->character)
            fail(e, fmt::format("U+{:04X} is not allowed in a value (it cannot be written back "
                                "by --check-config), got {}",
                                static_cast<std::uint32_t>(*bad->character), quote(value)));
    }

    [[nodiscard]] std::string one_of(const entry &e,
                                     std::span<const std::string_view> allowed) const {
        std::string value = string(e, "one of " + joined(allowed));
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
            const auto guess = closest(value, allowed);
            fail(e, "expected one of " + joined(allowed) + ", got " + quote(value) +
                        (guess ? "; did you mean '" + std::string(*guess) + "'?" : ""));
        }
        return value;
    }

    [[nodiscard]] std::string topic(const entry &e) const {
        std::string value = string(e);
        if (value.size() > max_topic_bytes)
            fail(e, "a topic is at most 255 bytes, got " + std::to_string(value.size()));
        if (value.starts_with(reserved_topic_prefix))
            fail(e, "topics starting with " + std::string(reserved_topic_prefix) +
                        " are the relay's own, got " + quote(value));
        return value;
    }

    [[nodiscard]] std::string listen_address(const entry &e) const {
        std::string value = string(e, "\"\" (disabled) or host:port");
        if (value.empty())
            return value;
        if (const auto problem = host_port_problem(value, value, "host:port", false))
            fail(e, *problem + " (\"\" disables metrics)");
        return value;
    }

    // A string or a sequence of strings: one endpoint needs no brackets.
    [[nodiscard]] std::vector<endpoint_at> endpoints(const entry &e, bool connecting) const {
        std::vector<endpoint_at> out;
        const auto add = [&](const entry &item) {
            std::string endpoint = string(item, "an endpoint string");
            if (const auto problem = endpoint_problem(endpoint, connecting ? endpoint_use::connect
                                                                           : endpoint_use::bind))
                fail(item, *problem);
            out.push_back({std::move(endpoint), item.path, item.line()});
        };
        if (e.value.IsScalar()) {
            add(entry{e.path + "[0]", e.key_line, e.value});
        } else if (e.value.IsSequence()) {
            for (std::size_t i = 0; i < e.value.size(); ++i)
                add(entry{e.path + "[" + std::to_string(i) + "]", e.line(), e.value[i]});
        } else {
            fail(e, "expected an endpoint or a sequence of endpoints, got " + describe(e.value) +
                        (e.value.IsNull() ? " (write [] for none)" : ""));
        }
        return out;
    }

    void read_endpoint_key(std::string_view name, const entry &e, endpoints_given &given) const {
        given.given = true;
        if (name == "bind")
            given.bind = endpoints(e, false);
        else
            given.connect = endpoints(e, true);
    }

    void read_ingress(const entry &e, ingress_config &out, endpoints_given &given) const {
        given.section_line = e.key_line;
        each(e, ingress_keys, [&](std::string_view name, const entry &f) {
            if (name == "bind" || name == "connect")
                read_endpoint_key(name, f, given);
            else if (name == "rcvhwm")
                out.rcvhwm = static_cast<int>(integer(f, 0, max_hwm));
            else if (name == "max_message_bytes")
                out.max_message_bytes =
                    static_cast<std::size_t>(integer(f, 1, max_message_bytes_limit));
        });
    }

    void read_egress(const entry &e, egress_config &out, endpoints_given &given) const {
        given.section_line = e.key_line;
        each(e, egress_keys, [&](std::string_view name, const entry &f) {
            if (name == "bind" || name == "connect")
                read_endpoint_key(name, f, given);
            else if (name == "sndhwm")
                out.sndhwm = static_cast<int>(integer(f, 0, max_hwm));
            else if (name == "nodrop")
                out.nodrop = boolean(f);
            else if (name == "stamp")
                out.stamp = boolean(f);
            else if (name == "max_topics")
                out.max_topics = static_cast<std::size_t>(integer(f, 1, max_tracked_topics));
            else if (name == "drop_notices")
                out.drop_notices = boolean(f);
        });
    }

    void read_invalid(const entry &e, invalid_config &out, endpoints_given &given) const {
        each(e, invalid_keys, [&](std::string_view name, const entry &f) {
            if (name == "dead_letter") {
                // One endpoint to bind, or "" for none.
                if (f.value.IsScalar() && f.value.Scalar().empty())
                    return;
                if (!f.value.IsScalar())
                    fail(f,
                         "expected \"\" (none) or one endpoint to bind, got " + describe(f.value));
                given.bind = endpoints(f, false);
                out.dead_letter = given.bind.front().endpoint;
            } else {
                out.dead_letter_hwm = static_cast<int>(integer(f, 0, max_hwm));
            }
        });
    }

    void read_security(const entry &e, security_config &out) const {
        each(e, security_keys, [&](std::string_view name, const entry &f) {
            if (name == "curve")
                each(f, curve_sides, [&](std::string_view side, const entry &g) {
                    read_curve(g, side == "ingress" ? out.ingress_curve : out.egress_curve);
                });
            else if (name == "handshake_timeout_ms")
                out.handshake_timeout =
                    std::chrono::milliseconds(integer(f, 0, max_handshake_timeout_ms));
            else if (name == "ipc_mode")
                out.ipc_mode = file_mode(f);
            else if (name == "ipc_group")
                out.ipc_group = group_name(f);
        });
    }

    void read_curve(const entry &e, curve_config &out) const {
        each(e, curve_keys, [&](std::string_view name, const entry &f) {
            (name == "secret_key_file" ? out.secret_key_file : out.allow) = path(f);
        });
        // Half a CURVE setup is a mistake either way: a key with no allow-list would let any
        // client key in, an allow-list with no key would silently run without CURVE.
        if (out.enabled() && out.allow.empty())
            fail(e.key_line, e.path,
                 "secret_key_file is set but allow is not: give the file or directory of "
                 "client public keys to let in");
        if (!out.enabled() && !out.allow.empty())
            fail(e.key_line, e.path,
                 "allow is set but secret_key_file is not: CURVE needs the server's secret key");
    }

    [[nodiscard]] std::string path(const entry &e) const {
        std::string value = string(e, "a file path");
        if (has_control_character(value))
            fail(e, "a path holds a control character, got " + quote(value));
        return value;
    }

    // Octal, as chmod takes it: 0660, 660 or 0o660 (YAML 1.1 and 1.2 disagree on what a bare
    // 0660 means, so the text is read here, not by yaml-cpp). Permission bits only.
    [[nodiscard]] unsigned file_mode(const entry &e) const {
        std::string text = string(e, "an octal file mode like 0660");
        std::string_view digits = text;
        if (digits.starts_with("0o"))
            digits.remove_prefix(2);
        unsigned mode = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), mode, 8);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            mode > 0777)
            fail(e, "expected an octal file mode from 0 to 0777 like 0660, got " + quote(text));
        if ((mode & 0600U) != 0600U)
            fail(e, "the owner (zrelayd itself) needs read and write (0600), got " + quote(text));
        return mode;
    }

    [[nodiscard]] std::string group_name(const entry &e) const {
        std::string value = string(e, "a group name");
        const bool valid = std::all_of(value.begin(), value.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
                   c == '.';
        });
        if (!valid)
            fail(e, "expected a group name (letters, digits, _ - .) or \"\" for the process's own, "
                    "got " +
                        quote(value));
        return value;
    }

    void read_log(const entry &e, log_config &out) const {
        each(e, log_keys, [&](std::string_view name, const entry &f) {
            if (name == "level")
                out.level = one_of(f, log_levels);
            else if (name == "format")
                out.format = one_of(f, log_formats) == "json" ? log_format::json : log_format::text;
        });
    }

    // Giving either list replaces both defaults: "connect to the producers' broker" must not
    // also open the default listening port nobody asked for.
    void settle(std::string_view section, endpoints_given &given, std::vector<std::string> &bind,
                std::vector<std::string> &connect) const {
        const auto defaults = [&](const std::vector<std::string> &list, std::string_view kind) {
            std::vector<endpoint_at> out;
            for (std::size_t i = 0; i < list.size(); ++i)
                out.push_back(
                    {list[i],
                     std::string(section) + "." + std::string(kind) + "[" + std::to_string(i) + "]",
                     std::nullopt});
            return out;
        };
        if (!given.given) {
            given.bind = defaults(bind, "bind");
            given.connect = defaults(connect, "connect");
            return;
        }
        if (given.bind.empty() && given.connect.empty())
            fail(given.section_line, section,
                 "needs at least one bind or connect endpoint, got none");
        const auto strings = [](const std::vector<endpoint_at> &list) {
            std::vector<std::string> out;
            out.reserve(list.size());
            for (const auto &e : list)
                out.push_back(e.endpoint);
            return out;
        };
        bind = strings(given.bind);
        connect = strings(given.connect);
    }

    // The same endpoint twice within a socket is at best a no-op and at worst a bind failure at
    // start-up; the same bind address on both sockets can never work. Both are caught here, with
    // both places named, rather than as EADDRINUSE at run time.
    void check_collisions(const endpoints_given &ingress, const endpoints_given &egress,
                          const endpoints_given &dead_letter) const {
        const auto report = [&](const endpoint_at &a, const endpoint_at &b) {
            // Report at the later of the two in the file; a default has no line.
            const bool a_first = !a.line || (b.line && *a.line <= *b.line);
            const endpoint_at &first = a_first ? a : b;
            const endpoint_at &second = a_first ? b : a;
            const std::string where = first.line ? "line " + std::to_string(*first.line)
                                                 : "the default; set " +
                                                       first.path.substr(0, first.path.find('[')) +
                                                       " to move it";
            fail(second.line, second.path,
                 "endpoint " + quote(second.endpoint) + " is also " + first.path + " (" + where +
                     ")");
        };
        const auto within = [&](const endpoints_given &s) {
            std::vector<const endpoint_at *> all;
            for (const auto &e : s.bind)
                all.push_back(&e);
            for (const auto &e : s.connect)
                all.push_back(&e);
            for (std::size_t i = 0; i < all.size(); ++i)
                for (std::size_t j = i + 1; j < all.size(); ++j)
                    if (all[i]->endpoint == all[j]->endpoint)
                        report(*all[i], *all[j]);
        };
        within(ingress);
        within(egress);
        for (const auto &in : ingress.bind)
            for (const auto &out : egress.bind)
                if (in.endpoint == out.endpoint)
                    report(in, out);
        for (const auto &dead : dead_letter.bind)
            for (const auto *side : {&ingress, &egress})
                for (const auto &other : side->bind)
                    if (dead.endpoint == other.endpoint)
                        report(other, dead);
    }

    std::string_view _source;
};

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

// yaml-cpp 0.7's LoadAll never returns on some invalid input (a lone "," is enough): its parser
// reports a document without consuming anything, again and again. Found by fuzzing. Walk the
// documents first with a handler that builds nothing, and stop where a document starts at the
// very place the previous one did; if none does, LoadAll takes the same steps and ends.
std::optional<YAML::Mark> where_yaml_cpp_would_hang(const std::string &text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    document_starts starts;
    while (parser.HandleNextDocument(starts))
        if (starts.count >= 2 && starts.last.pos == starts.previous.pos)
            return starts.last;
    return std::nullopt;
}

} // namespace

config parse_config(std::string_view yaml, std::string_view source) {
    reader r(source);
    std::vector<YAML::Node> documents;
    try {
        if (const auto bad = first_bad_text(yaml, yaml_printable)) {
            const auto before = yaml.substr(0, bad->offset);
            const auto line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
            const std::string at = " at offset " + std::to_string(bad->offset);
            if (bad->character)
                r.fail(line + 1, {},
                       fmt::format(
                           "a character YAML does not allow, U+{:04X},{} (YAML text holds "
                           "printable characters, tabs and line breaks only; write others escaped "
                           "in a double-quoted string)",
                           static_cast<std::uint32_t>(*bad->character), at));
            r.fail(line + 1, {},
                   fmt::format("not UTF-8 text: byte 0x{:02x}{} (a YAML file must be UTF-8)",
                               static_cast<unsigned char>(yaml[bad->offset]), at));
        }
        const std::string text(yaml);
        if (const auto mark = where_yaml_cpp_would_hang(text))
            r.fail(line_of(*mark), {},
                   "invalid YAML: content outside any mapping or sequence (a stray ',' or the "
                   "like)");
        documents = YAML::LoadAll(text);
    } catch (const YAML::Exception &e) {
        r.fail(line_of(e.mark), {}, yaml_cpp_says(e));
    }
    if (documents.empty())
        return config{};
    if (documents.size() > 1)
        r.fail(line_of(documents[1]), {},
               "expected one YAML document, found " + std::to_string(documents.size()));
    return r.read(documents.front());
}

config load_config_file(const std::string &path) {
    return parse_config(read_regular_file(path, max_config_file_bytes, "configuration file"), path);
}

config default_config() {
    return config{};
}

std::string to_yaml(const config &cfg) {
    YAML::Emitter out;
    // String values always double-quoted: a topic like "null", "~" or "a: b" must come back as
    // that string.
    const auto str = [&](const char *key, const std::string &value) {
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
    };
    const auto endpoints = [&](const char *key, const std::vector<std::string> &list) {
        out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto &e : list)
            out << YAML::DoubleQuoted << e;
        out << YAML::EndSeq;
    };
    out << YAML::BeginMap;

    out << YAML::Key << "ingress" << YAML::Value << YAML::BeginMap;
    endpoints("bind", cfg.ingress.bind);
    endpoints("connect", cfg.ingress.connect);
    out << YAML::Key << "rcvhwm" << YAML::Value << cfg.ingress.rcvhwm;
    out << YAML::Key << "max_message_bytes" << YAML::Value << cfg.ingress.max_message_bytes;
    out << YAML::EndMap;

    out << YAML::Key << "egress" << YAML::Value << YAML::BeginMap;
    endpoints("bind", cfg.egress.bind);
    endpoints("connect", cfg.egress.connect);
    out << YAML::Key << "sndhwm" << YAML::Value << cfg.egress.sndhwm;
    out << YAML::Key << "nodrop" << YAML::Value << cfg.egress.nodrop;
    out << YAML::Key << "stamp" << YAML::Value << cfg.egress.stamp;
    out << YAML::Key << "max_topics" << YAML::Value << cfg.egress.max_topics;
    out << YAML::Key << "drop_notices" << YAML::Value << cfg.egress.drop_notices;
    out << YAML::EndMap;

    out << YAML::Key << "workers" << YAML::Value << cfg.workers;
    out << YAML::Key << "io_threads" << YAML::Value << cfg.io_threads;

    out << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "max_inflight" << YAML::Value << cfg.pipeline.max_inflight;
    out << YAML::EndMap;

    out << YAML::Key << "routing" << YAML::Value << YAML::BeginMap;
    str("default_topic", cfg.routing.default_topic);
    out << YAML::EndMap;

    out << YAML::Key << "invalid" << YAML::Value << YAML::BeginMap;
    str("dead_letter", cfg.invalid.dead_letter);
    out << YAML::Key << "dead_letter_hwm" << YAML::Value << cfg.invalid.dead_letter_hwm;
    out << YAML::EndMap;

    out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
    str("listen", cfg.metrics.listen);
    out << YAML::Key << "max_topic_labels" << YAML::Value << cfg.metrics.max_topic_labels;
    out << YAML::EndMap;

    out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "level" << YAML::Value << cfg.log.level;
    out << YAML::Key << "format" << YAML::Value
        << (cfg.log.format == log_format::json ? "json" : "text");
    out << YAML::EndMap;

    out << YAML::Key << "shutdown" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "drain_timeout_ms" << YAML::Value << cfg.shutdown.drain_timeout.count();
    out << YAML::EndMap;

    out << YAML::Key << "security" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "curve" << YAML::Value << YAML::BeginMap;
    for (const auto &[side, curve] : {std::pair{"ingress", &cfg.security.ingress_curve},
                                      std::pair{"egress", &cfg.security.egress_curve}}) {
        out << YAML::Key << side << YAML::Value << YAML::BeginMap;
        str("secret_key_file", curve->secret_key_file);
        str("allow", curve->allow);
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::Key << "handshake_timeout_ms" << YAML::Value
        << cfg.security.handshake_timeout.count();
    str("ipc_mode", fmt::format("{:04o}", cfg.security.ipc_mode));
    str("ipc_group", cfg.security.ipc_group);
    out << YAML::EndMap;

    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

config with_live_changes(const config &running, const config &next) {
    config applied = running;
    applied.log = next.log;
    applied.shutdown = next.shutdown;
    // A new allow-list applies where CURVE runs and stays on; turning it on or off is a restart.
    for (auto [was, now] :
         {std::pair{&applied.security.ingress_curve, &next.security.ingress_curve},
          std::pair{&applied.security.egress_curve, &next.security.egress_curve}})
        if (was->enabled() && now->enabled())
            was->allow = now->allow;
    return applied;
}

std::vector<std::string> restart_only_changes(const config &running, const config &next) {
    std::vector<std::string> changed;
    const auto note = [&changed](const char *key, bool differs) {
        if (differs)
            changed.emplace_back(key);
    };
    note("ingress.bind", running.ingress.bind != next.ingress.bind);
    note("ingress.connect", running.ingress.connect != next.ingress.connect);
    note("ingress.rcvhwm", running.ingress.rcvhwm != next.ingress.rcvhwm);
    note("ingress.max_message_bytes",
         running.ingress.max_message_bytes != next.ingress.max_message_bytes);
    note("egress.bind", running.egress.bind != next.egress.bind);
    note("egress.connect", running.egress.connect != next.egress.connect);
    note("egress.sndhwm", running.egress.sndhwm != next.egress.sndhwm);
    note("egress.nodrop", running.egress.nodrop != next.egress.nodrop);
    note("egress.stamp", running.egress.stamp != next.egress.stamp);
    note("egress.max_topics", running.egress.max_topics != next.egress.max_topics);
    note("egress.drop_notices", running.egress.drop_notices != next.egress.drop_notices);
    note("workers", running.workers != next.workers);
    note("io_threads", running.io_threads != next.io_threads);
    note("pipeline.max_inflight", running.pipeline.max_inflight != next.pipeline.max_inflight);
    note("routing.default_topic", running.routing.default_topic != next.routing.default_topic);
    note("invalid.dead_letter", running.invalid.dead_letter != next.invalid.dead_letter);
    note("invalid.dead_letter_hwm",
         running.invalid.dead_letter_hwm != next.invalid.dead_letter_hwm);
    note("metrics.listen", running.metrics.listen != next.metrics.listen);
    note("metrics.max_topic_labels",
         running.metrics.max_topic_labels != next.metrics.max_topic_labels);
    const security_config &was = running.security;
    const security_config &now = next.security;
    note("security.curve.ingress.secret_key_file",
         was.ingress_curve.secret_key_file != now.ingress_curve.secret_key_file);
    note("security.curve.egress.secret_key_file",
         was.egress_curve.secret_key_file != now.egress_curve.secret_key_file);
    // Turning CURVE on or off changes the socket's mechanism, not just the list.
    note("security.curve.ingress.allow",
         was.ingress_curve.allow.empty() != now.ingress_curve.allow.empty());
    note("security.curve.egress.allow",
         was.egress_curve.allow.empty() != now.egress_curve.allow.empty());
    note("security.handshake_timeout_ms", was.handshake_timeout != now.handshake_timeout);
    note("security.ipc_mode", was.ipc_mode != now.ipc_mode);
    note("security.ipc_group", was.ipc_group != now.ipc_group);
    return changed;
}

} // namespace zrelay
