// Writing a configuration back as YAML: the effective one (--check-config), and the commented
// reference of every key (`zrelayd config-reference`, shipped as config/zrelay.yaml), both by one
// walk of the key table, so neither can miss a key or drift from the defaults in config.hpp.
// yaml-cpp's emitter writes each value (its quoting rules are the reader's); the nesting is ours.
#include "config.hpp"

#include <array>
#include <type_traits>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config_table.hpp"

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
            if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                out << YAML::Flow << YAML::BeginSeq;
                for (const std::string &e : *field)
                    out << YAML::DoubleQuoted << e;
                out << YAML::EndSeq;
            } else if constexpr (std::is_same_v<T, std::string>) {
                out << (row.kind == key_kind::one_of ? YAML::Auto : YAML::DoubleQuoted) << *field;
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

// When a change takes effect, in key_applies' order.
constexpr std::array<std::string_view, 3> when{"on restart", "on SIGHUP",
                                               "on SIGHUP; setting or clearing it, on restart"};

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

// The keys under `section` as YAML, `depth` levels in; with their docs and bounds for the
// reference.
void write_section(std::string &out, const config &cfg, std::string_view section, std::size_t depth,
                   bool documented) {
    for (const std::string_view name : children(section)) {
        const std::string path = child_path(section, name);
        const key_row *row = find_key(path);
        if (documented) {
            out += depth == 0 ? "\n" : "";
            comment(out,
                    row ? fmt::format("{} ({}; {})", row->doc, kind_text(*row).bounds,
                                      when.at(static_cast<std::size_t>(row->applies)))
                        : std::string(section_doc(path)),
                    depth);
        }
        out += std::string(2 * depth, ' ') + std::string(name) + ":";
        if (row) {
            YAML::Emitter value;
            emit_value(value, *row, cfg);
            out += " " + std::string(value.c_str()) + "\n";
        } else {
            out += "\n";
            write_section(out, cfg, path, depth + 1, documented);
        }
    }
}

} // namespace

std::string to_yaml(const config &cfg) {
    std::string out;
    write_section(out, cfg, "", 0, false);
    return out;
}

std::string config_reference() {
    std::string out(reference_header);
    write_section(out, config{}, "", 0, true);
    return out;
}

} // namespace zrelay
