#include "cli.hpp"

#include <gtest/gtest.h>

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

} // namespace
} // namespace zrelay
