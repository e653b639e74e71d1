// latency_histogram: the distribution of latencies in nanoseconds, in fixed memory whatever the
// number of messages, recorded in O(1) without allocating (the bench's per-message path).
// Log-linear buckets: exact below 256 ns, then 128 per power of two, so a percentile is at most
// 0.8 % above the true value. Debian 12 packages no C/C++ HdrHistogram; this is its idea, small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zrelay::tool {

class latency_histogram {
public:
    latency_histogram();

    void record(std::uint64_t ns) noexcept;
    void merge(const latency_histogram &other) noexcept;

    [[nodiscard]] std::uint64_t count() const noexcept { return _count; }
    [[nodiscard]] std::uint64_t max() const noexcept { return _max; }
    // The least value that at least a fraction `q` (0..1] of the recorded ones do not exceed, as
    // its bucket's top (never above max()); 0 with nothing recorded.
    [[nodiscard]] std::uint64_t percentile(double q) const noexcept;

private:
    static constexpr unsigned linear = 256; // exact below this
    static constexpr unsigned per_octave = 128;
    static std::size_t index(std::uint64_t ns) noexcept;
    static std::uint64_t top(std::size_t index) noexcept;

    std::vector<std::uint64_t> _counts;
    std::uint64_t _count = 0;
    std::uint64_t _max = 0;
};

} // namespace zrelay::tool
