// endpoint: what zrelay accepts as a zmq endpoint, checked in one place for the configuration
// (ingress, egress, dead letters, metrics.listen) and the client tool alike, and which endpoints
// need ZMQ_IPV6 on the socket that binds or connects them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zrelay {

enum class endpoint_use { bind, connect };

// What is wrong with `endpoint` for `use`, or nothing; the message quotes the endpoint and the
// caller adds where it came from (a config key, a command-line option). Accepted: tcp://host:port
// (host a name, an IPv4 address, an interface name, or an IPv6 address in brackets, with a zone
// id for a link-local one: [fe80::1%eth0]; for bind also "*" for the host or the port),
// ipc:///absolute/path, ipc://@abstract-name, and for bind ipc://* (libzmq picks a path).
[[nodiscard]] std::optional<std::string> endpoint_problem(std::string_view endpoint,
                                                          endpoint_use use);

// What is wrong with "host:port", or nothing. `whole` is the value as the user wrote it (with
// any tcp://) and `what` the form expected, both for the message. `wildcards` allows zmq's "*"
// for the host (all interfaces) and the port (an ephemeral one).
[[nodiscard]] std::optional<std::string> host_port_problem(std::string_view value,
                                                           std::string_view whole,
                                                           std::string_view what, bool wildcards);

// Whether the socket needs ZMQ_IPV6 to bind or connect `endpoint` (an endpoint that passed
// endpoint_problem): a tcp:// one whose host is an IPv6 address in brackets, or "*", which
// with it listens on IPv6 and IPv4 alike (libzmq falls back to IPv4 alone where the kernel has
// no IPv6). Names and IPv4 addresses stay IPv4: with ZMQ_IPV6 libzmq would take a name's first
// IPv6 address, where the peer may listen on IPv4 only, and bind an interface's IPv6 address
// rather than its IPv4 one.
[[nodiscard]] bool wants_ipv6(std::string_view endpoint);

} // namespace zrelay
