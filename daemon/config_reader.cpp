// Reading the YAML configuration by walking the key table (config_table.hpp). Every value is
// checked here, once, so the rest of the daemon can trust `config`. Every error names the source,
// line, column and full dotted key, because an operator reading "invalid value" in a journal
// cannot tell which of forty lines is wrong; and all of a file's errors are reported at once.
#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config_table.hpp"
#include "endpoint.hpp"
#include "envelope.hpp"
#include "errors.hpp"
#include "quoting.hpp"
#include "regular_file.hpp"
#include "suggest.hpp"
#include "yaml_text.hpp"

namespace zrelay {
namespace {

constexpr std::size_t max_topic_bytes = 255;

std::optional<text_place> place_of(const YAML::Mark &mark) {
    if (mark.line < 0)
        return std::nullopt;
    return text_place{mark.line + 1, mark.column + 1}; // yaml-cpp counts from 0, editors from 1
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
    std::optional<text_place> key_at; // the key's place, or the enclosing one's
    YAML::Node value;

    // An empty value has no place of its own (yaml-cpp marks where the next token starts), and
    // an alias's is where its anchor was; the key's place is the better pointer for both.
    [[nodiscard]] std::optional<text_place> at() const {
        const std::optional<text_place> own = place_of(value.Mark());
        if (value.IsNull() || !own || (key_at && *own < *key_at))
            return key_at;
        return own;
    }
};

// An endpoint with where it came from, to name both places when two collide.
struct endpoint_at {
    std::string endpoint;
    std::string path;             // e.g. "ingress.bind[1]"
    std::optional<text_place> at; // none: a default
};

using value = std::variant<std::int64_t, bool, std::string, std::vector<std::string>>;

void store(const key_row &row, config &cfg, value v) {
    std::visit(
        [&](auto *field) {
            using T = std::remove_pointer_t<decltype(field)>;
            if constexpr (std::is_same_v<T, log_format>)
                *field = static_cast<log_format>(
                    std::find(row.choices.begin(), row.choices.end(), std::get<std::string>(v)) -
                    row.choices.begin());
            else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                               std::is_same_v<T, std::vector<std::string>>)
                *field = std::get<T>(std::move(v));
            else
                *field = T(std::get<std::int64_t>(v)); // the integers and milliseconds
        },
        row.at.mut(cfg));
}

class reader {
public:
    explicit reader(std::string_view source) : _source(source) {}

    // Records a problem; returns nullopt for the reading functions to return.
    std::nullopt_t fail(std::optional<text_place> at, std::string_view key, std::string_view what) {
        _problems.emplace_back(at,
                               (key.empty() ? "" : std::string(key) + ": ") + std::string(what));
        return std::nullopt;
    }
    std::nullopt_t fail(const entry &e, std::string_view what) {
        return fail(e.at(), e.path, what);
    }

    // Throws a config_error holding every problem recorded, one a line, in the file's order.
    void throw_problems() {
        if (_problems.empty())
            return;
        std::stable_sort(_problems.begin(), _problems.end(),
                         [](const auto &a, const auto &b) { return a.first < b.first; });
        std::string message;
        for (const auto &[at, text] : _problems) {
            message += message.empty() ? "" : "\n";
            message += _source;
            if (at)
                message += fmt::format(":{}:{}", at->line, at->column);
            message += ": " + text;
        }
        throw config_error(message);
    }

    config read(const YAML::Node &root) {
        config cfg;
        if (root.IsNull())
            return cfg; // an empty file, or only comments: all defaults
        if (!root.IsMap()) {
            fail(place_of(root.Mark()), {},
                 "the top level must be a mapping of sections (" + joined(children("")) +
                     "), got " + describe(root));
            throw_problems();
        }
        section(entry{{}, place_of(root.Mark()), root}, cfg);
        settle("ingress", cfg.ingress.bind, cfg.ingress.connect);
        settle("egress", cfg.egress.bind, cfg.egress.connect);
        check_collisions();
        check_curve("security.curve.ingress", cfg.security.ingress_curve);
        check_curve("security.curve.egress", cfg.security.egress_curve);
        return cfg;
    }

private:
    // The names under a section ("" for the top level), in table order.
    static std::vector<std::string_view> children(std::string_view section) {
        std::vector<std::string_view> out;
        for (const key_row &row : config_keys()) {
            std::string_view rest = row.path;
            if (!section.empty()) {
                if (!rest.starts_with(section) || !rest.substr(section.size()).starts_with('.'))
                    continue;
                rest.remove_prefix(section.size() + 1);
            }
            const std::string_view name = rest.substr(0, rest.find('.'));
            if (std::find(out.begin(), out.end(), name) == out.end())
                out.push_back(name);
        }
        return out;
    }

    // Reads each key of a section, after rejecting unknown and repeated keys (yaml-cpp keeps
    // both copies of a repeated key and lookups would see only the first).
    void section(const entry &e, config &cfg) {
        const std::vector<std::string_view> known = children(e.path);
        if (e.value.IsNull())
            return; // a section with everything under it commented out: its defaults
        if (!e.value.IsMap()) {
            fail(e, "expected a mapping with keys " + joined(known) + ", got " + describe(e.value));
            return;
        }
        std::vector<std::pair<std::string, std::optional<text_place>>> seen;
        // Nodes copied out: yaml-cpp's iterators hand out temporaries (Nodes are cheap handles).
        for (const auto &pair : e.value) {
            const YAML::Node key = pair.first;
            const std::optional<text_place> key_at = place_of(key.Mark());
            if (!key.IsScalar()) {
                fail(key_at, e.path, "expected a key name, got " + describe(key));
                continue;
            }
            const std::string &name = key.Scalar();
            const std::string path = e.path.empty() ? name : e.path + "." + name;
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                unknown(key_at, e.path, name, known);
                continue;
            }
            const auto previous = std::find_if(seen.begin(), seen.end(),
                                               [&](const auto &s) { return s.first == name; });
            if (previous != seen.end()) {
                fail(key_at, path,
                     "given twice (first on line " +
                         (previous->second ? std::to_string(previous->second->line) : "?") + ")");
                continue;
            }
            seen.emplace_back(name, key_at);
            const entry child{path, key_at, pair.second};
            const auto keys = config_keys();
            const auto row = std::find_if(keys.begin(), keys.end(),
                                          [&](const key_row &r) { return r.path == path; });
            if (row != keys.end()) {
                leaf(*row, child, cfg);
            } else {
                _sections[path] = key_at;
                section(child, cfg);
            }
        }
    }

    void unknown(std::optional<text_place> at, const std::string &section, const std::string &name,
                 std::span<const std::string_view> known) {
        const auto guess = closest(name, known);
        // The name is the user's: quoted if it holds what quote() escapes (a stray CR in a key
        // would return the cursor over the message, found by fuzzing).
        const std::string quoted = quote(name);
        const std::string shown = quoted.compare(1, quoted.size() - 2, name) == 0 ? name : quoted;
        fail(at, section.empty() ? shown : section + "." + shown,
             guess ? "unknown key; did you mean '" + std::string(*guess) + "'?"
                   : "unknown key; expected one of " + joined(known));
    }

    void leaf(const key_row &row, const entry &e, config &cfg) {
        const std::size_t before = _problems.size();
        std::optional<value> v = read_value(row, e);
        if (v && _problems.size() == before)
            store(row, cfg, std::move(*v));
        else
            _failed.emplace(row.path);
    }

    std::optional<value> read_value(const key_row &row, const entry &e) {
        const auto as_value = [](auto v) {
            return v ? std::optional<value>(std::move(*v)) : std::nullopt;
        };
        switch (row.kind) {
        case key_kind::integer:
            return as_value(integer(e, row.min, row.max));
        case key_kind::boolean:
            return as_value(boolean(e));
        case key_kind::one_of:
            return as_value(one_of(e, row.choices));
        case key_kind::topic:
            return as_value(topic(e));
        case key_kind::path:
            return as_value(path(e));
        case key_kind::group:
            return as_value(group_name(e));
        case key_kind::file_mode:
            return as_value(file_mode(e));
        case key_kind::listen:
            return as_value(listen_address(e));
        case key_kind::bind:
        case key_kind::connect:
            return endpoint_list(row, e);
        case key_kind::bind_one:
            return dead_letter(row, e);
        }
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(const entry &e, std::int64_t min, std::int64_t max) {
        std::optional<std::int64_t> v;
        if (e.value.IsScalar())
            v = to_integer(e.value.Scalar());
        if (!v || *v < min || *v > max)
            return fail(e, fmt::format("expected an integer in [{}, {}], got {}", min, max,
                                       describe(e.value)));
        return v;
    }

    // YAML 1.2's booleans only. yaml-cpp would also take YAML 1.1's y/n/yes/no/on/off, which
    // YAML 1.2 tools (linters, templating) read as strings; refusing them keeps the file meaning
    // the same thing to every tool that touches it.
    std::optional<bool> boolean(const entry &e) {
        const std::string text = e.value.IsScalar() ? e.value.Scalar() : "";
        if (text == "true" || text == "True" || text == "TRUE")
            return true;
        if (text == "false" || text == "False" || text == "FALSE")
            return false;
        return fail(e, "expected true or false, got " + describe(e.value));
    }

    std::optional<std::string> string(const entry &e, std::string_view expected = "a string") {
        if (!e.value.IsScalar())
            return fail(e, "expected " + std::string(expected) + ", got " + describe(e.value));
        if (const auto problem = unwritable_problem(e.value.Scalar()))
            return fail(e, *problem);
        return e.value.Scalar();
    }

    std::optional<std::string> one_of(const entry &e, std::span<const std::string_view> allowed) {
        auto v = string(e, "one of " + joined(allowed));
        if (v && std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
            const auto guess = closest(*v, allowed);
            return fail(e, "expected one of " + joined(allowed) + ", got " + quote(*v) +
                               (guess ? "; did you mean '" + std::string(*guess) + "'?" : ""));
        }
        return v;
    }

    std::optional<std::string> topic(const entry &e) {
        auto v = string(e);
        if (v && v->size() > max_topic_bytes)
            return fail(e, "a topic is at most 255 bytes, got " + std::to_string(v->size()));
        if (v && v->starts_with(reserved_topic_prefix))
            return fail(e, "topics starting with " + std::string(reserved_topic_prefix) +
                               " are the relay's own, got " + quote(*v));
        return v;
    }

    std::optional<std::string> listen_address(const entry &e) {
        auto v = string(e, "\"\" (disabled) or host:port");
        if (v && !v->empty())
            if (const auto problem = host_port_problem(*v, *v, "host:port", false))
                return fail(e, *problem + " (\"\" disables metrics)");
        return v;
    }

    std::optional<std::string> path(const entry &e) {
        auto v = string(e, "a file path");
        if (v && has_control_character(*v))
            return fail(e, "a path holds a control character, got " + quote(*v));
        return v;
    }

    // Octal, as chmod takes it: 0660, 660 or 0o660 (YAML 1.1 and 1.2 disagree on what a bare
    // 0660 means, so the text is read here, not by yaml-cpp). Permission bits only.
    std::optional<std::int64_t> file_mode(const entry &e) {
        const auto text = string(e, "an octal file mode like 0660");
        if (!text)
            return std::nullopt;
        std::string_view digits = *text;
        if (digits.starts_with("0o"))
            digits.remove_prefix(2);
        unsigned mode = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), mode, 8);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            mode > 0777)
            return fail(e, "expected an octal file mode from 0 to 0777 like 0660, got " +
                               quote(*text));
        if ((mode & 0600U) != 0600U)
            return fail(e, "the owner (zrelayd itself) needs read and write (0600), got " +
                               quote(*text));
        return mode;
    }

    std::optional<std::string> group_name(const entry &e) {
        auto v = string(e, "a group name");
        if (v && !std::all_of(v->begin(), v->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
                       c == '.';
            }))
            return fail(e, "expected a group name (letters, digits, _ - .) or \"\" for the "
                           "process's own, got " +
                               quote(*v));
        return v;
    }

    // A string or a sequence of strings: one endpoint needs no brackets.
    std::optional<std::vector<endpoint_at>> endpoints(const entry &e, endpoint_use use) {
        std::vector<endpoint_at> out;
        bool all_good = true;
        const auto add = [&](const entry &item) {
            auto endpoint = string(item, "an endpoint string");
            if (endpoint)
                if (const auto problem = endpoint_problem(*endpoint, use))
                    endpoint = fail(item, *problem);
            if (endpoint)
                out.push_back({std::move(*endpoint), item.path, item.at()});
            all_good = all_good && endpoint;
        };
        if (e.value.IsScalar()) {
            add(entry{e.path + "[0]", e.key_at, e.value});
        } else if (e.value.IsSequence()) {
            for (std::size_t i = 0; i < e.value.size(); ++i)
                add(entry{e.path + "[" + std::to_string(i) + "]", e.at(), e.value[i]});
        } else {
            return fail(e, "expected an endpoint or a sequence of endpoints, got " +
                               describe(e.value) +
                               (e.value.IsNull() ? " (write [] for none)" : ""));
        }
        if (!all_good)
            return std::nullopt;
        return out;
    }

    std::optional<value> endpoint_list(const key_row &row, const entry &e) {
        _given.emplace(parent_of(row.path));
        auto list = endpoints(e, row.kind == key_kind::connect ? endpoint_use::connect
                                                               : endpoint_use::bind);
        if (!list)
            return std::nullopt;
        std::vector<std::string> out;
        for (const endpoint_at &x : *list)
            out.push_back(x.endpoint);
        _endpoints[std::string(row.path)] = std::move(*list);
        return out;
    }

    // One endpoint to bind, or "" for none.
    std::optional<value> dead_letter(const key_row &row, const entry &e) {
        if (e.value.IsScalar() && e.value.Scalar().empty())
            return std::string();
        if (!e.value.IsScalar())
            return fail(e,
                        "expected \"\" (none) or one endpoint to bind, got " + describe(e.value));
        auto list = endpoints(e, endpoint_use::bind);
        if (!list)
            return std::nullopt;
        std::string endpoint = list->front().endpoint;
        _endpoints[std::string(row.path)] = std::move(*list);
        return endpoint;
    }

    // Giving either list replaces both defaults: "connect to the producers' broker" must not
    // also open the default listening port nobody asked for.
    void settle(const std::string &section, std::vector<std::string> &bind,
                std::vector<std::string> &connect) {
        bool refused = false;
        for (auto [kind, list] : {std::pair{".bind", &bind}, std::pair{".connect", &connect}}) {
            const std::string path = section + kind;
            if (!_given.contains(section)) {
                for (std::size_t i = 0; i < list->size(); ++i)
                    _endpoints[path].push_back(
                        {(*list)[i], path + "[" + std::to_string(i) + "]", std::nullopt});
            } else if (!_endpoints.contains(path)) {
                list->clear(); // not given, or refused (and reported)
                refused = refused || _failed.contains(path);
            }
        }
        if (_given.contains(section) && !refused && bind.empty() && connect.empty())
            fail(_sections[section], section,
                 "needs at least one bind or connect endpoint, got none");
    }

    // The same endpoint twice within a socket is at best a no-op and at worst a bind failure at
    // start-up; the same bind address on two sockets can never work. Both are caught here, with
    // both places named, rather than as EADDRINUSE at run time. Each endpoint is reported once.
    void check_collisions() {
        std::set<std::string> reported;
        const auto report = [&](const endpoint_at &a, const endpoint_at &b) {
            // Report at the later of the two in the file; a default has no place.
            const bool a_first = !a.at || (b.at && !(*b.at < *a.at));
            const endpoint_at &first = a_first ? a : b;
            const endpoint_at &second = a_first ? b : a;
            if (!reported.insert(second.path).second)
                return;
            const std::string where = first.at ? "line " + std::to_string(first.at->line)
                                               : "the default; set " +
                                                     first.path.substr(0, first.path.find('[')) +
                                                     " to move it";
            fail(second.at, second.path,
                 "endpoint " + quote(second.endpoint) + " is also " + first.path + " (" + where +
                     ")");
        };
        const auto pairs = [&](const std::vector<const endpoint_at *> &a,
                               const std::vector<const endpoint_at *> &b, bool same_list) {
            for (std::size_t i = 0; i < a.size(); ++i)
                for (std::size_t j = same_list ? i + 1 : 0; j < b.size(); ++j)
                    if (a[i]->endpoint == b[j]->endpoint)
                        report(*a[i], *b[j]);
        };
        const auto list = [&](std::initializer_list<std::string_view> paths) {
            std::vector<const endpoint_at *> out;
            for (const std::string_view path : paths)
                if (const auto it = _endpoints.find(path); it != _endpoints.end())
                    for (const endpoint_at &e : it->second)
                        out.push_back(&e);
            return out;
        };
        pairs(list({"ingress.bind", "ingress.connect"}), list({"ingress.bind", "ingress.connect"}),
              true);
        pairs(list({"egress.bind", "egress.connect"}), list({"egress.bind", "egress.connect"}),
              true);
        pairs(list({"ingress.bind"}), list({"egress.bind"}), false);
        pairs(list({"ingress.bind", "egress.bind"}), list({"invalid.dead_letter"}), false);
    }

    // Half a CURVE setup is a mistake either way: a key with no allow-list would let any client
    // key in, an allow-list with no key would silently run without CURVE.
    void check_curve(const std::string &side, const curve_config &curve) {
        if (_failed.contains(side + ".secret_key_file") || _failed.contains(side + ".allow"))
            return;
        if (curve.enabled() && curve.allow.empty())
            fail(_sections[side], side,
                 "secret_key_file is set but allow is not: give the file or directory of "
                 "client public keys to let in");
        if (!curve.enabled() && !curve.allow.empty())
            fail(_sections[side], side,
                 "allow is set but secret_key_file is not: CURVE needs the server's secret key");
    }

    std::string_view _source;
    std::vector<std::pair<std::optional<text_place>, std::string>> _problems;
    std::set<std::string, std::less<>> _failed; // keys whose value was refused
    std::set<std::string, std::less<>> _given;  // sections whose bind or connect was given
    std::map<std::string, std::optional<text_place>, std::less<>> _sections; // where they are
    std::map<std::string, std::vector<endpoint_at>, std::less<>> _endpoints; // read, or defaults
};

} // namespace

config parse_config(std::string_view yaml, std::string_view source) {
    reader r(source);
    std::vector<YAML::Node> documents;
    // Past these, reading on would only report what follows from them.
    try {
        if (const auto problem = yaml_text_problem(yaml))
            r.fail(problem->at, {}, problem->what);
        r.throw_problems();
        const std::string text(yaml);
        if (const auto at = where_yaml_cpp_would_hang(text))
            r.fail(at, {},
                   "invalid YAML: content outside any mapping or sequence (a stray ',' or the "
                   "like)");
        r.throw_problems();
        documents = YAML::LoadAll(text);
    } catch (const YAML::Exception &e) {
        r.fail(place_of(e.mark), {}, yaml_cpp_says(e.msg));
        r.throw_problems();
    }
    if (documents.empty())
        return config{};
    if (documents.size() > 1)
        r.fail(place_of(documents[1].Mark()), {},
               "expected one YAML document, found " + std::to_string(documents.size()));
    config cfg = r.read(documents.front());
    r.throw_problems();
    return cfg;
}

std::vector<std::string_view> config_problems(std::string_view message) {
    std::vector<std::string_view> out;
    for (std::size_t start = 0; start <= message.size();) {
        const std::size_t end = std::min(message.find('\n', start), message.size());
        out.push_back(message.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

config load_config_file(const std::string &path) {
    return parse_config(read_regular_file(path, max_config_file_bytes, "configuration file"), path);
}

config default_config() {
    return config{};
}

} // namespace zrelay
