#include "prometheus.hpp"

#include <string_view>

#include <fmt/format.h>

namespace zrelay {

namespace {

void family(std::string &out, std::string_view name, std::string_view type, std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <typename N>
void sample(std::string &out, std::string_view name, N value, std::string_view labels = {}) {
    out.append(name);
    if (!labels.empty())
        out.append("{").append(labels).append("}");
    // fmt's shortest form: integers exact, a double as 0.37 rather than to_string's 0.370000.
    out.append(" ").append(fmt::format("{}", value)).append("\n");
}

// A label value as the exposition format wants it: backslash, double quote and newline escaped.
std::string label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\' || c == '"')
            out.push_back('\\');
        if (c == '\n') {
            out.append("\\n");
            continue;
        }
        out.push_back(c);
    }
    return out;
}

void render_retention(std::string &out, const metrics_snapshot &s) {
    family(out, "zrelay_retained_bytes", "gauge",
           "Bytes of the messages held for replay (retention.max_bytes bounds them).");
    sample(out, "zrelay_retained_bytes", s.retained_bytes);
    family(out, "zrelay_retained_messages", "gauge", "Messages held for replay.");
    sample(out, "zrelay_retained_messages", s.retained_messages);
    family(out, "zrelay_retention_evictions_total", "counter",
           "Messages evicted from retention to stay within retention.max_bytes.");
    sample(out, "zrelay_retention_evictions_total", s.evicted);
    family(out, "zrelay_replay_requests_total", "counter",
           "Replay requests answered, by result (the ReplayEnd status).");
    // Every result is always present, as for zrelay_messages_invalid_total.
    for (std::size_t i = 1; i < replay_status_count; ++i)
        sample(out, "zrelay_replay_requests_total", s.replay_requests.at(i),
               std::string("result=\"") +
                   std::string(replay_status_name(static_cast<replay_status>(i))) + "\"");
    family(out, "zrelay_replayed_messages_total", "counter",
           "Messages sent to replay clients (a replayed message counts each time it is sent).");
    sample(out, "zrelay_replayed_messages_total", s.replayed);
}

void render_links(std::string &out, const metrics_snapshot &s) {
    const auto labels = [](const link_series &l) {
        return std::string("link=\"") + label_value(l.endpoint) + "\",direction=\"" +
               (l.direction == link_direction::forward ? "forward" : "subscribe") + "\"";
    };
    family(out, "zrelay_link_messages_total", "counter",
           "Messages over each link to another relay: pushed to an egress.forward endpoint, or "
           "taken from an ingress.subscribe one.");
    for (const auto &l : s.links)
        sample(out, "zrelay_link_messages_total", l.messages, labels(l));
    family(out, "zrelay_link_dropped_total", "counter",
           "Messages not forwarded because the link was full (egress.nodrop: false).");
    for (const auto &l : s.links)
        if (l.direction == link_direction::forward)
            sample(out, "zrelay_link_dropped_total", l.dropped, labels(l));
    family(out, "zrelay_link_missing_total", "counter",
           "Messages the upstream relay published that never arrived over the link (gaps in "
           "its sequences), each announced on $zrelay/drops.");
    for (const auto &l : s.links)
        if (l.direction == link_direction::subscribe)
            sample(out, "zrelay_link_missing_total", l.missing, labels(l));
    family(out, "zrelay_link_gaps_total", "counter",
           "Gaps in the upstream relay's sequences seen over the link.");
    for (const auto &l : s.links)
        if (l.direction == link_direction::subscribe)
            sample(out, "zrelay_link_gaps_total", l.gaps, labels(l));
    family(out, "zrelay_link_upstream_restarts_total", "counter",
           "Times the relay at the other end of the link was seen restarted (a new instance): "
           "what it held when it stopped is lost uncounted, and is announced on $zrelay/drops.");
    for (const auto &l : s.links)
        if (l.direction == link_direction::subscribe)
            sample(out, "zrelay_link_upstream_restarts_total", l.restarts, labels(l));
    family(out, "zrelay_link_connected", "gauge",
           "1 while the link's connection is up (its handshake done), else 0.");
    for (const auto &l : s.links)
        sample(out, "zrelay_link_connected", l.connected ? 1 : 0, labels(l));
}

// The process collector of the official client libraries (Go, Python): same names, types and
// help, so that the usual dashboards and alerts work on zrelayd unchanged.
void render_process(std::string &out, const process_stats &p) {
    family(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.");
    sample(out, "process_cpu_seconds_total", p.cpu_seconds);
    if (p.open_fds) {
        family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
        sample(out, "process_open_fds", *p.open_fds);
    }
    if (p.max_fds) {
        family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        sample(out, "process_max_fds", *p.max_fds);
    }
    family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    sample(out, "process_virtual_memory_bytes", p.virtual_bytes);
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    sample(out, "process_resident_memory_bytes", p.resident_bytes);
    family(out, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    sample(out, "process_start_time_seconds", p.start_time_seconds);
    family(out, "process_threads", "gauge", "Number of OS threads in the process.");
    sample(out, "process_threads", p.threads);
}

} // namespace

std::string render_prometheus(const metrics_snapshot &s, const build_info &build,
                              const std::optional<process_stats> &process) {
    std::string out;
    out.reserve(4096 + s.topics.size() * 64);
    family(out, "zrelay_messages_received_total", "counter",
           "Messages taken from the ingress PULL sockets, valid or not.");
    sample(out, "zrelay_messages_received_total", s.received);
    family(out, "zrelay_received_bytes_total", "counter", "Bytes of the messages received.");
    sample(out, "zrelay_received_bytes_total", s.bytes_received);
    // The names before the unit came last, as the Prometheus naming conventions put it: kept
    // for one release so that dashboards and alerts can move (docs/monitoring/README.md, Renamed
    // metrics).
    family(out, "zrelay_bytes_received_total", "counter",
           "Deprecated: use zrelay_received_bytes_total; removed in the next release.");
    sample(out, "zrelay_bytes_received_total", s.bytes_received);
    family(out, "zrelay_messages_published_total", "counter",
           "Messages published on the egress XPUB sockets.");
    sample(out, "zrelay_messages_published_total", s.published);
    family(out, "zrelay_published_bytes_total", "counter",
           "Bytes of the DataMessage frames published (topic frames not counted).");
    sample(out, "zrelay_published_bytes_total", s.bytes_published);
    family(out, "zrelay_bytes_published_total", "counter",
           "Deprecated: use zrelay_published_bytes_total; removed in the next release.");
    sample(out, "zrelay_bytes_published_total", s.bytes_published);
    family(out, "zrelay_messages_invalid_total", "counter",
           "Messages refused and dropped, by reason.");
    // Every reason is always present, so a rate() over it never starts from a missing series.
    for (std::size_t i = 1; i < invalid_reason_count; ++i) {
        const std::string labels = std::string("reason=\"") +
                                   std::string(to_string(static_cast<invalid_reason>(i))) + "\"";
        sample(out, "zrelay_messages_invalid_total", s.invalid[i], labels);
    }
    family(out, "zrelay_topic_messages_total", "counter",
           "Messages published, by topic: the first metrics.max_topic_labels topics seen have a "
           "series each, every other topic counts under topic=\"_other\".");
    for (const auto &t : s.topics)
        sample(out, "zrelay_topic_messages_total", t.messages,
               "topic=\"" + label_value(t.topic) + "\"");
    sample(out, "zrelay_topic_messages_total", s.topics_other, "topic=\"_other\"");
    family(out, "zrelay_dead_letters_total", "counter",
           "Refused messages sent to the dead-letter endpoint (invalid.dead_letter).");
    sample(out, "zrelay_dead_letters_total", s.dead_letters);
    family(out, "zrelay_drop_notices_total", "counter", "Drop notices published on $zrelay/drops.");
    sample(out, "zrelay_drop_notices_total", s.notices);
    family(out, "zrelay_auth_failures_total", "counter",
           "Handshakes refused, by side and reason: unknown_key (a CURVE key not in the "
           "allow-list), mechanism (not the side's security mechanism), cryptographic (the "
           "wrong server key), malformed (not ZMTP 3 where CURVE requires it, or a broken "
           "handshake), incomplete (closed or past security.handshake_timeout_ms before "
           "finishing; sides with CURVE only).");
    // Every side and reason is always present, as for zrelay_messages_invalid_total.
    for (std::size_t side = 0; side < relay_side_count; ++side)
        for (std::size_t reason = 0; reason < refusal_reason_count; ++reason)
            sample(out, "zrelay_auth_failures_total", s.auth_failures.at(side).at(reason),
                   std::string("side=\"") + std::string(to_string(static_cast<relay_side>(side))) +
                       "\",reason=\"" +
                       std::string(to_string(static_cast<refusal_reason>(reason))) + "\"");
    family(out, "zrelay_connections_dropped_total", "counter",
           "Connections dropped because one message passed 64 frames or twice "
           "ingress.max_message_bytes before its last frame.");
    sample(out, "zrelay_connections_dropped_total", s.connections_dropped);
    family(out, "zrelay_upstream_gaps_total", "counter",
           "Gaps in the sequences of the relays this one takes messages from (egress.forward "
           "into its ingress, or ingress.subscribe), each announced on $zrelay/drops.");
    sample(out, "zrelay_upstream_gaps_total", s.upstream_gaps);
    family(out, "zrelay_upstream_missing_total", "counter",
           "Messages upstream relays published that never arrived here (the gaps' sizes).");
    sample(out, "zrelay_upstream_missing_total", s.upstream_missing);
    if (s.pipelined) {
        family(out, "zrelay_inflight", "gauge",
               "Messages received and not yet published or dropped (bounded by max_inflight).");
        sample(out, "zrelay_inflight", s.inflight);
        family(out, "zrelay_inflight_max", "gauge", "pipeline.max_inflight.");
        sample(out, "zrelay_inflight_max", s.max_inflight);
    }
    family(out, "zrelay_subscriptions", "gauge",
           "Distinct topic prefixes subscribed to on the egress sockets.");
    sample(out, "zrelay_subscriptions", s.subscriptions);
    family(out, "zrelay_clients_connected", "gauge",
           "Client connections open, by socket: ingress (producers), egress (subscribers), "
           "replay, dead_letter; from accept to close, whether or not the handshake passed.");
    for (std::size_t i = 0; i < client_socket_count; ++i)
        sample(out, "zrelay_clients_connected", s.clients.at(i),
               std::string("socket=\"") + std::string(to_string(static_cast<client_socket>(i))) +
                   "\"");
    family(out, "zrelay_nodrop_wait_seconds_total", "counter",
           "Seconds publishing waited for a subscriber at its high-water mark (egress.nodrop): "
           "meanwhile nothing is published to anyone and producers are held back.");
    sample(out, "zrelay_nodrop_wait_seconds_total", static_cast<double>(s.nodrop_wait_ns) / 1e9);
    family(out, "zrelay_draining", "gauge", "1 while the relay drains before exiting.");
    sample(out, "zrelay_draining", s.draining ? 1 : 0);
    if (s.retention)
        render_retention(out, s);
    if (!s.links.empty())
        render_links(out, s);
    family(out, "zrelay_build_info", "gauge",
           "A metric with a constant '1' value labeled by the version and git commit zrelayd "
           "was built from.");
    sample(out, "zrelay_build_info", 1,
           "version=\"" + label_value(build.version) + "\",commit=\"" + label_value(build.commit) +
               "\"");
    if (process)
        render_process(out, *process);
    return out;
}

} // namespace zrelay
