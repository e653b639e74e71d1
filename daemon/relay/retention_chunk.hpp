// retention_chunk: how retention_log (retention_log.hpp) lays records out in its chunks, and
// the ring slot that hands chunks from the writer to readers. Internal to retention_log.cpp and
// its tests of the layout; the threads and orderings are the log's essay's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include <sys/mman.h>

#include "retention_log.hpp"

namespace zrelay::retention_layout {

// What precedes a record's topic and body in its chunk. Records start 8-byte aligned.
struct record_header {
    std::uint32_t size; // the whole record's, padded to 8
    std::uint32_t topic_index;
    std::uint64_t sequence;
    std::uint32_t topic_bytes;
    std::uint32_t body_bytes;
};
static_assert(sizeof(record_header) == 24);

constexpr std::size_t record_size(std::size_t topic, std::size_t body) noexcept {
    return (sizeof(record_header) + topic + body + 7) & ~std::size_t{7};
}

constexpr std::uint64_t position_of(std::uint64_t number, std::uint32_t offset) noexcept {
    return number << 32 | offset;
}
constexpr std::uint64_t number_of(std::uint64_t position) noexcept {
    return position >> 32;
}
constexpr std::uint32_t offset_of(std::uint64_t position) noexcept {
    return static_cast<std::uint32_t>(position);
}

} // namespace zrelay::retention_layout

namespace zrelay {

// A chunk's header; its `capacity` bytes of records follow it in the same allocation.
struct retention_log::chunk {
    std::uint64_t number;
    std::uint32_t capacity;
    // The end of the records written: the writer stores it (release) after it copied a record
    // below it; readers load it (acquire) and read below it only.
    std::atomic<std::uint32_t> committed{0};

    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the records follow the header
    std::byte *bytes() noexcept { return reinterpret_cast<std::byte *>(this + 1); }
    [[nodiscard]] const std::byte *bytes() const noexcept {
        return reinterpret_cast<const std::byte *>(this + 1);
    }

    [[nodiscard]] retention_layout::record_header header_at(std::uint32_t offset) const noexcept {
        retention_layout::record_header h{};
        std::memcpy(&h, bytes() + offset, sizeof h);
        return h;
    }
    [[nodiscard]] retained_record record_at(std::uint32_t offset) const noexcept {
        const retention_layout::record_header h = header_at(offset);
        const auto *topic = reinterpret_cast<const char *>(bytes() + offset + sizeof h);
        return {.position = retention_layout::position_of(number, offset),
                .sequence = h.sequence,
                .topic_index = h.topic_index,
                .topic = {topic, h.topic_bytes},
                .body = {topic + h.topic_bytes, h.body_bytes}};
    }
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)

    // Faults the chunk's pages in with one call (Linux 5.14's MADV_POPULATE_WRITE) rather than
    // one page fault each as records reach them: in a VM a fault costs microseconds, and a
    // 1 MiB chunk is 256 pages, a cost a relay pays until it has filled max_bytes once. Pages
    // already there (a reused allocation) cost a page-table walk. Where the kernel lacks it,
    // the pages fault in as before.
    static void populate(std::byte *at, std::size_t size) noexcept {
#ifdef MADV_POPULATE_WRITE
        constexpr std::size_t page = 4096;
        void *first = at;
        if (std::align(page, page, first, size) != nullptr)
            (void)::madvise(first, size / page * page, MADV_POPULATE_WRITE);
#else
        (void)at;
        (void)size;
#endif
    }

    // One allocation: the header, then the records, 8-byte aligned. The chunk lives as long as
    // its storage (aliasing constructor); its destructor is trivial, so none is needed.
    static std::shared_ptr<chunk> make(std::uint64_t number, std::size_t capacity) {
        static_assert(sizeof(chunk) % 8 == 0 && std::is_trivially_destructible_v<chunk>);
        const std::size_t words = (sizeof(chunk) + capacity + 7) / 8;
        std::shared_ptr<std::uint64_t[]> storage =
            std::make_shared_for_overwrite<std::uint64_t[]>(words);
        auto *c = ::new (static_cast<void *>(storage.get()))
            chunk{.number = number, .capacity = static_cast<std::uint32_t>(capacity)};
        populate(c->bytes(), capacity);
        return {std::move(storage), c};
    }
};

// A ring slot: std::atomic<std::shared_ptr<chunk>> as libstdc++ builds it (a lock around a
// pointer copy), with the orderings it should have (retention_log.hpp says why).
class retention_log::chunk_slot {
public:
    [[nodiscard]] std::shared_ptr<chunk> load() const {
        lock();
        std::shared_ptr<chunk> copy = _chunk;
        _locked.clear(std::memory_order_release);
        return copy;
    }
    // Returns the chunk it held, for the caller to release outside the lock (releasing the last
    // reference frees the chunk).
    std::shared_ptr<chunk> exchange(std::shared_ptr<chunk> next) {
        lock();
        _chunk.swap(next);
        _locked.clear(std::memory_order_release);
        return next;
    }

private:
    void lock() const noexcept {
        // Held for a pointer copy: spinning is right, but yield, since on a loaded machine the
        // holder may be preempted inside it.
        while (_locked.test_and_set(std::memory_order_acquire))
            while (_locked.test(std::memory_order_relaxed))
                std::this_thread::yield();
    }

    mutable std::atomic_flag _locked; // clear: unlocked
    std::shared_ptr<chunk> _chunk;    // under _locked
};

} // namespace zrelay
