#include "prometheus.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace zrelay {
namespace {

build_info build() {
    return {.version = "1.2.3", .commit = "abc1234-dirty"};
}

bool has_line(const std::string &text, const std::string &line) {
    return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

TEST(prometheus, byte_counters_under_both_names_until_the_old_ones_go) {
    metrics_snapshot s;
    s.bytes_received = 1234;
    s.bytes_published = 5678;
    const std::string text = render_prometheus(s, build(), std::nullopt);
    EXPECT_TRUE(has_line(text, "# TYPE zrelay_received_bytes_total counter")) << text;
    EXPECT_TRUE(has_line(text, "zrelay_received_bytes_total 1234")) << text;
    EXPECT_TRUE(has_line(text, "zrelay_bytes_received_total 1234")) << text;
    EXPECT_TRUE(has_line(text, "# HELP zrelay_bytes_received_total Deprecated: use "
                               "zrelay_received_bytes_total; removed in the next release."))
        << text;
    EXPECT_TRUE(has_line(text, "# TYPE zrelay_published_bytes_total counter")) << text;
    EXPECT_TRUE(has_line(text, "zrelay_published_bytes_total 5678")) << text;
    EXPECT_TRUE(has_line(text, "zrelay_bytes_published_total 5678")) << text;
    EXPECT_TRUE(has_line(text, "# HELP zrelay_bytes_published_total Deprecated: use "
                               "zrelay_published_bytes_total; removed in the next release."))
        << text;
}

TEST(prometheus, inflight_only_with_a_pipeline) {
    metrics_snapshot s;
    s.inflight = 7;
    s.max_inflight = 100;
    const std::string direct = render_prometheus(s, build(), std::nullopt);
    EXPECT_EQ(direct.find("zrelay_inflight"), std::string::npos) << direct;
    s.pipelined = true;
    const std::string pipelined = render_prometheus(s, build(), std::nullopt);
    EXPECT_TRUE(has_line(pipelined, "zrelay_inflight 7")) << pipelined;
    EXPECT_TRUE(has_line(pipelined, "zrelay_inflight_max 100")) << pipelined;
}

TEST(prometheus, build_info_labels_version_and_commit) {
    const std::string text = render_prometheus({}, build(), std::nullopt);
    EXPECT_TRUE(has_line(text, "# TYPE zrelay_build_info gauge")) << text;
    EXPECT_TRUE(has_line(text, R"(zrelay_build_info{version="1.2.3",commit="abc1234-dirty"} 1)"))
        << text;
    const std::string odd =
        render_prometheus({}, {.version = "1\"2", .commit = "a\\b\nc"}, std::nullopt);
    EXPECT_TRUE(has_line(odd, R"(zrelay_build_info{version="1\"2",commit="a\\b\nc"} 1)")) << odd;
}

TEST(prometheus, process_figures_as_the_client_libraries_name_them) {
    const process_stats p{.cpu_seconds = 1.25,
                          .resident_bytes = 4096,
                          .virtual_bytes = 8192,
                          .start_time_seconds = 1700000000.5,
                          .threads = 6,
                          .open_fds = 12,
                          .max_fds = 1024};
    const std::string text = render_prometheus({}, build(), p);
    for (const char *line :
         {"# TYPE process_cpu_seconds_total counter", "process_cpu_seconds_total 1.25",
          "# TYPE process_resident_memory_bytes gauge", "process_resident_memory_bytes 4096",
          "process_virtual_memory_bytes 8192", "# TYPE process_start_time_seconds gauge",
          "process_start_time_seconds 1700000000.5", "process_threads 6", "process_open_fds 12",
          "process_max_fds 1024"})
        EXPECT_TRUE(has_line(text, line)) << line << "\n" << text;

    const std::string no_fds = render_prometheus(
        {}, build(), process_stats{.open_fds = std::nullopt, .max_fds = std::nullopt});
    EXPECT_EQ(no_fds.find("process_open_fds"), std::string::npos) << no_fds;
    EXPECT_EQ(no_fds.find("process_max_fds"), std::string::npos) << no_fds;
    EXPECT_NE(no_fds.find("process_cpu_seconds_total 0\n"), std::string::npos) << no_fds;

    const std::string none = render_prometheus({}, build(), std::nullopt);
    EXPECT_EQ(none.find("process_"), std::string::npos) << none;
}

} // namespace
} // namespace zrelay
