#include "security.hpp"

#include <array>
#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endpoint.hpp"
#include "errors.hpp"
#include "frame_guard.hpp"
#include "handshake_watch.hpp"

namespace zrelay {
namespace {

std::optional<gid_t> group_id(const std::string &name) {
    if (name.empty())
        return std::nullopt;
    group entry{};
    group *found = nullptr;
    std::vector<char> buffer(16384);
    const int rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr)
        throw config_error("security.ipc_group: no group '" + name + "' on this system" +
                           (rc != 0 ? " (" + std::generic_category().message(rc) + ")" : ""));
    return found->gr_gid;
}

// Restores the process umask when it goes; only used while the relay is built, before its
// threads run (the umask is process-wide).
class scoped_umask {
public:
    explicit scoped_umask(mode_t mask) : _previous(::umask(mask)) {}
    ~scoped_umask() { ::umask(_previous); }
    scoped_umask(const scoped_umask &) = delete;
    scoped_umask &operator=(const scoped_umask &) = delete;
    scoped_umask(scoped_umask &&) = delete;
    scoped_umask &operator=(scoped_umask &&) = delete;

private:
    mode_t _previous;
};

} // namespace

socket_security security_for(const config &cfg, const char *side) {
    const std::string which(side);
    const curve_config &curve =
        which == "ingress" ? cfg.security.ingress_curve : cfg.security.egress_curve;
    socket_security security;
    security.zap_domain = which;
    security.clients = which == "ingress" ? client_socket::ingress : client_socket::egress;
    security.handshake_timeout = cfg.security.handshake_timeout;
    security.ipc_mode = static_cast<mode_t>(cfg.security.ipc_mode);
    security.ipc_group = group_id(cfg.security.ipc_group);
    if (curve.enabled())
        security.curve = load_secret_key_file(curve.secret_key_file);
    return security;
}

void check_security_files(const config &cfg) {
    (void)security_for(cfg, "ingress");
    (void)security_for(cfg, "egress");
    for (const curve_config *curve : {&cfg.security.ingress_curve, &cfg.security.egress_curve})
        if (curve->enabled())
            (void)load_allow_list(curve->allow);
}

void secure(zmq::socket_t &socket, const socket_security &security) {
    // libzmq 4.3.4 stops its handshake timer only once a ZMTP 3 handshake is done, so on a
    // ZMTP 1.0/2.0 connection it fires anyway and cuts a working peer (fixed in 4.3.5). With
    // CURVE every peer must speak ZMTP 3 (libzmq refuses the others when ZAP is on), so the
    // deadline applies there; without it a handshake costs nothing to finish, and libzmq's own
    // default (30 s) must be turned off too.
    const auto deadline = security.curve ? security.handshake_timeout.count() : 0;
    socket.set(zmq::sockopt::handshake_ivl, static_cast<int>(deadline));
    socket.set(zmq::sockopt::maxmsgsize, security.max_frame_bytes);
    if (security.watch != nullptr)
        security.watch->watch(
            socket, security.zap_domain == "egress" ? relay_side::egress : relay_side::ingress,
            security.curve.has_value(), security.clients);
    if (!security.curve)
        return;
    socket.set(zmq::sockopt::curve_server, true);
    socket.set(zmq::sockopt::curve_secretkey, security.curve->secret_key);
    socket.set(zmq::sockopt::zap_domain, security.zap_domain);
    const int enforce = 1;
    if (zmq_setsockopt(socket.handle(), zmq_zap_enforce_domain, &enforce, sizeof enforce) != 0)
        throw zmq::error_t();
}

std::optional<ipc_socket_file> bind_with_permissions(zmq::socket_t &socket,
                                                     const std::string &endpoint,
                                                     const socket_security &security) {
    // libzmq refuses a ZMTP 1.0/2.0 greeting on a CURVE socket without telling the monitor;
    // the frame guard refuses it first, so that the handshake watch counts it.
    const zmtp3_only_listeners zmtp3_only(security.curve.has_value());
    if (!endpoint.starts_with("ipc://") || endpoint.starts_with("ipc://@")) {
        socket.bind(endpoint); // tcp://, or an abstract socket: no file to protect
        return std::nullopt;
    }
    {
        // Created owner-only; opened up to the configured mode only once its group is right.
        const scoped_umask owner_only(0177);
        socket.bind(endpoint);
    }
    const std::string bound = socket.get(zmq::sockopt::last_endpoint);
    const std::string path = bound.substr(std::string_view("ipc://").size());
    // Ours from here on, so that a failure below does not leave it behind either.
    std::optional<ipc_socket_file> file(std::in_place, path);
    const auto fail = [&](const char *what) {
        throw endpoint_error("cannot set the " + std::string(what) + " of ipc socket file '" +
                             path + "': " + std::generic_category().message(errno));
    };
    if (security.ipc_group &&
        ::chown(path.c_str(), static_cast<uid_t>(-1), *security.ipc_group) != 0)
        fail("group (security.ipc_group)");
    if (::chmod(path.c_str(), security.ipc_mode) != 0)
        fail("mode (security.ipc_mode)");
    return file;
}

attached_endpoints attach_endpoints(zmq::socket_t &socket, const char *role,
                                    const std::vector<std::string> &bind,
                                    const std::vector<std::string> &connect,
                                    const socket_security &security) {
    secure(socket, security);
    attached_endpoints attached;
    for (const auto &ep : bind) {
        try {
            socket.set(zmq::sockopt::ipv6, wants_ipv6(ep)); // read at bind: per endpoint
            if (auto file = bind_with_permissions(socket, ep, security))
                attached.files.push_back(std::move(*file));
        } catch (const zmq::error_t &e) {
            // zmq reports an address that is not this machine's as ENODEV, "No such device"; an
            // IPv6 address too where the kernel has no IPv6 (zmq retries it as IPv4).
            const char *hint = e.num() != ENODEV ? ""
                               : wants_ipv6(ep)
                                   ? " (not an address or interface of this host, or no IPv6 here)"
                                   : " (not an address or interface of this host)";
            throw endpoint_error(std::string("cannot bind ") + role + " endpoint " + ep + ": " +
                                 e.what() + hint);
        }
        attached.endpoints.push_back(socket.get(zmq::sockopt::last_endpoint));
    }
    for (const auto &ep : connect) {
        try {
            socket.set(zmq::sockopt::ipv6, wants_ipv6(ep));
            socket.connect(ep);
        } catch (const zmq::error_t &e) {
            throw endpoint_error(std::string("cannot connect ") + role + " endpoint " + ep + ": " +
                                 e.what());
        }
        attached.endpoints.push_back(ep + " (connect)");
    }
    return attached;
}

} // namespace zrelay
