// endpoint: the one endpoint check of the configuration and the client tool, and which
// endpoints get ZMQ_IPV6.
#include "endpoint.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zrelay {
namespace {

// The problem endpoint_problem() finds, or a test failure if it finds none.
std::string problem_of(std::string_view endpoint, endpoint_use use = endpoint_use::bind) {
    const auto problem = endpoint_problem(endpoint, use);
    if (!problem) {
        ADD_FAILURE() << "no problem found with " << endpoint;
        return {};
    }
    return *problem;
}

TEST(endpoint, what_zmq_can_use_is_accepted) {
    for (const char *ok : {"tcp://*:5555", "tcp://*:*", "tcp://127.0.0.1:1", "tcp://host:65535",
                           "tcp://eth0:5555", "tcp://my-host.example.com:80", "tcp://[::1]:5555",
                           "tcp://[::]:5555", "ipc:///run/zrelay.sock", "ipc://@abstract"})
        EXPECT_EQ(endpoint_problem(ok, endpoint_use::bind), std::nullopt) << ok;
}

TEST(endpoint, other_transports_and_incomplete_endpoints_are_refused) {
    EXPECT_TRUE(problem_of("inproc://x").starts_with("inproc:// reaches only sockets"));
    for (const char *bad : {"", "tcp://host", "ipc://"})
        EXPECT_FALSE(problem_of(bad).empty()) << bad;
}

TEST(endpoint, ipv6_addresses_in_brackets_are_accepted) {
    for (const char *ok :
         {"tcp://[::1]:5555", "tcp://[::]:5555", "tcp://[::1]:*", "tcp://[2001:db8::7]:1",
          "tcp://[::ffff:127.0.0.1]:65535", "tcp://[fe80::1%lo]:5555", "tcp://[fe80::1%2]:5555"})
        EXPECT_EQ(endpoint_problem(ok, endpoint_use::bind), std::nullopt) << ok;
    EXPECT_EQ(endpoint_problem("tcp://[fe80::1%eth0]:5555", endpoint_use::connect), std::nullopt);
}

TEST(endpoint, malformed_ipv6_is_refused_with_the_reason) {
    EXPECT_EQ(problem_of("tcp://[::1:5555"),
              "unterminated IPv6 address (no ']') in \"tcp://[::1:5555\"");
    EXPECT_EQ(problem_of("tcp://[::1]5555"),
              "expected ':' and a port after the IPv6 address's ']' in \"tcp://[::1]5555\"");
    EXPECT_EQ(problem_of("tcp://[::1]"),
              "missing port in \"tcp://[::1]\"; expected tcp://host:port");
    EXPECT_EQ(problem_of("tcp://::1:5555"),
              "IPv6 addresses must be in brackets, e.g. [::1]:5555, got \"tcp://::1:5555\"");
    EXPECT_EQ(problem_of("tcp://::1]:5555"),
              "IPv6 addresses must be in brackets, e.g. [::1]:5555, got \"tcp://::1]:5555\"");
    EXPECT_EQ(problem_of("tcp://[1:2:3]:5555"),
              "invalid IPv6 address \"1:2:3\" in \"tcp://[1:2:3]:5555\"; expected e.g. [::1] or "
              "[fe80::1%eth0]");
    for (const char *bad : {"tcp://[]:1", "tcp://[::g]:1", "tcp://[127.0.0.1]:1",
                            "tcp://[fe80::1%]:1", "tcp://[fe80::1%a b]:1", "tcp://[*]:1"})
        EXPECT_TRUE(problem_of(bad).starts_with("invalid IPv6 address")) << bad;
    EXPECT_EQ(problem_of("tcp://[::1]:0"),
              "invalid port \"0\" in \"tcp://[::1]:0\"; expected 1..65535 or *");
}

TEST(endpoint, ipc_paths_must_be_absolute_or_abstract) {
    EXPECT_EQ(endpoint_problem("ipc:///run/zrelay/in.sock", endpoint_use::bind), std::nullopt);
    EXPECT_EQ(endpoint_problem("ipc://@zrelay-in", endpoint_use::connect), std::nullopt);
    for (const char *relative : {"ipc://relative.sock", "ipc://./in.sock", "ipc://run/in.sock"})
        for (const auto use : {endpoint_use::bind, endpoint_use::connect})
            EXPECT_EQ(problem_of(relative, use),
                      "ipc path must be absolute (ipc:///run/zrelay/in.sock) or abstract "
                      "(ipc://@name); a relative one depends on the working directory, got \"" +
                          std::string(relative) + "\"");
    EXPECT_EQ(problem_of("ipc://@"), "an abstract ipc socket needs a name after the @, got "
                                     "\"ipc://@\"");
    // libzmq 4.3.4 puts it in a new directory each start, relative to the working directory
    // unless TMPDIR is set.
    EXPECT_TRUE(problem_of("ipc://*").starts_with("ipc://* is not accepted: libzmq would make up"));
}

TEST(endpoint, connect_endpoints_cannot_be_wildcards) {
    EXPECT_EQ(endpoint_problem("tcp://*:5555", endpoint_use::bind), std::nullopt);
    EXPECT_EQ(problem_of("tcp://*:5555", endpoint_use::connect),
              "a connect endpoint needs a definite address, not a wildcard, got \"tcp://*:5555\"");
    EXPECT_TRUE(problem_of("tcp://[::1]:*", endpoint_use::connect).starts_with("a connect"));
}

TEST(endpoint, ipv6_is_wanted_for_bracketed_and_wildcard_hosts_only) {
    for (const char *v6 : {"tcp://[::1]:5555", "tcp://[::]:1", "tcp://*:5555", "tcp://*:*"})
        EXPECT_TRUE(wants_ipv6(v6)) << v6;
    // Names and interfaces stay IPv4: libzmq would take a name's first IPv6 address, and an
    // interface's IPv6 address only.
    for (const char *v4 : {"tcp://127.0.0.1:5555", "tcp://localhost:5555", "tcp://eth0:5555",
                           "ipc:///run/zrelay/in.sock", "ipc://@x"})
        EXPECT_FALSE(wants_ipv6(v4)) << v4;
}

} // namespace
} // namespace zrelay
