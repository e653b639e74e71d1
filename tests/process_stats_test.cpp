#include "process_stats.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fcntl.h>
#include <latch>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace zrelay {
namespace {

// A /proc/<pid>/stat line for command `comm`, every numeric field its own number (field n holds
// n * 10) except those named.
std::string stat_line(const std::string &comm) {
    std::string line = "4242 (" + comm + ") S";
    for (int field = 4; field <= 52; ++field)
        line += " " + std::to_string(field * 10);
    return line + "\n";
}

TEST(process_stats, parses_the_fields_after_the_last_parenthesis) {
    // A command name may hold spaces and parentheses, even ") S 1 2": only the last ')' ends it.
    for (const std::string comm : {"zrelayd", "a b", "x) S 1 2 (y", ")", ""}) {
        const auto fields = parse_proc_stat(stat_line(comm));
        ASSERT_TRUE(fields) << comm;
        EXPECT_EQ(fields->utime_ticks, 140U) << comm;
        EXPECT_EQ(fields->stime_ticks, 150U) << comm;
        EXPECT_EQ(fields->threads, 200U) << comm;
        EXPECT_EQ(fields->start_ticks, 220U) << comm;
        EXPECT_EQ(fields->vsize_bytes, 230U) << comm;
        EXPECT_EQ(fields->rss_pages, 240U) << comm;
    }
}

TEST(process_stats, refuses_what_is_not_a_stat_line) {
    EXPECT_FALSE(parse_proc_stat(""));
    EXPECT_FALSE(parse_proc_stat("4242 zrelayd S 1 2 3"));
    EXPECT_FALSE(parse_proc_stat("4242 (zrelayd) S 1 2 3")); // cut short before rss
    std::string bad = stat_line("zrelayd");
    bad.replace(bad.find(" 140 "), 5, " 1x0 ");
    EXPECT_FALSE(parse_proc_stat(bad));
    std::string negative = stat_line("zrelayd");
    negative.replace(negative.find(" 240 "), 5, " -24 ");
    EXPECT_FALSE(parse_proc_stat(negative));
}

TEST(process_stats, finds_the_boot_time_in_proc_stat) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000U);
    EXPECT_EQ(parse_boot_time("btime 17"), 17U);
    EXPECT_FALSE(parse_boot_time("cpu  1 2 3\nprocesses 9\n"));
    EXPECT_FALSE(parse_boot_time("xbtime 17\n"));
    EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

TEST(process_stats, reads_this_process) {
    const auto stats = read_process_stats();
    ASSERT_TRUE(stats);
    EXPECT_GT(stats->resident_bytes, 0U);
    EXPECT_GE(stats->virtual_bytes, stats->resident_bytes);
    EXPECT_GE(stats->threads, 1U);
    EXPECT_GE(stats->cpu_seconds, 0.0);
    // Started within the last hour, and not in the future (btime is whole seconds, the start a
    // clock tick: at most a second of rounding either way).
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(stats->start_time_seconds, now + 1.0);
    EXPECT_GT(stats->start_time_seconds, now - 3600.0);
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_cur == RLIM_INFINITY)
        EXPECT_FALSE(stats->max_fds);
    else
        EXPECT_EQ(stats->max_fds, limit.rlim_cur);
}

TEST(process_stats, counts_a_file_opened_and_closed) {
    const auto before = read_process_stats();
    ASSERT_TRUE(before);
    ASSERT_TRUE(before->open_fds);
    EXPECT_GE(*before->open_fds, 3U); // stdin, stdout, stderr at least
    const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const auto opened = read_process_stats();
    ::close(fd);
    const auto closed = read_process_stats();
    ASSERT_TRUE(opened && closed);
    EXPECT_EQ(opened->open_fds, *before->open_fds + 1);
    EXPECT_EQ(closed->open_fds, before->open_fds);
}

TEST(process_stats, counts_a_thread_while_it_runs) {
    const auto before = read_process_stats();
    ASSERT_TRUE(before);
    std::latch started(1);
    std::latch done(1);
    std::thread extra([&] {
        started.count_down();
        done.wait();
    });
    started.wait();
    const auto during = read_process_stats();
    done.count_down();
    extra.join();
    const auto after = read_process_stats();
    ASSERT_TRUE(during);
    ASSERT_TRUE(after);
    // Compared with the count after the join, not before the start: ThreadSanitizer's runtime
    // starts a thread of its own with the first one the program makes.
    EXPECT_GT(during->threads, before->threads);
    EXPECT_EQ(after->threads, during->threads - 1);
}

TEST(process_stats, cpu_time_grows_with_work) {
    const auto before = read_process_stats();
    ASSERT_TRUE(before);
    // Busy until the kernel has charged at least one more clock tick, however slow the machine:
    // up to a minute of wall time, polled.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    volatile std::uint64_t sink = 0;
    double now = before->cpu_seconds;
    while (now <= before->cpu_seconds && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 1'000'000; ++i)
            sink = sink + static_cast<std::uint64_t>(i);
        const auto stats = read_process_stats();
        ASSERT_TRUE(stats);
        now = stats->cpu_seconds;
    }
    EXPECT_GT(now, before->cpu_seconds);
}

} // namespace
} // namespace zrelay
