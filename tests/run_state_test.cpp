#include "run_state.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace zrelay {
namespace {

run_state sample() {
    return {::getpid(),
            0x0123456789abcdefULL,
            "1.2.3",
            "tcp://0.0.0.0:5555",
            "ipc:///run/zrelay/out",
            "/etc/zrelay/in.key",
            ""};
}

// A fresh directory under the test's temporary directory, removed at the end.
class run_state_file_test : public testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "run-state-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        _dir = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(_dir); }
    std::string _dir;
};

TEST(run_state, reads_back_what_it_writes) {
    const run_state state = sample();
    EXPECT_EQ(parse_run_state(format_run_state(state)), state);
    const std::string text = format_run_state(state);
    EXPECT_NE(text.find("instance=0123456789abcdef\n"), std::string::npos) << text;
    EXPECT_NE(text.find("ingress=tcp://0.0.0.0:5555\n"), std::string::npos) << text;
}

TEST(run_state, ignores_keys_it_does_not_know) {
    const run_state state = sample();
    EXPECT_EQ(parse_run_state(format_run_state(state) + "from_a_newer_zrelayd=1\n"), state);
}

TEST(run_state, refuses_what_is_missing_or_malformed) {
    EXPECT_THROW((void)parse_run_state(""), std::runtime_error);
    EXPECT_THROW((void)parse_run_state("pid=12\ninstance=1\ningress=tcp://a:1\n"),
                 std::runtime_error); // no egress
    EXPECT_THROW((void)parse_run_state("pid=x\ninstance=1\ningress=a\negress=b\n"),
                 std::runtime_error);
    EXPECT_THROW((void)parse_run_state("pid=12\ninstance=0\ningress=a\negress=b\n"),
                 std::runtime_error);
    EXPECT_THROW((void)parse_run_state("pid=12\ninstance=1\ningress\negress=b\n"),
                 std::runtime_error);
}

TEST(run_state, refuses_to_record_a_value_with_a_newline) {
    run_state state = sample();
    state.egress_secret_key_file = "/etc/x\ningress=tcp://evil:1";
    EXPECT_THROW((void)format_run_state(state), std::runtime_error);
}

TEST_F(run_state_file_test, written_whole_while_alive_and_removed_after) {
    {
        const run_state_file file(_dir, sample());
        EXPECT_EQ(read_run_state(_dir), sample());
        EXPECT_FALSE(std::filesystem::exists(run_state_path(_dir) + ".new"));
    }
    EXPECT_FALSE(std::filesystem::exists(run_state_path(_dir)));
}

TEST_F(run_state_file_test, leaves_a_file_another_process_has_replaced) {
    run_state other = sample();
    other.pid = ::getpid() + 1;
    {
        const run_state_file file(_dir, sample());
        std::ofstream(run_state_path(_dir)) << format_run_state(other);
    }
    EXPECT_EQ(read_run_state(_dir), other);
}

TEST_F(run_state_file_test, a_directory_that_cannot_be_written_is_named) {
    const std::string missing = _dir + "/missing";
    try {
        const run_state_file file(missing, sample());
        FAIL() << "wrote into a directory that does not exist";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find(missing + "/zrelayd.state"), std::string::npos)
            << e.what();
    }
    try {
        (void)read_run_state(missing);
        FAIL() << "read a file that does not exist";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find(missing + "/zrelayd.state"), std::string::npos)
            << e.what();
    }
    std::ofstream(run_state_path(_dir)) << "pid=1\n";
    try {
        (void)read_run_state(_dir);
        FAIL() << "read a file with no instance";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("is malformed: no instance="), std::string::npos)
            << e.what();
    }
}

} // namespace
} // namespace zrelay
