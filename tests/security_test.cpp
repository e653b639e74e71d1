// security: socket options the relay's sockets get, and ipc socket file permissions.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zmq.hpp>

#include "config.hpp"
#include "errors.hpp"
#include "ipc_socket_file.hpp"
#include "keys.hpp"
#include "security.hpp"

using namespace zrelay;
namespace fs = std::filesystem;

// ZMQ_ZAP_ENFORCE_DOMAIN: a CURVE server with no ZAP handler in its context lets nobody in,
// not even a client that knows its key (without the option, libzmq would let everyone in).
TEST(security, curve_without_a_zap_handler_fails_closed) {
    zmq::context_t context(1);
    const curve_keypair server = generate_curve_keypair();
    const curve_keypair client = generate_curve_keypair();
    socket_security security;
    security.curve = server;
    security.zap_domain = "ingress";
    zmq::socket_t pull(context, zmq::socket_type::pull);
    pull.set(zmq::sockopt::linger, 0);
    pull.set(zmq::sockopt::rcvtimeo, 500);
    secure(pull, security);
    pull.bind("tcp://127.0.0.1:*");
    zmq::socket_t push(context, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 0);
    push.set(zmq::sockopt::curve_serverkey, server.public_key);
    push.set(zmq::sockopt::curve_publickey, client.public_key);
    push.set(zmq::sockopt::curve_secretkey, client.secret_key);
    push.connect(pull.get(zmq::sockopt::last_endpoint));
    (void)push.send(zmq::str_buffer("let me in"), zmq::send_flags::dontwait);
    zmq::message_t got;
    EXPECT_FALSE(pull.recv(got)) << "delivered with no ZAP handler: " << got.to_string();
}

TEST(security, the_options_reach_the_socket) {
    zmq::context_t context(1);
    socket_security security;
    security.handshake_timeout = std::chrono::milliseconds(1234);
    security.max_frame_bytes = 4321;
    zmq::socket_t s(context, zmq::socket_type::pull);
    secure(s, security);
    // Without CURVE no handshake deadline, not even libzmq's default: libzmq 4.3.4 would cut
    // working ZMTP 1.0/2.0 peers at it.
    EXPECT_EQ(s.get(zmq::sockopt::handshake_ivl), 0);
    EXPECT_EQ(s.get(zmq::sockopt::maxmsgsize), 4321);
    EXPECT_FALSE(s.get(zmq::sockopt::curve_server));
    security.curve = generate_curve_keypair();
    security.zap_domain = "egress";
    secure(s, security);
    EXPECT_TRUE(s.get(zmq::sockopt::curve_server));
    EXPECT_EQ(s.get(zmq::sockopt::zap_domain), "egress");
    EXPECT_EQ(s.get(zmq::sockopt::handshake_ivl), 1234);
}

TEST(security, ipc_socket_files_get_the_mode_whatever_the_umask) {
    const fs::path dir = fs::path(testing::TempDir()) / "zrelay-ipc-mode";
    fs::remove_all(dir);
    fs::create_directories(dir);
    zmq::context_t context(1);
    for (const mode_t mode : {0600, 0660, 0666}) {
        const mode_t old_umask = ::umask(0);
        socket_security security;
        security.ipc_mode = mode;
        zmq::socket_t s(context, zmq::socket_type::pull);
        s.set(zmq::sockopt::linger, 0);
        const std::string path = (dir / ("s" + std::to_string(mode))).string();
        const auto file = bind_with_permissions(s, "ipc://" + path, security);
        EXPECT_EQ(::umask(old_umask), 0U) << "the umask was not restored";
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777U, mode);
    }
    fs::remove_all(dir);
}

TEST(security, a_bound_ipc_socket_file_goes_with_its_owner_and_only_its_own) {
    const fs::path dir = fs::path(testing::TempDir()) / "zrelay-ipc-remove";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "s").string();
    const auto present = [&] { return fs::exists(fs::symlink_status(path)); };
    zmq::context_t context(1);
    std::vector<zmq::socket_t> sockets;
    const auto bind = [&] {
        zmq::socket_t &s = sockets.emplace_back(context, zmq::socket_type::pull);
        s.set(zmq::sockopt::linger, 0);
        return bind_with_permissions(s, "ipc://" + path, socket_security{});
    };
    {
        const auto file = bind();
        ASSERT_TRUE(file);
        EXPECT_EQ(file->path(), path);
        EXPECT_TRUE(present());
    }
    EXPECT_FALSE(present()) << "the socket file outlived its owner";

    // A second socket binds the path: libzmq unlinks the file there and makes its own, which the
    // first owner, going, must leave alone.
    std::optional<ipc_socket_file> first = bind();
    const std::optional<ipc_socket_file> second = bind();
    first.reset();
    EXPECT_TRUE(present()) << "removed a socket file that another socket had made";
    EXPECT_FALSE(bind_with_permissions(sockets.front(), "ipc://@zrelay-security-test", {}));
    EXPECT_FALSE(bind_with_permissions(sockets.front(), "tcp://127.0.0.1:*", {}));
    sockets.clear();
    fs::remove_all(dir);
}

TEST(security, an_unknown_ipc_group_is_a_config_error) {
    config cfg;
    cfg.security.ipc_group = "no-such-group-zrelay";
    try {
        (void)security_for(cfg, "ingress");
        FAIL() << "no error";
    } catch (const config_error &e) {
        EXPECT_STREQ(e.what(),
                     "security.ipc_group: no group 'no-such-group-zrelay' on this system");
    }
    cfg.security.ipc_group = "root";
    EXPECT_EQ(security_for(cfg, "ingress").ipc_group, std::optional<gid_t>(0));
}
