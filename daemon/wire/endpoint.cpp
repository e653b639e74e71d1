#include "endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "quoting.hpp"

namespace zrelay {
namespace {

// sizeof(sockaddr_un::sun_path) is 108 on Linux and zmq needs one byte of it for the NUL.
constexpr std::size_t max_ipc_path_bytes = 107;
constexpr int max_port = 65535;

// A host name, an IPv4 address or an interface name (zmq binds to "eth0:5555").
bool plausible_host(std::string_view host) {
    const auto ok = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    };
    return std::all_of(host.begin(), host.end(), ok);
}

// Decimal digits only: "0x10", "+5" and " 5" are not what an operator means by a port.
std::optional<int> to_port(std::string_view text) {
    int value = 0;
    const char *const last = text.data() + text.size();
    const auto [end, error] = std::from_chars(text.data(), last, value);
    if (error != std::errc{} || end != last || value < 1 || value > max_port)
        return std::nullopt;
    return value;
}

// What is inside an IPv6 endpoint's brackets: an address, and for a link-local one the zone
// (an interface name or index) after a '%', as libzmq's resolver reads it. Checked with
// inet_pton, so "[1:2:3]" or "[::g]" fails here rather than at bind.
bool valid_ipv6(std::string_view inside) {
    const std::size_t percent = inside.find('%');
    const std::string address(inside.substr(0, percent));
    in6_addr parsed{};
    if (::inet_pton(AF_INET6, address.c_str(), &parsed) != 1)
        return false;
    if (percent == std::string_view::npos)
        return true;
    const std::string_view zone = inside.substr(percent + 1);
    return !zone.empty() && plausible_host(zone);
}

} // namespace

std::optional<std::string> host_port_problem(std::string_view value, std::string_view whole,
                                             std::string_view what, bool wildcards) {
    const std::string shown = quote(whole);
    std::string_view rest;
    if (value.starts_with('[')) {
        const std::size_t close = value.find(']');
        if (close == std::string_view::npos)
            return "unterminated IPv6 address (no ']') in " + shown;
        const std::string_view inside = value.substr(1, close - 1);
        if (!valid_ipv6(inside))
            return "invalid IPv6 address " + quote(inside) + " in " + shown +
                   "; expected e.g. [::1] or [fe80::1%eth0]";
        rest = value.substr(close + 1);
        if (rest.empty())
            return "missing port in " + shown + "; expected " + std::string(what);
        if (!rest.starts_with(':'))
            return "expected ':' and a port after the IPv6 address's ']' in " + shown;
        rest.remove_prefix(1);
    } else {
        const std::size_t colon = value.rfind(':');
        if (colon == std::string_view::npos)
            return "missing port in " + shown + "; expected " + std::string(what);
        const std::string_view host = value.substr(0, colon);
        rest = value.substr(colon + 1);
        if (host.find(':') != std::string_view::npos || host.find(']') != std::string_view::npos)
            return "IPv6 addresses must be in brackets, e.g. [::1]:5555, got " + shown;
        if (host.find(';') != std::string_view::npos)
            return "source-address endpoints (\"source;host:port\") are not supported, got " +
                   shown;
        if (host.empty())
            return "missing host in " + shown + "; expected " + std::string(what);
        if (!(wildcards && host == "*") && !plausible_host(host))
            return "invalid host " + quote(host) + " in " + shown;
    }
    if (wildcards && rest == "*")
        return std::nullopt;
    if (!to_port(rest))
        return "invalid port " + quote(rest) + " in " + shown + "; expected 1..65535" +
               (wildcards ? " or *" : "");
    return std::nullopt;
}

std::optional<std::string> endpoint_problem(std::string_view endpoint, endpoint_use use) {
    const std::size_t sep = endpoint.find("://");
    if (sep == std::string_view::npos)
        return "expected an endpoint like tcp://host:port or ipc:///path, got " + quote(endpoint);
    const std::string_view transport = endpoint.substr(0, sep);
    const std::string_view address = endpoint.substr(sep + 3);
    // zmq's wildcards pick an interface, a port or a path to listen on; there is nothing to dial.
    const bool wildcard =
        transport == "tcp" ? address.find('*') != std::string_view::npos : address == "*";
    if (transport == "tcp") {
        if (auto problem = host_port_problem(address, endpoint, "tcp://host:port", true))
            return problem;
    } else if (transport == "ipc") {
        if (address.empty())
            return "ipc:// needs a path, got " + quote(endpoint);
        // zmq takes the endpoint as a C string (a NUL ends it early), and a control character
        // in a socket's file name is a typo or an attack, never intended.
        if (has_control_character(address))
            return "ipc path holds a control character, got " + quote(endpoint);
        if (address.size() > max_ipc_path_bytes)
            return "ipc path is " + std::to_string(address.size()) +
                   " bytes, longer than the 107 a Unix socket address holds (sun_path), got " +
                   quote(endpoint);
        if (address == "@")
            return "an abstract ipc socket needs a name after the @, got " + quote(endpoint);
        // libzmq 4.3.4 makes ipc://* a new directory at each start, in $TMPDIR or else the
        // working directory (seen: "ipc://tmp8TZUqo/socket"), that only the relay's user may
        // enter: no client could be told where it is, or get in.
        if (wildcard)
            return "ipc://* is not accepted: libzmq would make up a path at each start (relative "
                   "to the working directory unless TMPDIR is set) that clients cannot know; "
                   "bind a path such as ipc:///run/zrelay/in.sock";
        // A relative path is relative to whatever the working directory is (/ under systemd),
        // so the relay and its clients would silently disagree on where the socket is.
        if (!address.starts_with('/') && !address.starts_with('@'))
            return "ipc path must be absolute (ipc:///run/zrelay/in.sock) or abstract "
                   "(ipc://@name); a relative one depends on the working directory, got " +
                   quote(endpoint);
    } else if (transport == "inproc") {
        return "inproc:// reaches only sockets inside one process, so no producer or subscriber "
               "could use it; only tcp:// and ipc:// are accepted, got " +
               quote(endpoint);
    } else {
        return "unsupported transport " + quote(transport) +
               "; only tcp:// and ipc:// are accepted, got " + quote(endpoint);
    }
    if (use == endpoint_use::connect && wildcard)
        return "a connect endpoint needs a definite address, not a wildcard, got " +
               quote(endpoint);
    return std::nullopt;
}

bool wants_ipv6(std::string_view endpoint) {
    constexpr std::string_view tcp = "tcp://";
    if (!endpoint.starts_with(tcp))
        return false;
    const std::string_view address = endpoint.substr(tcp.size());
    return address.starts_with('[') || address.starts_with("*:");
}

} // namespace zrelay
