#include "metrics.hpp"

namespace zrelay {

void metrics_snapshot::add(const thread_counters &c) noexcept {
    received += c.received.value();
    bytes_received += c.bytes_received.value();
    published += c.published.value();
    bytes_published += c.bytes_published.value();
    for (std::size_t i = 0; i < invalid.size(); ++i)
        invalid[i] += c.invalid[i].value();
    for (std::size_t side = 0; side < relay_side_count; ++side)
        for (std::size_t reason = 0; reason < refusal_reason_count; ++reason)
            auth_failures.at(side).at(reason) += c.auth_failures.at(side).at(reason).value();
    dead_letters += c.dead_letters.value();
    notices += c.notices.value();
    upstream_gaps += c.upstream_gaps.value();
    upstream_missing += c.upstream_missing.value();
    for (std::size_t i = 0; i < replay_requests.size(); ++i)
        replay_requests.at(i) += c.replay_requests.at(i).value();
    replayed += c.replayed.value();
    for (std::size_t i = 0; i < client_socket_count; ++i)
        clients.at(i) += static_cast<std::int64_t>(c.accepted.at(i).value()) -
                         static_cast<std::int64_t>(c.closed.at(i).value());
    nodrop_wait_ns += c.nodrop_wait_ns.value();
}

std::string_view to_string(client_socket socket) noexcept {
    switch (socket) {
    case client_socket::ingress:
        return "ingress";
    case client_socket::egress:
        return "egress";
    case client_socket::replay:
        return "replay";
    case client_socket::dead_letter:
        return "dead_letter";
    }
    return "?";
}

std::uint64_t metrics_snapshot::invalid_total() const noexcept {
    std::uint64_t total = 0;
    for (const auto n : invalid)
        total += n;
    return total;
}

} // namespace zrelay
