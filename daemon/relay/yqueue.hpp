// yqueue: the chunked storage underneath ypipe.
//
// A FIFO of slots allocated N at a time, so that a pipe moving a steady stream allocates nothing:
// one thread (the writer) only ever calls back()/push()/unpush(), another (the reader) only
// front()/pop(), and the two meet in exactly one shared field, the spare chunk. The reader hands
// its most recently emptied chunk back through it and the writer takes it for its next chunk, so
// producer and consumer running at similar rates cycle between two or three chunks forever.
//
// yqueue does not know which slots hold live objects: slots are raw storage (a union member that
// is never constructed implicitly) and the owner, ypipe, constructs on write and destroys on read.
// The caller must never pop an empty queue nor let both threads touch one slot unsynchronised;
// ypipe's _c pointer is what orders a slot's construction before its consumption.
//
// Differences from libzmq's yqueue_t, on purpose:
//  - slots hold non-trivial and move-only types (zmq::message_t, std::unique_ptr);
//  - chunks come from an allocator, so tests can count allocations;
//  - push() obtains the next chunk before it moves any position, so a throwing allocator leaves
//    the queue as it was;
//  - the reader never writes a field of a chunk the writer may still be linking (libzmq's pop
//    clears next->prev; nothing reads that).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>

namespace zrelay {

// Destructive-interference size, hard-coded: GCC warns that
// std::hardware_destructive_interference_size may differ between compilations.
inline constexpr std::size_t cache_line = 64;

template <typename T, std::size_t N, typename Alloc = std::allocator<T>>
class yqueue {
    static_assert(N >= 2, "a chunk must hold at least two slots");

public:
    yqueue() : _begin_chunk(new_chunk()), _end_chunk(_begin_chunk) {}

    ~yqueue() {
        // Every live object has been destroyed by the owner; only memory is left.
        chunk *c = _begin_chunk;
        while (c != _end_chunk) {
            chunk *next = c->next;
            free_chunk(c);
            c = next;
        }
        free_chunk(_end_chunk);
        free_chunk(_spare_chunk.exchange(nullptr, std::memory_order_acquire));
    }

    yqueue(const yqueue &) = delete;
    yqueue &operator=(const yqueue &) = delete;
    yqueue(yqueue &&) = delete;
    yqueue &operator=(yqueue &&) = delete;

    // Reader: storage of the oldest slot. Undefined on an empty queue.
    T *front() noexcept { return &_begin_chunk->slots[_begin_pos].value; }

    // Writer: storage of the newest slot (the one the last push() added).
    T *back() noexcept { return &_back_chunk->slots[_back_pos].value; }

    // Writer: appends one slot at the back. Throws only if a new chunk is needed and the
    // allocator throws, in which case nothing changed.
    void push() {
        if (_end_pos + 1 == N) {
            // Acquire: pairs with pop()'s release, so the reader's last accesses to the spare
            // happen before we construct objects in it.
            chunk *next = _spare_chunk.exchange(nullptr, std::memory_order_acquire);
            if (next == nullptr)
                next = new_chunk();
            _end_chunk->next = next;
            next->prev = _end_chunk;
            _back_chunk = _end_chunk;
            _back_pos = _end_pos;
            _end_chunk = next;
            _end_pos = 0;
            return;
        }
        _back_chunk = _end_chunk;
        _back_pos = _end_pos;
        ++_end_pos;
    }

    // Writer: removes the newest slot (the caller has destroyed or moved out its object). Only
    // for slots the reader cannot have seen yet, so walking back over prev is race-free.
    void unpush() noexcept {
        if (_back_pos > 0) {
            --_back_pos;
        } else {
            _back_pos = N - 1;
            _back_chunk = _back_chunk->prev;
        }
        // Like libzmq, an end chunk given up here is freed rather than made the spare: making it
        // the spare would cost an atomic exchange for a path that is rare in practice.
        if (_end_pos > 0) {
            --_end_pos;
        } else {
            _end_pos = N - 1;
            _end_chunk = _end_chunk->prev;
            free_chunk(_end_chunk->next);
            _end_chunk->next = nullptr;
        }
    }

    // Reader: drops the oldest slot (the caller has destroyed its object).
    void pop() noexcept {
        if (++_begin_pos != N)
            return;
        chunk *emptied = _begin_chunk;
        _begin_chunk = emptied->next;
        _begin_pos = 0;
        // The just-emptied chunk is warmer in cache than the spare, so it becomes the spare.
        // Release: the writer that takes it must see all our accesses to it finished. What we get
        // back is null or a chunk we put there ourselves (the writer only takes), so freeing it
        // needs no acquire.
        free_chunk(_spare_chunk.exchange(emptied, std::memory_order_release));
    }

private:
    union slot {
        // User-provided on purpose: '= default' would be deleted for a non-trivial T, and the
        // slot's lifetime is managed by hand (construct_at/destroy_at).
        slot() noexcept {} // NOLINT(modernize-use-equals-default)
        ~slot() {}         // NOLINT(modernize-use-equals-default)
        slot(const slot &) = delete;
        slot &operator=(const slot &) = delete;
        slot(slot &&) = delete;
        slot &operator=(slot &&) = delete;
        T value;
    };

    // Cache-line aligned so that two chunks never share a line.
    struct alignas(cache_line) chunk {
        slot slots[N];
        chunk *prev = nullptr;
        chunk *next = nullptr;
    };

    using chunk_alloc = typename std::allocator_traits<Alloc>::template rebind_alloc<chunk>;
    using chunk_traits = std::allocator_traits<chunk_alloc>;

    chunk *new_chunk() {
        chunk *c = chunk_traits::allocate(_alloc, 1);
        return ::new (static_cast<void *>(c)) chunk();
    }

    void free_chunk(chunk *c) noexcept {
        if (c == nullptr)
            return;
        c->~chunk();
        chunk_traits::deallocate(_alloc, c, 1);
    }

    // Stateless in practice; both threads use it (the writer allocates, the reader frees).
    [[no_unique_address]] chunk_alloc _alloc;

    // Reader-owned: position of the oldest slot. Never null.
    alignas(cache_line) chunk *_begin_chunk;
    std::size_t _begin_pos = 0;

    // Writer-owned: the newest slot (back) and one past it (end). _back_chunk is null until the
    // first push; _end_chunk always has room for at least one more slot.
    alignas(cache_line) chunk *_back_chunk = nullptr;
    std::size_t _back_pos = 0;
    chunk *_end_chunk;
    std::size_t _end_pos = 0;

    // Shared: the one chunk kept for reuse. Written by the reader (pop), taken by the writer
    // (push), each with an exchange; it publishes the chunk's ownership across threads.
    alignas(cache_line) std::atomic<chunk *> _spare_chunk{nullptr};
};

} // namespace zrelay
