// security: what a relay socket is given before it binds or connects (CURVE server keys and ZAP
// domain, the handshake timeout, the inbound frame limit, a watch on its refused handshakes) and
// the permissions of the ipc socket files it binds.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <zmq.hpp>

#include "config.hpp"
#include "ipc_socket_file.hpp"
#include "keys.hpp"
#include "metrics.hpp"

namespace zrelay {
class handshake_watch;
}

namespace zrelay {

// libzmq 4.3.4 ships ZMQ_ZAP_ENFORCE_DOMAIN only in its draft API, but honours it in release
// builds: with it, a CURVE socket whose ZAP handler is missing refuses every client (fails
// closed) rather than letting all in.
inline constexpr int zmq_zap_enforce_domain = 93;

struct socket_security {
    std::optional<curve_keypair> curve; // set: a CURVE server with this key pair
    std::string zap_domain;             // "ingress" or "egress": which allow-list applies
    std::chrono::milliseconds handshake_timeout{5000}; // applied with CURVE only (secure())
    std::int64_t max_frame_bytes = -1; // ZMQ_MAXMSGSIZE: a bigger inbound frame drops the peer
    mode_t ipc_mode = 0660;
    std::optional<gid_t> ipc_group;
    // Counts the socket's refused handshakes as zap_domain's side, and its connections as
    // `clients`', if set (the relay's).
    handshake_watch *watch = nullptr;
    client_socket clients = client_socket::ingress;
};

// The security of one side from the config: loads its secret key file (config_error naming the
// file) and resolves security.ipc_group (config_error if there is no such group).
[[nodiscard]] socket_security security_for(const config &cfg, const char *side);

// Everything security_for() reads, and the allow-lists, read and checked: --check-config runs
// it so that a key file the relay could not use fails the check, not the restart.
void check_security_files(const config &cfg);

// Sets the options on `socket`; call before any bind or connect.
void secure(zmq::socket_t &socket, const socket_security &security);

// Binds an ipc:// endpoint so that its socket file never has more than `security`'s mode and
// group allow, not even between bind and chmod; other endpoints are bound as they are. With
// CURVE, the listener takes ZMTP 3 peers only, visibly (frame_guard.hpp). Returns the socket file
// to remove at the end (none for tcp:// and abstract sockets). Throws zmq::error_t from bind,
// endpoint_error if the file's mode or group cannot be set.
[[nodiscard]] std::optional<ipc_socket_file> bind_with_permissions(zmq::socket_t &socket,
                                                                   const std::string &endpoint,
                                                                   const socket_security &security);

// What attach_endpoints() made: the endpoints as bound (ZMQ_LAST_ENDPOINT; "<ep> (connect)" for
// the connected ones), and the ipc socket files it bound, removed when this goes.
struct attached_endpoints {
    std::vector<std::string> endpoints;
    std::vector<ipc_socket_file> files;
};

// Secures `socket` (see security.hpp), then binds or connects it to each endpoint, with
// ZMQ_IPV6 where the endpoint wants it (endpoint.hpp); throws
// endpoint_error("cannot bind <role> endpoint <ep>: <reason>").
[[nodiscard]] attached_endpoints attach_endpoints(zmq::socket_t &socket, const char *role,
                                                  const std::vector<std::string> &bind,
                                                  const std::vector<std::string> &connect,
                                                  const socket_security &security);

} // namespace zrelay
