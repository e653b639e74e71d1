// Writing a configuration back as YAML: the effective one (--check-config), and the commented
// reference of every key (`zrelayd config-reference`, shipped as config/zrelay.yaml), both by
// walking the key table, so neither can miss a key or drift from the defaults in config.hpp.
#include "config.hpp"

#include <type_traits>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config_table.hpp"
#include "suggest.hpp"

namespace zrelay {
namespace {

constexpr std::size_t comment_width = 100;

constexpr std::string_view reference_header =
    R"(# zrelay configuration: every key, set to its default, as `zrelayd config-reference` prints it.
#
# zrelayd reads this file when started as
#     zrelayd --config /etc/zrelay/zrelay.yaml
# and runs on these same built-in defaults when given no --config. Validate a change before
# restarting; this prints the effective configuration, or every line, column and key that is wrong:
#     zrelayd --check-config --config /etc/zrelay/zrelay.yaml
#
# Every key is optional: delete a line and its default applies. A section left with nothing
# under it (e.g. "metrics:" alone) keeps all its defaults; a key left with no value
# ("workers:") is an error. Unknown keys are errors too, so a typo is reported, not ignored.
# Each key's comment ends with its bounds and when a change takes effect: on restart, or on
# SIGHUP (systemctl reload zrelayd).
#
# Endpoints are tcp://HOST:PORT (HOST may be *, an IPv4 address, a host name, an interface or
# an IPv6 address in brackets, [::1] or [fe80::1%eth0]; PORT may be * when binding) or
# ipc:///absolute/path (at most 107 bytes of path; ipc://@name is a Linux abstract socket;
# relative paths and ipc://* are refused). * listens on IPv6 and IPv4; names and interfaces are
# IPv4. One endpoint may be written without the brackets. This file: at most 1 MiB.
#
# How memory and backpressure fit together: with nodrop on, a subscriber that cannot keep up
# makes the relay wait rather than drop. Its queue fills to sndhwm, the pipeline fills to
# max_inflight messages, the relay stops reading its PULL sockets, their queues fill to rcvhwm,
# and then producers block in send (or get EAGAIN if they send non-blocking). Memory stays
# bounded by roughly max_inflight x message size, plus the high-water marks' worth of messages
# in zmq's own queues (rcvhwm per producer, sndhwm per subscriber).
)";

// String values double-quoted: a topic like "null", "~" or "a: b" must come back as that string.
void emit_value(YAML::Emitter &out, const key_row &row, const config &cfg) {
    std::visit(
        [&](const auto *field) {
            using T = std::remove_cvref_t<decltype(*field)>;
            if constexpr (std::is_same_v<T, std::string>) {
                if (row.kind == key_kind::one_of)
                    out << *field;
                else
                    out << YAML::DoubleQuoted << *field;
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                out << YAML::Flow << YAML::BeginSeq;
                for (const std::string &e : *field)
                    out << YAML::DoubleQuoted << e;
                out << YAML::EndSeq;
            } else if constexpr (std::is_same_v<T, log_format>) {
                out << std::string(row.choices[static_cast<std::size_t>(*field)]);
            } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
                out << field->count();
            } else if (row.kind == key_kind::file_mode) {
                out << YAML::DoubleQuoted << fmt::format("{:04o}", *field);
            } else {
                out << *field;
            }
        },
        row.at.get(cfg));
}

std::string bounds(const key_row &row) {
    switch (row.kind) {
    case key_kind::integer:
        return fmt::format("{}..{}", row.min, row.max);
    case key_kind::boolean:
        return "true or false";
    case key_kind::one_of:
        return "one of " + joined(row.choices);
    case key_kind::topic:
        return "a topic, at most 255 bytes";
    case key_kind::path:
        return "a file path";
    case key_kind::group:
        return "a group name";
    case key_kind::file_mode:
        return "octal, 0600..0777";
    case key_kind::listen:
        return "host:port, \"\" disables it";
    case key_kind::bind:
        return "endpoints to bind";
    case key_kind::connect:
        return "endpoints to connect";
    case key_kind::bind_one:
        return "an endpoint to bind, \"\" for none";
    }
    return {};
}

std::string_view when(key_applies applies) {
    switch (applies) {
    case key_applies::restart:
        return "on restart";
    case key_applies::reload:
        return "on SIGHUP";
    case key_applies::reload_while_set:
        return "on SIGHUP; setting or clearing it, on restart";
    }
    return {};
}

// `text` as comment lines of at most comment_width columns, indented `depth` levels.
void comment(std::string &out, std::string_view text, std::size_t depth) {
    const std::string indent(2 * depth, ' ');
    std::string line;
    const auto flush = [&] {
        out += indent + "#" + line + "\n";
        line.clear();
    };
    while (!text.empty()) {
        const std::size_t end = std::min(text.find(' '), text.size());
        if (!line.empty() && indent.size() + 1 + line.size() + 1 + end > comment_width)
            flush();
        line += " " + std::string(text.substr(0, end));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    if (!line.empty())
        flush();
}

} // namespace

std::string to_yaml(const config &cfg) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    walk_table(
        [&](std::string_view path, std::size_t /*depth*/) {
            out << YAML::Key << std::string(key_name(path)) << YAML::Value << YAML::BeginMap;
        },
        [&](std::size_t /*depth*/) { out << YAML::EndMap; },
        [&](const key_row &row, std::size_t /*depth*/) {
            out << YAML::Key << std::string(key_name(row.path)) << YAML::Value;
            emit_value(out, row, cfg);
        });
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::string config_reference() {
    const config defaults;
    std::string out(reference_header);
    const auto key = [&](std::string_view path, std::size_t depth) {
        out += std::string(2 * depth, ' ') + std::string(key_name(path)) + ":";
    };
    walk_table(
        [&](std::string_view path, std::size_t depth) {
            out += depth == 0 ? "\n" : "";
            comment(out, section_doc(path), depth);
            key(path, depth);
            out += "\n";
        },
        [](std::size_t /*depth*/) {},
        [&](const key_row &row, std::size_t depth) {
            out += depth == 0 ? "\n" : "";
            comment(out, fmt::format("{} ({}; {})", row.doc, bounds(row), when(row.applies)),
                    depth);
            YAML::Emitter value;
            emit_value(value, row, defaults);
            key(row.path, depth);
            out += " " + std::string(value.c_str()) + "\n";
        });
    return out;
}

} // namespace zrelay
