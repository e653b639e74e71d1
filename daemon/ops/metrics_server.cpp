// libmicrohttpd (Debian's libmicrohttpd12) in its external-polling epoll mode, driven by a thread
// of our own. One event loop serves every connection, so an idle or trickling client costs a
// file descriptor and a bounded memory pool, never a worker: cpp-httplib's 8-thread pool let 8
// idle sockets starve /healthz, and it held every header line a client sent (issue 15). The loop
// adds the one bound MHD lacks, a deadline on the whole request, which a client sending a byte
// before each idle timeout would otherwise dodge. MHD ignores Range, so a body is never repeated.
#include "metrics_server.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.hpp"
#include "process_stats.hpp"
#include "prometheus.hpp"
#include "signaler.hpp"

namespace zrelay {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// --- the bounds (docs/security.md) --------------------------------------------------------

// Connection slots. An idle connection costs no thread here, so slots can be plenty: a local
// Prometheus and probe still get in while hundreds of idle or trickling sockets are open, even
// from their own address (a local attacker, and every client of a container's port forwarder,
// share 127.0.0.1 with the probe, so per-address limits alone cannot keep a slot free for it).
// Past the limit, new connections wait in the kernel's backlog until a slot frees.
constexpr unsigned max_connections = 512;
// One address holds at most half the slots: one remote host cannot take them all.
constexpr unsigned max_connections_per_address = 256;
// MHD's pool per connection: the request line, the headers (parsed in place) and the answer's
// headers. A request that does not fit is answered 431 and the connection closed, so one client
// holds at most this much however many header lines it sends, and all of them 16 MiB. Real
// clients send a few hundred bytes (Prometheus about 300); 32 KiB still takes an 8 KB header.
constexpr std::size_t connection_memory = std::size_t{32} * 1024;
// Headers per request: connection_memory bounds their bytes, this their number.
constexpr unsigned max_headers = 64;
// A connection that sends nothing, and takes nothing of an answer, for this long is closed
// (MHD's inactivity timeout): idle sockets give their slots back.
constexpr unsigned idle_timeout_s = 5;
// A request must be in and answered within this long of the connection opening, or of its
// previous answer: a client sending a header byte every second never goes idle.
constexpr clock::duration request_deadline = 5s;
// Connections the kernel completes before we accept them: a burst of attacking connections
// must not fill it, or the probe's SYN behind them is dropped and retried only a second later.
// They cost us nothing until accepted; the kernel caps it at net.core.somaxconn (4096).
constexpr int listen_backlog = SOMAXCONN;

// --- the listening socket -----------------------------------------------------------------

struct listener {
    int fd = -1;
    int port = 0;
    bool ipv6 = false;
};

// Binds and listens on `listen`, whose syntax config checked; endpoint_error naming it if not.
listener listen_on(const std::string &listen) {
    const auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string port = listen.substr(colon + 1);
    const auto fail = [&](const std::string &why) {
        return endpoint_error("cannot listen for metrics on " + listen + ": " + why);
    };

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo *found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
        throw fail(rc == EAI_SYSTEM ? std::generic_category().message(errno) : ::gai_strerror(rc));
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    int err = EADDRNOTAVAIL;
    // The first address that binds, as a host name may resolve to several (localhost: ::1 and
    // 127.0.0.1).
    for (const addrinfo *a = found; a != nullptr; a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        const int on = 1;
        sockaddr_storage bound{};
        socklen_t length = sizeof bound;
        // SO_REUSEADDR: a restart binds at once although the last run's connections linger.
        if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
            ::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, listen_backlog) == 0 &&
            ::getsockname(fd, static_cast<sockaddr *>(static_cast<void *>(&bound)), &length) == 0) {
            const bool ipv6 = bound.ss_family == AF_INET6;
            const in_port_t net_port =
                ipv6
                    ? static_cast<const sockaddr_in6 *>(static_cast<const void *>(&bound))
                          ->sin6_port
                    : static_cast<const sockaddr_in *>(static_cast<const void *>(&bound))->sin_port;
            return {fd, ntohs(net_port), ipv6};
        }
        err = errno;
        ::close(fd);
    }
    throw fail(std::generic_category().message(err));
}

// --- answers --------------------------------------------------------------------------------

MHD_Result answer(MHD_Connection *connection, unsigned status, std::string body,
                  const char *content_type, bool allow = false) {
    MHD_Response *response =
        MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr)
        return MHD_NO; // out of memory: MHD closes the connection
    MHD_Result rc = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (rc == MHD_YES && allow)
        rc = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (rc == MHD_YES)
        rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response); // MHD holds its own reference while it sends
    return rc;
}

bool has_body(MHD_Connection *connection) {
    const char *length =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (length != nullptr && std::string_view(length) != "0") ||
           MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr;
}

} // namespace

// Everything below runs on the server's thread, except construction and destruction (before it
// starts and after it is joined).
struct metrics_server::impl {
    // A connection MHD serves, and when it must be done with its current request.
    struct tracked {
        MHD_Connection *connection = nullptr; // nullptr: a free entry
        int fd = -1;
        clock::time_point deadline;
    };

    snapshot_fn snapshot;
    healthy_fn healthy;
    build_info build;
    signaler stop;
    // One entry per connection MHD admits (it admits at most max_connections): fixed, so
    // tracking a connection never allocates.
    std::array<tracked, max_connections> connections{};
    MHD_Daemon *daemon = nullptr;

    impl(snapshot_fn s, healthy_fn h, build_info b)
        : snapshot(std::move(s)), healthy(std::move(h)), build(std::move(b)) {}
    ~impl() {
        if (daemon != nullptr)
            MHD_stop_daemon(daemon); // closes every connection and the listening socket
    }
    impl(const impl &) = delete;
    impl &operator=(const impl &) = delete;
    impl(impl &&) = delete;
    impl &operator=(impl &&) = delete;

    void start(const listener &l) {
        // Not MHD_USE_INTERNAL_POLLING_THREAD: our loop (run()) polls MHD's epoll fd, so it can
        // enforce request_deadline between two MHD_run() calls, when no MHD code runs.
        const unsigned flags = static_cast<unsigned>(MHD_USE_EPOLL) |
                               (l.ipv6 ? static_cast<unsigned>(MHD_USE_IPv6) : 0U);
        daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &impl::on_request, this,
                                  MHD_OPTION_LISTEN_SOCKET, l.fd,               //
                                  MHD_OPTION_CONNECTION_LIMIT, max_connections, //
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, max_connections_per_address,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory,    //
                                  MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout_s,            //
                                  MHD_OPTION_NOTIFY_CONNECTION, &impl::on_connection, this, //
                                  MHD_OPTION_NOTIFY_COMPLETED, &impl::on_completed, this,   //
                                  // 0: MHD must not raise SIGPIPE itself (it sends with
                                  // MSG_NOSIGNAL, never sendfile), though zrelayd ignores it.
                                  MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 0, MHD_OPTION_END);
        // On failure the socket may or may not be closed by MHD: left alone rather than risk
        // closing a descriptor another thread has since been given; zrelayd exits anyway.
        if (daemon == nullptr)
            throw std::runtime_error("cannot start the metrics server (libmicrohttpd)");
    }

    void run() {
        pthread_setname_np(pthread_self(), "zrelay-metrics");
        const MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
        std::array<pollfd, 2> fds{{{info->epoll_fd, POLLIN, 0}, {stop.fd(), POLLIN, 0}}};
        for (;;) {
            const int rc = ::poll(fds.data(), fds.size(), wait_ms());
            if (rc < 0 && errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "poll");
            if (fds[1].revents != 0)
                return;
            if (MHD_run(daemon) != MHD_YES)
                throw std::runtime_error("libmicrohttpd failed");
            enforce_deadlines();
        }
    }

    // How long run() may sleep: until MHD's next timeout or the next request deadline.
    [[nodiscard]] int wait_ms() const {
        MHD_UNSIGNED_LONG_LONG mhd_ms = 0;
        auto wait = MHD_get_timeout(daemon, &mhd_ms) == MHD_YES ? std::chrono::milliseconds(mhd_ms)
                                                                : std::chrono::milliseconds::max();
        const auto now = clock::now();
        for (const tracked &t : connections)
            if (t.connection != nullptr && t.deadline != clock::time_point::max())
                wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                          std::max(t.deadline - now, clock::duration::zero())));
        return wait == std::chrono::milliseconds::max()
                   ? -1
                   : static_cast<int>(std::min(wait, std::chrono::milliseconds(60'000)).count());
    }

    // Shuts down the socket of every connection past its deadline; MHD then reads its end and
    // closes it, with the usual notifications. Between MHD_run() calls, so the fd is still the
    // connection's (MHD closes it only after on_connection(CLOSED) has dropped the entry).
    void enforce_deadlines() {
        const auto now = clock::now();
        for (tracked &t : connections)
            if (t.connection != nullptr && t.deadline <= now) {
                ::shutdown(t.fd, SHUT_RDWR);
                t.deadline = clock::time_point::max(); // once
            }
    }

    tracked *find(const MHD_Connection *connection) {
        for (tracked &t : connections)
            if (t.connection == connection)
                return &t;
        return nullptr;
    }

    static void on_connection(void *self, MHD_Connection *connection, void ** /*context*/,
                              MHD_ConnectionNotificationCode code) noexcept {
        auto &s = *static_cast<impl *>(self);
        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
            if (tracked *t = s.find(connection))
                *t = tracked{};
            return;
        }
        const MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        tracked *free_entry = s.find(nullptr);
        if (info != nullptr && free_entry != nullptr) // always, as MHD admits max_connections
            *free_entry = {connection, info->connect_fd, clock::now() + request_deadline};
    }

    static void on_completed(void *self, MHD_Connection *connection, void ** /*request*/,
                             MHD_RequestTerminationCode /*why*/) noexcept {
        if (tracked *t = static_cast<impl *>(self)->find(connection))
            t->deadline = clock::now() + request_deadline; // for its next request, if any
    }

    // Called once the request line and headers are in; answers at once, so MHD never waits for
    // a body: it discards what comes and closes the connection after the answer.
    static MHD_Result on_request(void *self, MHD_Connection *connection, const char *url,
                                 const char *method, const char * /*version*/,
                                 const char * /*upload*/, std::size_t * /*upload_size*/,
                                 void ** /*request*/) noexcept {
        try {
            return static_cast<impl *>(self)->route(connection, url, method);
        } catch (const std::exception &e) {
            spdlog::error("metrics server: {}", e.what());
            return MHD_NO; // MHD closes the connection
        }
    }

    MHD_Result route(MHD_Connection *connection, std::string_view path, std::string_view method) {
        static constexpr const char *text = "text/plain; charset=utf-8";
        const bool metrics = path == "/metrics";
        if (!metrics && path != "/healthz")
            return answer(connection, MHD_HTTP_NOT_FOUND, "not found\n", text);
        if (method != MHD_HTTP_METHOD_GET && method != MHD_HTTP_METHOD_HEAD)
            return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n", text,
                          true);
        if (has_body(connection))
            return answer(connection, MHD_HTTP_CONTENT_TOO_LARGE, "no request body allowed\n",
                          text);
        if (MHD_get_connection_values(connection, MHD_HEADER_KIND, nullptr, nullptr) >
            static_cast<int>(max_headers))
            return answer(connection, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                          "too many headers\n", text);
        if (metrics)
            return answer(connection, MHD_HTTP_OK,
                          render_prometheus(snapshot(), build, read_process_stats()),
                          "text/plain; version=0.0.4; charset=utf-8");
        const bool ok = healthy();
        // Links to other relays are listed, up or down, but a link that is down leaves the
        // relay healthy: it waits or drops as configured, and restarting it (what an unhealthy
        // answer leads to) would lose what it holds for the peer.
        std::string body = ok ? "ok\n" : "unavailable\n";
        for (const link_series &l : snapshot().links)
            body += fmt::format("link {} {} {}\n", l.endpoint,
                                l.direction == link_direction::forward ? "forward" : "subscribe",
                                l.connected ? "up" : "down");
        return answer(connection, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body, text);
    }
};

metrics_server::metrics_server(const std::string &listen, snapshot_fn snapshot, healthy_fn healthy,
                               build_info build)
    : _impl(std::make_unique<impl>(std::move(snapshot), std::move(healthy), std::move(build))) {
    // Bound here, on the caller's thread: a taken port is a start-up error, not a log line.
    const listener l = listen_on(listen);
    _impl->start(l);
    _port = l.port;
    _thread = std::thread([this] {
        try {
            _impl->run();
        } catch (const std::exception &e) {
            spdlog::error("metrics server stopped: {}", e.what());
        }
    });
}

metrics_server::~metrics_server() {
    _impl->stop.send();
    if (_thread.joinable())
        _thread.join();
}

} // namespace zrelay
