// The key table's rows, and what is read off them alone: lookups by path, each kind in words, and
// what a reload (SIGHUP) applies and what waits for a restart (the `applies` column).
#include "config_table.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "suggest.hpp"

namespace zrelay {
namespace {

using namespace std::string_view_literals;
using k = key_kind;

constexpr std::int64_t max_hwm = std::numeric_limits<int>::max();
constexpr std::int64_t an_hour_ms = 3'600'000;
constexpr std::array log_levels{"trace"sv, "debug"sv,    "info"sv, "warn"sv,
                                "error"sv, "critical"sv, "off"sv};
constexpr std::array log_formats{"text"sv, "json"sv}; // log_format's order
constexpr std::array forward_choices{"topic"sv, "round_robin"sv};

constexpr key_row integer(std::string_view path, field_access at, std::int64_t min,
                          std::int64_t max, std::string_view doc,
                          key_applies applies = key_applies::restart) {
    return {path, k::integer, at, doc, applies, min, max};
}

// clang-format off
constexpr std::array rows{
    key_row{"ingress.bind", k::bind, field<&config::ingress, &ingress_config::bind>,
            "Listen here; tcp://*:5555 for all interfaces."},
    key_row{"ingress.connect", k::connect, field<&config::ingress, &ingress_config::connect>,
            "Or dial out to producers that bind."},
    key_row{"ingress.subscribe", k::connect, field<&config::ingress, &ingress_config::subscribe>,
            "Also take messages from other relays' egress endpoints (a tree of relays; "
            "docs/topologies.md). Only what this relay's subscribers ask for crosses the link."},
    key_row{"ingress.subscribe_topics", k::prefixes,
            field<&config::ingress, &ingress_config::subscribe_topics>,
            "Ask the ingress.subscribe relays for these topic prefixes always, instead of "
            "following this relay's subscribers; [] follows them."},
    integer("ingress.rcvhwm", field<&config::ingress, &ingress_config::rcvhwm>, 0, max_hwm,
            "Messages queued per producer before it blocks; 0 = no limit."),
    integer("ingress.max_message_bytes",
            field<&config::ingress, &ingress_config::max_message_bytes>, 1, 256 << 20,
            "Larger messages are refused as invalid (reason \"oversize\")."),
    key_row{"egress.bind", k::bind, field<&config::egress, &egress_config::bind>,
            "Listen here for subscribers."},
    key_row{"egress.connect", k::connect, field<&config::egress, &egress_config::connect>,
            "Or dial out to subscribers that bind."},
    key_row{"egress.forward", k::connect, field<&config::egress, &egress_config::forward>,
            "Also push every published message to these relays' ingress (edge to central; "
            "docs/topologies.md). A full link waits with nodrop, else drops and counts."},
    key_row{"egress.forward_by", k::one_of, field<&config::egress, &egress_config::forward_by>,
            "With several forward endpoints: topic sends each topic always to the same one, so "
            "its order survives; round_robin spreads messages evenly without that promise.",
            key_applies::restart, 0, 0, forward_choices},
    integer("egress.sndhwm", field<&config::egress, &egress_config::sndhwm>, 0, max_hwm,
            "Messages queued per subscriber; 0 = no limit."),
    key_row{"egress.nodrop", k::boolean, field<&config::egress, &egress_config::nodrop>,
            "true: wait for a slow subscriber; false: drop its messages."},
    key_row{"egress.stamp", k::boolean, field<&config::egress, &egress_config::stamp>,
            "Append the relay's stamp to each message: relay_sequence (1, 2, 3... per topic), "
            "relay_received_ns and relay_instance (random per start), so subscribers see gaps "
            "and restarts (docs/loss.md)."},
    integer("egress.max_topics", field<&config::egress, &egress_config::max_topics>, 1, 1'000'000,
            "Topics with a sequence of their own; topics first seen after these are stamped "
            "with sequence 0, \"not tracked\". Bounds the per-topic memory."),
    key_row{"egress.drop_notices", k::boolean,
            field<&config::egress, &egress_config::drop_notices>,
            "Publish on the reserved topic $zrelay/drops when the relay drops messages (invalid "
            "input, or a drain that ran out of time): per reason, at most one a second."},
    integer("workers", field<&config::workers>, 0, 64,
            "Threads that decode and validate. 0 is the direct path: one thread receives, "
            "validates and publishes, the fastest on 2 cores (docs/performance.md); workers "
            "(with io_threads: 2) pay only where cores are spare. pipeline.max_inflight bounds "
            "them."),
    integer("io_threads", field<&config::io_threads>, 1, 16,
            "libzmq's I/O threads (ZMQ_IO_THREADS): network reads and writes, framing, CURVE. "
            "With 2 or more, ingress and egress connections get threads of their own: worth it "
            "where cores are spare and messages large (from about 1 KiB); on 2 cores, 1 is as "
            "fast."),
    integer("pipeline.max_inflight", field<&config::pipeline, &pipeline_config::max_inflight>, 1,
            10'000'000,
            "Messages between receipt and publication with workers, at most: bounds memory, and "
            "at the cap the relay stops reading its ingress."),
    key_row{"routing.default_topic", k::topic,
            field<&config::routing, &routing_config::default_topic>,
            "Topic for messages that carry an empty one; \"\" publishes them under the empty "
            "topic, which only subscribers to everything receive."},
    integer("routing.max_hops", field<&config::routing, &routing_config::max_hops>, 1, 255,
            "Relays a message may cross; one that has crossed this many is not relayed again "
            "(reason \"too_many_hops\"). One carrying this relay's own stamp is dropped as "
            "\"loop\"."),
    key_row{"invalid.dead_letter", k::bind_one,
            field<&config::invalid, &invalid_config::dead_letter>,
            "A PUB endpoint where refused input is republished raw as [reason][original "
            "frames...]; secured as egress is (CURVE, allow-list, ipc mode)."},
    integer("invalid.dead_letter_hwm", field<&config::invalid, &invalid_config::dead_letter_hwm>,
            0, max_hwm,
            "Dead letters queued per consumer; past it they are dropped, never waited on."),
    integer("retention.max_bytes", field<&config::retention, &retention_config::max_bytes>, 0,
            std::int64_t{1} << 40,
            "Memory for the most recently published messages, kept for replay (oldest evicted "
            "first); 0 turns retention and the replay endpoint off."),
    key_row{"retention.last_values", k::boolean,
            field<&config::retention, &retention_config::last_values>,
            "Also keep the newest message of each tracked topic (egress.max_topics) after its "
            "older ones are evicted: what a replay snapshot returns."},
    key_row{"replay.bind", k::bind, field<&config::replay, &replay_config::bind>,
            "A ROUTER where clients ask for retained messages (proto/zrelay/v1/replay.proto); [] "
            "for none. Secured as egress is: who may not subscribe may not replay."},
    key_row{"metrics.listen", k::listen, field<&config::metrics, &metrics_config::listen>,
            "HTTP endpoint for Prometheus metrics, e.g. 0.0.0.0:9464 or [::1]:9464."},
    integer("metrics.max_topic_labels",
            field<&config::metrics, &metrics_config::max_topic_labels>, 0, 10'000,
            "zrelay_topic_messages_total has a series for each of the first this many topics; "
            "all others are counted under topic=\"_other\"."),
    key_row{"log.level", k::one_of, field<&config::log, &log_config::level>,
            "Least severe level logged (--log-level overrides it).", key_applies::reload, 0, 0,
            log_levels},
    key_row{"log.format", k::one_of, field<&config::log, &log_config::format>,
            "text, or json for log collectors.", key_applies::reload, 0, 0, log_formats},
    integer("shutdown.drain_timeout_ms",
            field<&config::shutdown, &shutdown_config::drain_timeout>, 0, an_hour_ms,
            "On SIGTERM, time allowed to publish what is in flight before exiting anyway.",
            key_applies::reload),
    key_row{"security.curve.ingress.secret_key_file", k::path,
            field<&config::security, &security_config::ingress_curve,
                  &curve_config::secret_key_file>,
            "The server's secret key; refused if its group or others can read it."},
    key_row{"security.curve.ingress.allow", k::path,
            field<&config::security, &security_config::ingress_curve, &curve_config::allow>,
            "Client public keys let in: a file of Z85 keys, one a line (\"#\" comments), or a "
            "directory of such files; re-read on SIGHUP for new connections.",
            key_applies::reload_while_set},
    key_row{"security.curve.egress.secret_key_file", k::path,
            field<&config::security, &security_config::egress_curve,
                  &curve_config::secret_key_file>,
            "As for ingress."},
    key_row{"security.curve.egress.allow", k::path,
            field<&config::security, &security_config::egress_curve, &curve_config::allow>,
            "As for ingress.", key_applies::reload_while_set},
    integer("security.handshake_timeout_ms",
            field<&config::security, &security_config::handshake_timeout>, 0, an_hour_ms,
            "On a side with CURVE, a connection that has not finished its handshake in this "
            "time is closed, so half-open connections cannot pile up; 0: never. Sides without "
            "CURVE have none: libzmq 4.3.4 would cut working ZMTP 1.0/2.0 clients at it."),
    key_row{"security.ipc_mode", k::file_mode, field<&config::security, &security_config::ipc_mode>,
            "Mode of bound ipc:// socket files: connecting needs write permission, so 0660 lets "
            "in the owner and the group only."},
    key_row{"security.ipc_group", k::group, field<&config::security, &security_config::ipc_group>,
            "Group of bound ipc:// socket files; \"\" = zrelayd's own."},
};
// clang-format on

constexpr std::array sections{
    std::pair{"ingress"sv,
              "Where producers send DataMessages (a PULL socket). Giving bind or "
              "connect replaces BOTH default lists: a section with only connect "
              "does not also bind 127.0.0.1:5555. At least one endpoint must remain."sv},
    std::pair{"egress"sv, "Where subscribers receive [topic][DataMessage] (an XPUB socket; they "
                          "subscribe by topic prefix). As for ingress, bind or connect replaces "
                          "both default lists; an endpoint may not be both an ingress and an "
                          "egress bind."sv},
    std::pair{"retention"sv, "Recent messages kept in memory, so that subscribers can get back "
                             "what they missed (docs/loss.md)."sv},
    std::pair{"security"sv, "Limits on who may connect."sv},
    std::pair{"security.curve"sv,
              "CURVE (encryption and authentication) on each side separately, off while its "
              "secret_key_file is \"\": then anyone who can reach an endpoint may use it. Make key "
              "pairs with `zrelayd keygen --out /etc/zrelay/curve/ingress` (writes ingress.key, "
              "mode 0600, and ingress.pub). The side's own public key is always let in (`zrelayd "
              "healthcheck` connects with it)."sv},
};

// For a reload_while_set key (a string: a CURVE allow-list). Setting or clearing it turns CURVE
// on or off, the socket's mechanism: a restart.
bool is_set(const key_row &row, const config &cfg) {
    return !std::get<const std::string *>(row.at.get(cfg))->empty();
}

} // namespace

const key_row *find_key(std::string_view path) {
    const auto *row =
        std::find_if(rows.begin(), rows.end(), [&](const key_row &r) { return r.path == path; });
    return row == rows.end() ? nullptr : row;
}

std::vector<std::string_view> children(std::string_view section) {
    const std::string prefix = section.empty() ? "" : std::string(section) + ".";
    std::vector<std::string_view> out;
    for (const key_row &row : rows) {
        const std::string_view rest = row.path.substr(std::min(prefix.size(), row.path.size()));
        const std::string_view name = rest.substr(0, rest.find('.'));
        if (row.path.starts_with(prefix) && std::find(out.begin(), out.end(), name) == out.end())
            out.push_back(name);
    }
    return out;
}

std::string child_path(std::string_view section, std::string_view name) {
    return section.empty() ? std::string(name) : fmt::format("{}.{}", section, name);
}

std::string_view section_doc(std::string_view path) {
    for (const auto &[name, doc] : sections)
        if (name == path)
            return doc;
    return {};
}

kind_words kind_text(const key_row &row) {
    switch (row.kind) {
    case key_kind::integer:
        return {fmt::format("an integer in [{}, {}]", row.min, row.max),
                fmt::format("{}..{}", row.min, row.max)};
    case key_kind::boolean:
        return {"true or false", "true or false"};
    case key_kind::one_of:
        return {"one of " + joined(row.choices), "one of " + joined(row.choices)};
    case key_kind::topic:
        return {"a string", "a topic, at most 255 bytes"};
    case key_kind::path:
        return {"a file path", "a file path"};
    case key_kind::group:
        return {"a group name", "a group name"};
    case key_kind::file_mode:
        return {"an octal file mode like 0660", "octal, 0600..0777"};
    case key_kind::listen:
        return {"\"\" (disabled) or host:port", "host:port, \"\" disables it"};
    case key_kind::bind:
    case key_kind::connect:
        return {"an endpoint or a sequence of endpoints",
                row.kind == key_kind::bind ? "endpoints to bind" : "endpoints to connect"};
    case key_kind::bind_one:
        return {"\"\" (none) or one endpoint to bind", "an endpoint to bind, \"\" for none"};
    case key_kind::prefixes:
        return {"a topic prefix or a sequence of them", "topic prefixes, each at most 255 bytes"};
    }
    return {};
}

config with_live_changes(const config &running, const config &next) {
    config applied = running;
    for (const key_row &row : rows) {
        const bool live =
            row.applies == key_applies::reload || (row.applies == key_applies::reload_while_set &&
                                                   is_set(row, running) && is_set(row, next));
        if (live)
            std::visit(
                [&](auto *to) {
                    *to = *std::get<const std::remove_pointer_t<decltype(to)> *>(row.at.get(next));
                },
                row.at.mut(applied));
    }
    return applied;
}

// What a reload would leave as it is running, though the file changed it.
std::vector<std::string> restart_only_changes(const config &running, const config &next) {
    const config applied = with_live_changes(running, next);
    std::vector<std::string> changed;
    for (const key_row &row : rows)
        if (std::visit(
                [&](const auto *x) { return *x != *std::get<decltype(x)>(row.at.get(next)); },
                row.at.get(applied)))
            changed.emplace_back(row.path);
    return changed;
}

} // namespace zrelay
