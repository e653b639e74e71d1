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

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config_table.hpp"
#include "endpoint.hpp"
#include "errors.hpp"
#include "quoting.hpp"
#include "regular_file.hpp"
#include "reserved_topics.hpp"
#include "suggest.hpp"
#include "yaml_text.hpp"

namespace zrelay {
namespace {

std::optional<text_place> place_of(const YAML::Mark &mark) {
    if (mark.line < 0)
        return std::nullopt;
    return text_place{mark.line + 1, mark.column + 1}; // yaml-cpp counts from 0, editors from 1
}

// A node as a message shows it: quoted and escaped if a scalar, else "a sequence" and the like.
std::string describe(const YAML::Node &node) {
    if (node.IsScalar())
        return quote(node.Scalar());
    if (node.IsSequence())
        return "a sequence";
    return node.IsMap() ? "a mapping" : "null";
}

// A key and its value as found in the file, with the dotted path that names it in errors; or an
// endpoint in a list ("ingress.bind[1]"), default ones with no place.
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

class reader {
public:
    explicit reader(std::string_view source) : _source(source) {}

    // Records a problem; returns nullopt for a reading function to return.
    std::nullopt_t add(std::optional<text_place> at, std::string_view key, std::string_view what) {
        _problems.emplace_back(at,
                               (key.empty() ? "" : std::string(key) + ": ") + std::string(what));
        return std::nullopt;
    }
    std::nullopt_t add(const entry &e, std::string_view what) { return add(e.at(), e.path, what); }

    // Throws one config_error holding every problem, one a line in the file's order, as
    // "SOURCE:LINE:COLUMN: KEY: WHAT"; returns if there is none.
    void throw_if_any() {
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
            add(place_of(root.Mark()), {},
                "the top level must be a mapping of sections (" + joined(children("")) + "), got " +
                    describe(root));
            throw_if_any();
        }
        section(entry{{}, place_of(root.Mark()), root}, cfg);
        settle("ingress", cfg.ingress.bind, cfg.ingress.connect);
        settle("egress", cfg.egress.bind, cfg.egress.connect);
        if (cfg.retention.max_bytes > 0 && !_given.contains("replay"))
            add_defaults("replay.bind", cfg.replay.bind);
        check_collisions();
        check_curve("security.curve.ingress", cfg.security.ingress_curve);
        check_curve("security.curve.egress", cfg.security.egress_curve);
        // Relays find loops and each other's losses by the stamp: a linked relay must stamp.
        for (const auto *link : {"egress.forward", "ingress.subscribe"})
            if (const auto it = _endpoints.find(std::string_view(link));
                !cfg.egress.stamp && it != _endpoints.end() && !it->second.empty())
                add(it->second.front(), "a relay linked to others must stamp (egress.stamp: "
                                        "true): loops and each hop's losses are found by it");
        return cfg;
    }

private:
    // Reads each key of a section, after rejecting unknown and repeated keys (yaml-cpp keeps
    // both copies of a repeated key and lookups would see only the first).
    void section(const entry &e, config &cfg) {
        const std::vector<std::string_view> known = children(e.path);
        if (e.value.IsNull())
            return; // a section with everything under it commented out: its defaults
        if (!e.value.IsMap()) {
            add(e, "expected a mapping with keys " + joined(known) + ", got " + describe(e.value));
            return;
        }
        std::map<std::string, std::optional<text_place>> seen;
        // Nodes copied out: yaml-cpp's iterators hand out temporaries (Nodes are cheap handles).
        for (const auto &pair : e.value) {
            const YAML::Node key = pair.first;
            const std::optional<text_place> key_at = place_of(key.Mark());
            if (!key.IsScalar()) {
                add(key_at, e.path, "expected a key name, got " + describe(key));
                continue;
            }
            const std::string &name = key.Scalar();
            const std::string path = child_path(e.path, name);
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                unknown(key_at, e.path, name, known);
                continue;
            }
            if (const auto [first, is_first] = seen.try_emplace(name, key_at); !is_first) {
                const auto &line = first->second;
                add(key_at, path,
                    "given twice (first on line " + (line ? std::to_string(line->line) : "?") +
                        ")");
                continue;
            }
            const entry child{path, key_at, pair.second};
            if (const key_row *row = find_key(path)) {
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
        add(at, section.empty() ? shown : section + "." + shown,
            guess ? "unknown key; did you mean '" + std::string(*guess) + "'?"
                  : "unknown key; expected one of " + joined(known));
    }

    void leaf(const key_row &row, const entry &e, config &cfg) {
        std::optional<key_value> read;
        if (row.kind == key_kind::bind || row.kind == key_kind::connect ||
            row.kind == key_kind::bind_one || row.kind == key_kind::prefixes)
            read = strings(row, e);
        else if (!e.value.IsScalar())
            read = add(e, "expected " + kind_text(row).expected + ", got " + describe(e.value));
        else
            read = scalar(row, e, e.value.Scalar());
        if (!read) {
            _failed.emplace(row.path);
            return;
        }
        // The row's kind matches its field's type: only one pairing of the two is ever stored.
        std::visit(
            [&](auto *field, const auto &value) {
                using T = std::remove_pointer_t<decltype(field)>;
                using V = std::remove_cvref_t<decltype(value)>;
                if constexpr (std::is_enum_v<T> && std::is_same_v<V, std::string>)
                    *field = T(std::find(row.choices.begin(), row.choices.end(), value) -
                               row.choices.begin());
                else if constexpr (std::is_constructible_v<T, V>)
                    *field = T(value);
            },
            row.at.mut(cfg), *read);
    }

    // A scalar value as `row`'s kind reads it; nullopt, with the problem recorded, if it is not
    // one.
    std::optional<key_value> scalar(const key_row &row, const entry &e, const std::string &v) {
        scalar_read read = read_scalar(row, v);
        if (const auto *bad = std::get_if<bad_value>(&read))
            return add(e, bad->what);
        return std::get<key_value>(std::move(read));
    }

    // A string or a sequence of strings (endpoints, or topic prefixes): one needs no brackets. A
    // bind_one key takes a string only, "" for none.
    std::optional<key_value> strings(const key_row &row, const entry &e) {
        const bool one = row.kind == key_kind::bind_one;
        const bool prefixes = row.kind == key_kind::prefixes;
        // Only bind and connect replace a section's defaults (links sit beside them).
        const std::string_view name = row.path.substr(row.path.rfind('.') + 1);
        if (name == "bind" || name == "connect")
            _given.emplace(row.path.substr(0, row.path.rfind('.')));
        if (one && e.value.IsScalar() && e.value.Scalar().empty())
            return std::string();
        std::vector<entry> items;
        if (e.value.IsScalar()) {
            items.push_back({e.path + "[0]", e.key_at, e.value});
        } else if (e.value.IsSequence() && !one) {
            for (std::size_t i = 0; i < e.value.size(); ++i)
                items.push_back({e.path + "[" + std::to_string(i) + "]", e.at(), e.value[i]});
        } else {
            return add(e, "expected " + kind_text(row).expected + ", got " + describe(e.value) +
                              (e.value.IsNull() && !one ? " (write [] for none)" : ""));
        }
        const auto use = row.kind == key_kind::connect ? endpoint_use::connect : endpoint_use::bind;
        std::vector<std::string> endpoints;
        for (const entry &item : items) {
            std::optional<std::string> problem =
                item.value.IsScalar() ? unwritable_problem(item.value.Scalar())
                                      : std::string("expected ") +
                                            (prefixes ? "a topic prefix" : "an endpoint string") +
                                            ", got " + describe(item.value);
            if (!problem && prefixes && item.value.Scalar().size() > 255)
                problem = "a topic prefix is at most 255 bytes, got " +
                          std::to_string(item.value.Scalar().size());
            else if (!problem && !prefixes)
                problem = endpoint_problem(item.value.Scalar(), use);
            if (problem)
                add(item, *problem);
            else
                endpoints.push_back(item.value.Scalar());
        }
        if (endpoints.size() != items.size())
            return std::nullopt;
        if (!prefixes)
            _endpoints[std::string(row.path)] = std::move(items);
        if (one)
            return endpoints.front();
        return endpoints;
    }

    void add_defaults(const std::string &path, const std::vector<std::string> &list) {
        for (std::size_t i = 0; i < list.size(); ++i)
            _endpoints[path].push_back(
                {path + "[" + std::to_string(i) + "]", std::nullopt, YAML::Node(list[i])});
    }

    // Giving either list replaces both defaults: "connect to the producers' broker" must not
    // also open the default listening port nobody asked for.
    void settle(const std::string &section, std::vector<std::string> &bind,
                std::vector<std::string> &connect) {
        bool refused = false;
        for (auto [kind, list] : {std::pair{".bind", &bind}, std::pair{".connect", &connect}}) {
            const std::string path = section + kind;
            if (!_given.contains(section)) {
                add_defaults(path, *list);
            } else if (!_endpoints.contains(path)) {
                list->clear(); // not given, or refused (and reported)
                refused = refused || _failed.contains(path);
            }
        }
        if (_given.contains(section) && !refused && bind.empty() && connect.empty())
            add(_sections[section], section,
                "needs at least one bind or connect endpoint, got none");
    }

    // The same endpoint twice within a socket is at best a no-op and at worst a bind failure at
    // start-up; the same bind address on two sockets can never work. Both are caught here, with
    // both places named, rather than as EADDRINUSE at run time. Each endpoint is reported once.
    void check_collisions() {
        std::set<std::string> reported;
        const auto report = [&](const entry &a, const entry &b) {
            // Report at the later of the two in the file; a default has no place.
            const bool a_first = !a.at() || (b.at() && !(*b.at() < *a.at()));
            const entry &first = a_first ? a : b;
            const entry &second = a_first ? b : a;
            if (!reported.insert(second.path).second)
                return;
            const std::string where = first.at() ? "line " + std::to_string(first.at()->line)
                                                 : "the default; set " +
                                                       first.path.substr(0, first.path.find('[')) +
                                                       " to move it";
            add(second, "endpoint " + quote(second.value.Scalar()) + " is also " + first.path +
                            " (" + where + ")");
        };
        const auto list = [&](std::initializer_list<std::string_view> paths) {
            std::vector<const entry *> out;
            for (const std::string_view path : paths)
                if (const auto it = _endpoints.find(path); it != _endpoints.end())
                    for (const entry &e : it->second)
                        out.push_back(&e);
            return out;
        };
        const auto pairs = [&](const auto &a, const auto &b) {
            for (std::size_t i = 0; i < a.size(); ++i)
                for (std::size_t j = &a == &b ? i + 1 : 0; j < b.size(); ++j)
                    if (a[i]->value.Scalar() == b[j]->value.Scalar())
                        report(*a[i], *b[j]);
        };
        const auto ingress = list({"ingress.bind", "ingress.connect"});
        const auto egress = list({"egress.bind", "egress.connect"});
        pairs(ingress, ingress);
        pairs(egress, egress);
        pairs(list({"ingress.bind"}), list({"egress.bind"}));
        // A link to one's own socket is a loop (every message would come back and be dropped).
        for (const auto &[link, own] : {std::pair{"egress.forward", "ingress.bind"},
                                        std::pair{"ingress.subscribe", "egress.bind"}}) {
            const auto links = list({link});
            pairs(links, links);
            pairs(list({own}), links);
        }
        pairs(list({"ingress.bind", "egress.bind"}), list({"invalid.dead_letter"}));
        const auto replay = list({"replay.bind"});
        pairs(replay, replay);
        pairs(list({"ingress.bind", "egress.bind", "invalid.dead_letter"}), replay);
    }

    // Half a CURVE setup is a mistake either way: a key with no allow-list would let any client
    // key in, an allow-list with no key would silently run without CURVE.
    void check_curve(const std::string &side, const curve_config &curve) {
        if (_failed.contains(side + ".secret_key_file") || _failed.contains(side + ".allow"))
            return;
        if (curve.enabled() && curve.allow.empty())
            add(_sections[side], side,
                "secret_key_file is set but allow is not: give the file or directory of client "
                "public keys to let in");
        if (!curve.enabled() && !curve.allow.empty())
            add(_sections[side], side,
                "allow is set but secret_key_file is not: CURVE needs the server's secret key");
    }

    std::string_view _source;
    std::vector<std::pair<std::optional<text_place>, std::string>> _problems;
    std::set<std::string, std::less<>> _failed; // keys whose value was refused
    std::set<std::string, std::less<>> _given;  // sections whose bind or connect was given
    std::map<std::string, std::optional<text_place>, std::less<>> _sections; // where they are
    std::map<std::string, std::vector<entry>, std::less<>> _endpoints;       // read, or defaults
};

} // namespace

config parse_config(std::string_view yaml, std::string_view source) {
    reader r(source);
    std::vector<YAML::Node> documents;
    // Past these, reading on would only report what follows from them.
    try {
        if (const auto problem = yaml_text_problem(yaml))
            r.add(problem->at, {}, problem->what);
        r.throw_if_any();
        const std::string text(yaml);
        if (const auto at = where_yaml_cpp_would_hang(text))
            r.add(at, {},
                  "invalid YAML: content outside any mapping or sequence (a stray ',' or the "
                  "like)");
        r.throw_if_any();
        documents = YAML::LoadAll(text);
    } catch (const YAML::Exception &e) {
        r.add(place_of(e.mark), {}, yaml_cpp_says(e.msg));
        r.throw_if_any();
    }
    if (documents.empty())
        return config{};
    if (documents.size() > 1)
        r.add(place_of(documents[1].Mark()), {},
              "expected one YAML document, found " + std::to_string(documents.size()));
    config cfg = r.read(documents.front());
    r.throw_if_any();
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

} // namespace zrelay
