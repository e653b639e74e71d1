// An allocator that counts, so tests can prove where memory is (not) allocated.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>

namespace zrelay::test {

struct alloc_stats {
    static inline std::atomic<long> allocations{0};
    static inline std::atomic<long> deallocations{0};
    static inline std::atomic<long> live{0};
    static inline std::atomic<long> peak_live{0};

    static void reset() {
        allocations = 0;
        deallocations = 0;
        peak_live = live.load();
    }
};

template <typename T>
struct counting_allocator {
    using value_type = T;

    counting_allocator() = default;
    template <typename U>
    counting_allocator(const counting_allocator<U> & /*other*/) noexcept {} // NOLINT: rebinding

    T *allocate(std::size_t n) {
        alloc_stats::allocations.fetch_add(1);
        const long now = alloc_stats::live.fetch_add(1) + 1;
        long peak = alloc_stats::peak_live.load();
        while (now > peak && !alloc_stats::peak_live.compare_exchange_weak(peak, now)) {
        }
        return static_cast<T *>(::operator new(n * sizeof(T), std::align_val_t(alignof(T))));
    }

    void deallocate(T *p, std::size_t n) noexcept {
        alloc_stats::deallocations.fetch_add(1);
        alloc_stats::live.fetch_sub(1);
        ::operator delete(p, n * sizeof(T), std::align_val_t(alignof(T)));
    }

    friend bool operator==(const counting_allocator &, const counting_allocator &) { return true; }
};

// Counts live instances, to prove a container destroys exactly what it constructed.
struct tracked {
    static inline std::atomic<long> alive{0};
    int value;
    explicit tracked(int v) : value(v) { alive.fetch_add(1); }
    tracked(tracked &&other) noexcept : value(other.value) { alive.fetch_add(1); }
    tracked(const tracked &) = delete;
    tracked &operator=(const tracked &) = delete;
    tracked &operator=(tracked &&) = delete;
    ~tracked() { alive.fetch_sub(1); }
};

} // namespace zrelay::test
