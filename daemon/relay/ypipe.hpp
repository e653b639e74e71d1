// ypipe: a lock-free single-writer/single-reader pipe, after libzmq's ypipe_t.
//
// HOW IT WORKS
// The pipe is a yqueue whose last slot is always an unconstructed terminator, plus four pointers
// into it:
//   _w  writer-owned: the first slot not yet flushed (everything before it the reader may see);
//   _f  writer-owned: the first slot that will not be flushed by the next flush() (everything
//       before it is complete; an incomplete multi-part unit sits between _f and the back);
//   _r  reader-owned: the end of what the reader has already learnt it may read ("prefetched");
//   _c  shared: the end of what has been flushed, or null when the reader has gone to sleep.
// A write constructs the object in the terminator slot and pushes a new terminator. flush()
// publishes [_w, _f) by moving _c from _w to _f. The reader reads freely up to _r; when it reaches
// _r it looks at _c to learn how far it may go next, and if _c equals its own position (nothing
// new) it swaps _c to null in one compare-and-swap, which tells the writer "I am going to sleep".
// The writer's next flush then finds null instead of _w, stores _f plainly and returns false: the
// caller must wake the reader (channel does, with an eventfd).
//
// INVARIANTS
//  1. Slots in [front, _r) are constructed, flushed, and owned by the reader.
//  2. Slots in [_r, _w) are constructed and flushed; the reader will own them after its next look
//     at _c. Slots in [_w, back) are constructed and owned by the writer. back is never
//     constructed.
//  3. _c is either _w (the reader is awake, or has not yet noticed it caught up) or null (the
//     reader caught up and will be woken by the next flush). Only the reader writes null; only
//     the writer writes a non-null value; so while _c is null the writer is its sole writer and
//     may store plainly.
//  4. A unit written with incomplete=true is invisible to the reader until a later complete write
//     moves _f past it, and until then unwrite() can take it back.
//
// WHY EACH ORDERING IS ENOUGH
//  - flush(): the CAS _w -> _f is a release, so every construction in [_w, _f) happens before the
//    reader's acquire of _f. A failed CAS is relaxed: the writer learns only that _c is null and
//    reads nothing the reader wrote. The plain store that follows is a release for the same
//    reason as the CAS.
//  - check_read(): the load of _c is an acquire, pairing with the writer's release; so is a
//    failed CAS (it returns a fresh _c the reader will read up to). A successful CAS to null
//    needs no ordering at all (the reader publishes nothing by going to sleep), but C++ before
//    P0418 and GCC 12 forbid a success order weaker than the failure order, so it is an acquire
//    too; on x86 and ARMv8.1 the instruction is the same either way.
//  - Chunk reuse is ordered separately by yqueue's spare-chunk exchange.
//
// THREADS
// One thread at a time calls the writer half (write, unwrite, flush), one the reader half
// (check_read, has_data, read, probe). Handing either half to another thread needs outside
// synchronisation (a thread start or join is enough). Construction and destruction are single-
// threaded: destroying the pipe destroys every object still in it, flushed or not.
//
// DIFFERENCES FROM LIBZMQ
//  - Objects are constructed in place and moved out, so move-only types work and nothing is
//    default-constructed or copied.
//  - check_read() loads _c before it tries the CAS, so a reader that finds data (the common case
//    under load) takes the cache line shared instead of exclusive, and a reader that is already
//    asleep costs the writer nothing.
//  - has_data() lets a reader spin without going to sleep, so a short spin before sleeping does
//    not make the writer take the slow (wake-up) path.
//  - The rest of libzmq's interface stays although the relay writes whole units and never
//    peeks: incomplete writes with unwrite(), and probe(). They keep the port comparable with
//    upstream line by line; ypipe_test covers them (unwrite also across two threads, in
//    channel_test's stress writer).
#pragma once

#include <atomic>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "yqueue.hpp"

namespace zrelay {

template <typename T, std::size_t N, typename Alloc = std::allocator<T>>
class ypipe {
public:
    // Every pointer starts at the first terminator: nothing written, nothing flushed, reader awake.
    ypipe() : _w(push_terminator()), _f(_w), _r(_w), _c(_w) {}

    ~ypipe() {
        // Single-threaded now: every slot from front up to the terminator is live.
        for (T *p = _queue.front(); p != _queue.back(); p = _queue.front()) {
            std::destroy_at(p);
            _queue.pop();
        }
    }

    ypipe(const ypipe &) = delete;
    ypipe &operator=(const ypipe &) = delete;
    ypipe(ypipe &&) = delete;
    ypipe &operator=(ypipe &&) = delete;

    // Writer: appends an object. With incomplete=true it belongs to a unit that a later write
    // completes; no part of a unit is flushed before the whole of it is written.
    template <typename U>
    requires std::constructible_from<T, U &&>
    void write(U &&value, bool incomplete) {
        T *slot = _queue.back();
        std::construct_at(slot, std::forward<U>(value));
        try {
            _queue.push();
        } catch (...) {
            std::destroy_at(slot);
            throw;
        }
        if (!incomplete)
            _f = _queue.back();
    }

    // Writer: takes back the newest object of an incomplete unit; nullopt if there is none.
    std::optional<T> unwrite() {
        if (_f == _queue.back())
            return std::nullopt;
        _queue.unpush();
        T *slot = _queue.back();
        std::optional<T> value(std::in_place, std::move(*slot));
        std::destroy_at(slot);
        return value;
    }

    // Writer: makes every complete unit visible to the reader. Returns false if the reader had
    // gone to sleep, in which case the caller must wake it before relying on it to read.
    bool flush() noexcept {
        if (_w == _f)
            return true;
        T *expected = _w;
        if (_c.compare_exchange_strong(expected, _f, std::memory_order_release,
                                       std::memory_order_relaxed)) {
            _w = _f;
            return true;
        }
        // The CAS failed, so _c is null: the reader is asleep and cannot touch _c until woken.
        assert(expected == nullptr);
        _c.store(_f, std::memory_order_release);
        _w = _f;
        return false;
    }

    // Reader: true if an object can be read. If not, the reader is marked asleep and the writer's
    // next flush() will return false.
    bool check_read() noexcept {
        T *front = _queue.front();
        if (front != _r && _r != nullptr)
            return true;
        T *c = _c.load(std::memory_order_acquire);
        if (c == front && _c.compare_exchange_strong(c, nullptr, std::memory_order_acquire,
                                                     std::memory_order_acquire)) {
            c = nullptr;
        }
        _r = c;
        return c != nullptr && c != front;
    }

    // Reader: like check_read(), but never marks the reader asleep. For spinning.
    bool has_data() noexcept {
        T *front = _queue.front();
        if (front != _r && _r != nullptr)
            return true;
        T *c = _c.load(std::memory_order_acquire);
        if (c == nullptr || c == front)
            return false;
        _r = c;
        return true;
    }

    // Reader: removes and returns the oldest object, or nullopt (and the reader is now asleep).
    std::optional<T> read() {
        if (!check_read())
            return std::nullopt;
        T *slot = _queue.front();
        std::optional<T> value(std::in_place, std::move(*slot));
        std::destroy_at(slot);
        _queue.pop();
        return value;
    }

    // Reader: applies fn to the oldest object without removing it. check_read() must have
    // returned true.
    template <typename F>
    auto probe(F &&fn) {
        [[maybe_unused]] const bool readable = check_read();
        assert(readable);
        return std::forward<F>(fn)(std::as_const(*_queue.front()));
    }

private:
    T *push_terminator() {
        _queue.push();
        return _queue.back();
    }

    yqueue<T, N, Alloc> _queue;

    // Writer-owned.
    alignas(cache_line) T *_w;
    T *_f;

    // Reader-owned; null while the reader is asleep.
    alignas(cache_line) T *_r;

    // Shared: the flush boundary, or null while the reader is asleep (see the essay above).
    alignas(cache_line) std::atomic<T *> _c;
};

} // namespace zrelay
