// Reading the YAML configuration by walking the key table (config_table.hpp). Every value is
// checked here, once, so the rest of the daemon can trust `config`. Every error names the source,
// line, column and full dotted key, because an operator reading "invalid value" in a journal
// cannot tell which of forty lines is wrong; and all of a file's errors are reported at once.
#include "config.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <yaml-cpp/yaml.h>

#include "config_table.hpp"
#include "config_values.hpp"
#include "quoting.hpp"
#include "regular_file.hpp"
#include "suggest.hpp"
#include "yaml_text.hpp"

namespace zrelay {
namespace {

class reader {
public:
    reader(std::string_view source, problem_list &problems)
        : _source(source), _problems(problems) {}

    config read(const YAML::Node &root) {
        config cfg;
        if (root.IsNull())
            return cfg; // an empty file, or only comments: all defaults
        if (!root.IsMap()) {
            _problems.add(place_of(root.Mark()), {},
                          "the top level must be a mapping of sections (" + joined(children("")) +
                              "), got " + describe(root));
            _problems.throw_if_any(_source);
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
            _problems.add(e, "expected a mapping with keys " + joined(known) + ", got " +
                                 describe(e.value));
            return;
        }
        std::vector<std::pair<std::string, std::optional<text_place>>> seen;
        // Nodes copied out: yaml-cpp's iterators hand out temporaries (Nodes are cheap handles).
        for (const auto &pair : e.value) {
            const YAML::Node key = pair.first;
            const std::optional<text_place> key_at = place_of(key.Mark());
            if (!key.IsScalar()) {
                _problems.add(key_at, e.path, "expected a key name, got " + describe(key));
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
                _problems.add(
                    key_at, path,
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
        _problems.add(at, section.empty() ? shown : section + "." + shown,
                      guess ? "unknown key; did you mean '" + std::string(*guess) + "'?"
                            : "unknown key; expected one of " + joined(known));
    }

    void leaf(const key_row &row, const entry &e, config &cfg) {
        if (row.kind == key_kind::bind || row.kind == key_kind::connect)
            _given.emplace(parent_of(row.path));
        const std::size_t before = _problems.size();
        const std::optional<key_value> v = read_value(row, e, _problems);
        if (!v || _problems.size() != before) {
            _failed.emplace(row.path);
            return;
        }
        store(row, cfg, *v);
        if (const auto *endpoints = std::get_if<std::vector<endpoint_at>>(&*v))
            _endpoints[std::string(row.path)] = *endpoints;
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
            _problems.add(_sections[section], section,
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
            _problems.add(second.at, second.path,
                          "endpoint " + quote(second.endpoint) + " is also " + first.path + " (" +
                              where + ")");
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
            _problems.add(_sections[side], side,
                          "secret_key_file is set but allow is not: give the file or directory of "
                          "client public keys to let in");
        if (!curve.enabled() && !curve.allow.empty())
            _problems.add(
                _sections[side], side,
                "allow is set but secret_key_file is not: CURVE needs the server's secret key");
    }

    std::string_view _source;
    problem_list &_problems;
    std::set<std::string, std::less<>> _failed; // keys whose value was refused
    std::set<std::string, std::less<>> _given;  // sections whose bind or connect was given
    std::map<std::string, std::optional<text_place>, std::less<>> _sections; // where they are
    std::map<std::string, std::vector<endpoint_at>, std::less<>> _endpoints; // read, or defaults
};

} // namespace

config parse_config(std::string_view yaml, std::string_view source) {
    problem_list problems;
    reader r(source, problems);
    std::vector<YAML::Node> documents;
    // Past these, reading on would only report what follows from them.
    try {
        if (const auto problem = yaml_text_problem(yaml))
            problems.add(problem->at, {}, problem->what);
        problems.throw_if_any(source);
        const std::string text(yaml);
        if (const auto at = where_yaml_cpp_would_hang(text))
            problems.add(
                at, {},
                "invalid YAML: content outside any mapping or sequence (a stray ',' or the "
                "like)");
        problems.throw_if_any(source);
        documents = YAML::LoadAll(text);
    } catch (const YAML::Exception &e) {
        problems.add(place_of(e.mark), {}, yaml_cpp_says(e.msg));
        problems.throw_if_any(source);
    }
    if (documents.empty())
        return config{};
    if (documents.size() > 1)
        problems.add(place_of(documents[1].Mark()), {},
                     "expected one YAML document, found " + std::to_string(documents.size()));
    config cfg = r.read(documents.front());
    problems.throw_if_any(source);
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
