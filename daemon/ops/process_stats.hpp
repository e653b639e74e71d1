// process_stats: what the kernel says about this process (CPU time, memory, file descriptors,
// start time), read from /proc at scrape time for the process_* metrics that the official
// Prometheus client libraries export under the same names.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace zrelay {

struct process_stats {
    double cpu_seconds = 0;                // user + system, utime + stime of /proc/self/stat
    std::uint64_t resident_bytes = 0;      // rss pages times the page size
    std::uint64_t virtual_bytes = 0;       // vsize
    double start_time_seconds = 0;         // since the Unix epoch: btime + starttime
    std::uint64_t threads = 0;             // num_threads
    std::optional<std::uint64_t> open_fds; // entries of /proc/self/fd; none if it cannot be read
    std::optional<std::uint64_t> max_fds;  // RLIMIT_NOFILE's soft limit; none if unlimited
};

// The fields of a /proc/<pid>/stat line that process_stats needs, in the kernel's units (clock
// ticks, pages, bytes). The command name (field 2) may hold spaces and parentheses: the fields
// after it are found from its last ')'.
struct proc_stat_fields {
    std::uint64_t utime_ticks = 0;
    std::uint64_t stime_ticks = 0;
    std::uint64_t threads = 0;
    std::uint64_t start_ticks = 0; // since boot
    std::uint64_t vsize_bytes = 0;
    std::uint64_t rss_pages = 0;
};

// nullopt if `line` is not a stat line as proc(5) describes it.
std::optional<proc_stat_fields> parse_proc_stat(std::string_view line);

// The btime line of /proc/stat's text (the boot time, in seconds since the epoch).
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_text);

// This process's figures now; nullopt if /proc/self/stat or /proc/stat cannot be read (no /proc
// mounted), so that a scrape leaves the process_* series out rather than report zeros.
std::optional<process_stats> read_process_stats();

} // namespace zrelay
