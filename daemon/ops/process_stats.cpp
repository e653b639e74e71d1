// Hand-written rather than a library: the C++ Prometheus clients in Debian (prometheus-cpp) have
// no process collector, and libproc2 would be a new dependency for six numbers of two files.
#include "process_stats.hpp"

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include <sys/resource.h>
#include <unistd.h>

namespace zrelay {

namespace {

// A /proc file's whole text (its size is 0 to stat(), so it is read to the end); nullopt if it
// cannot be opened.
std::optional<std::string> read_text(const char *path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad())
        return std::nullopt;
    return text;
}

std::optional<std::uint64_t> to_number(std::string_view field) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), n);
    if (ec != std::errc() || end != field.data() + field.size() || field.empty())
        return std::nullopt;
    return n;
}

std::optional<std::uint64_t> count_open_fds() {
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc/self/fd", ec);
    if (ec)
        return std::nullopt;
    // Like the Go and Python clients, the descriptor that lists the directory is counted too.
    std::uint64_t n = 0;
    for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
        if (ec)
            return std::nullopt;
        ++n;
    }
    return n;
}

std::optional<std::uint64_t> soft_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return std::nullopt;
    return limit.rlim_cur;
}

} // namespace

std::optional<proc_stat_fields> parse_proc_stat(std::string_view line) {
    const auto paren = line.rfind(')');
    if (paren == std::string_view::npos || line.find('(') > paren)
        return std::nullopt;
    // Field 3 (state) onwards; fields are numbered from 1 as in proc(5).
    std::string_view rest = line.substr(paren + 1);
    constexpr std::size_t first = 3;
    constexpr std::size_t utime = 14;
    constexpr std::size_t stime = 15;
    constexpr std::size_t num_threads = 20;
    constexpr std::size_t starttime = 22;
    constexpr std::size_t vsize = 23;
    constexpr std::size_t rss = 24;
    std::array<std::string_view, rss + 1> fields{};
    std::size_t index = first;
    while (index <= rss) {
        const auto start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos)
            return std::nullopt; // too few fields
        rest.remove_prefix(start);
        const auto end = rest.find_first_of(" \n");
        fields.at(index++) = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    proc_stat_fields out;
    for (const auto &[at, into] : {std::pair{utime, &out.utime_ticks},
                                   {stime, &out.stime_ticks},
                                   {num_threads, &out.threads},
                                   {starttime, &out.start_ticks},
                                   {vsize, &out.vsize_bytes},
                                   {rss, &out.rss_pages}}) {
        const auto n = to_number(fields.at(at));
        if (!n)
            return std::nullopt;
        *into = *n;
    }
    return out;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_text) {
    static constexpr std::string_view key = "btime ";
    for (std::size_t at = 0; at < proc_stat_text.size();) {
        const auto end = proc_stat_text.find('\n', at);
        const std::string_view line = proc_stat_text.substr(at, end - at);
        if (line.starts_with(key))
            return to_number(line.substr(key.size()));
        if (end == std::string_view::npos)
            break;
        at = end + 1;
    }
    return std::nullopt;
}

std::optional<process_stats> read_process_stats() {
    const auto self = read_text("/proc/self/stat");
    const auto system = read_text("/proc/stat");
    if (!self || !system)
        return std::nullopt;
    const auto fields = parse_proc_stat(*self);
    const auto boot = parse_boot_time(*system);
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    if (!fields || !boot || ticks_per_second <= 0 || page_size <= 0)
        return std::nullopt;
    const auto ticks = static_cast<double>(ticks_per_second);
    return process_stats{
        .cpu_seconds = static_cast<double>(fields->utime_ticks + fields->stime_ticks) / ticks,
        .resident_bytes = fields->rss_pages * static_cast<std::uint64_t>(page_size),
        .virtual_bytes = fields->vsize_bytes,
        .start_time_seconds =
            static_cast<double>(*boot) + static_cast<double>(fields->start_ticks) / ticks,
        .threads = fields->threads,
        .open_fds = count_open_fds(),
        .max_fds = soft_fd_limit(),
    };
}

} // namespace zrelay
