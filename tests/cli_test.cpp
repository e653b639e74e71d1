#include "cli.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"

namespace zrelay {
namespace {

cli_result parse(std::vector<const char *> args) {
    args.insert(args.begin(), "zrelayd");
    return parse_cli(static_cast<int>(args.size()), args.data());
}

TEST(cli, no_arguments_means_the_embedded_config) {
    const auto r = parse({});
    EXPECT_FALSE(r.exit_now);
    EXPECT_FALSE(r.options.config_path);
    EXPECT_FALSE(r.options.check_config);
}

TEST(cli, version_and_help_exit_zero) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse({"--version"}).exit_now, 0);
    EXPECT_NE(testing::internal::GetCapturedStdout().find("zrelayd "), std::string::npos);
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse({"--help"}).exit_now, 0);
    EXPECT_NE(testing::internal::GetCapturedStdout().find("--config"), std::string::npos);
}

TEST(cli, unknown_option_is_a_usage_error) {
    EXPECT_THROW(parse({"--frobnicate"}), usage_error);
}

TEST(cli, a_missing_config_file_is_left_to_the_loader) {
    // The loader reports it as a configuration error (exit 78), naming the file.
    EXPECT_EQ(parse({"--config", "/nonexistent/zrelay.yaml"}).options.config_path,
              "/nonexistent/zrelay.yaml");
}

TEST(cli, config_needs_a_value) {
    EXPECT_THROW(parse({"--config"}), usage_error);
}

TEST(cli, bad_log_level_is_a_usage_error) {
    EXPECT_THROW(parse({"--log-level", "loud"}), usage_error);
}

TEST(cli, options_are_returned) {
    const auto r = parse({"--check-config", "--log-level", "debug"});
    EXPECT_TRUE(r.options.check_config);
    EXPECT_EQ(r.options.log_level, "debug");
}

// Sets (or with nullptr unsets) an environment variable for one test, and restores it after.
class scoped_env {
public:
    scoped_env(const char *name, const char *value) : _name(name) {
        if (const char *old = std::getenv(name)) // NOLINT(concurrency-mt-unsafe): one thread
            _old = old;
        set(value);
    }
    ~scoped_env() { set(_old ? _old->c_str() : nullptr); }
    scoped_env(const scoped_env &) = delete;
    scoped_env &operator=(const scoped_env &) = delete;
    scoped_env(scoped_env &&) = delete;
    scoped_env &operator=(scoped_env &&) = delete;

private:
    void set(const char *value) const {
        if (value != nullptr)
            ::setenv(_name, value, 1); // NOLINT(concurrency-mt-unsafe): one thread
        else
            ::unsetenv(_name); // NOLINT(concurrency-mt-unsafe): one thread
    }
    const char *_name;
    std::optional<std::string> _old;
};

TEST(cli, zrelay_config_names_the_file_when_config_is_absent) {
    const scoped_env config("ZRELAY_CONFIG", "/etc/zrelay/zrelay.yaml");
    // Arguments add to it: the image's `run zrelay --log-level debug` keeps its file.
    const auto r = parse({"--log-level", "debug"});
    EXPECT_EQ(r.options.config_path, "/etc/zrelay/zrelay.yaml");
    EXPECT_EQ(r.options.log_level, "debug");
    EXPECT_EQ(parse({"--config", "/tmp/other.yaml"}).options.config_path, "/tmp/other.yaml");
}

TEST(cli, an_empty_zrelay_config_is_unset) {
    const scoped_env config("ZRELAY_CONFIG", "");
    EXPECT_FALSE(parse({}).options.config_path);
}

TEST(cli, the_healthcheck_reads_no_file_unless_told) {
    // It probes the running process (its runtime directory), not a file it may not be using.
    const scoped_env config("ZRELAY_CONFIG", "/etc/zrelay/zrelay.yaml");
    EXPECT_FALSE(parse({"healthcheck"}).options.config_path);
    EXPECT_EQ(parse({"healthcheck", "--config", "/tmp/x.yaml"}).options.config_path, "/tmp/x.yaml");
}

TEST(cli, the_runtime_dir_comes_from_the_option_then_zrelay_then_systemd) {
    const scoped_env mine("ZRELAY_RUNTIME_DIR", nullptr);
    const scoped_env systemd("RUNTIME_DIRECTORY", nullptr);
    EXPECT_FALSE(parse({}).options.runtime_dir);
    {
        const scoped_env set_by_systemd("RUNTIME_DIRECTORY", "/run/zrelay:/run/other");
        EXPECT_EQ(parse({}).options.runtime_dir, "/run/zrelay");
        const scoped_env set_by_us("ZRELAY_RUNTIME_DIR", "/run/mine");
        EXPECT_EQ(parse({}).options.runtime_dir, "/run/mine");
        EXPECT_EQ(parse({"--runtime-dir", "/tmp/rd"}).options.runtime_dir, "/tmp/rd");
        EXPECT_EQ(parse({"healthcheck", "--runtime-dir", "/tmp/rd"}).options.runtime_dir,
                  "/tmp/rd");
    }
}

TEST(cli, help_names_the_environment_variables) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(parse({"--help"}).exit_now, 0);
    const std::string help = testing::internal::GetCapturedStdout();
    EXPECT_NE(help.find("$ZRELAY_CONFIG"), std::string::npos) << help;
    EXPECT_NE(help.find("$ZRELAY_RUNTIME_DIR"), std::string::npos) << help;
}

} // namespace
} // namespace zrelay
