#include "zrelay_latency.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace zrelay::tool {

namespace {

// linear + (64 - 8) octaves of 128: every uint64_t has a bucket.
constexpr std::size_t bucket_count = 256 + 56 * 128;

} // namespace

latency_histogram::latency_histogram() : _counts(bucket_count, 0) {}

std::size_t latency_histogram::index(std::uint64_t ns) noexcept {
    if (ns < linear)
        return ns;
    const auto shift = static_cast<unsigned>(std::bit_width(ns)) - 8; // ns >> shift in [128, 256)
    return linear + (shift - 1) * per_octave + ((ns >> shift) - per_octave);
}

std::uint64_t latency_histogram::top(std::size_t index) noexcept {
    if (index < linear)
        return index;
    const std::size_t shift = (index - linear) / per_octave + 1;
    const std::uint64_t mantissa = (index - linear) % per_octave + per_octave;
    return ((mantissa + 1) << shift) - 1; // wraps to the largest uint64_t in the last bucket
}

void latency_histogram::record(std::uint64_t ns) noexcept {
    ++_counts[index(ns)];
    ++_count;
    _max = std::max(_max, ns);
}

void latency_histogram::merge(const latency_histogram &other) noexcept {
    for (std::size_t i = 0; i < _counts.size(); ++i)
        _counts[i] += other._counts[i];
    _count += other._count;
    _max = std::max(_max, other._max);
}

std::uint64_t latency_histogram::percentile(double q) const noexcept {
    if (_count == 0)
        return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(_count))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < _counts.size(); ++i) {
        seen += _counts[i];
        if (seen >= rank)
            return std::min(top(i), _max);
    }
    return _max;
}

} // namespace zrelay::tool
