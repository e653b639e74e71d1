// retention_log: the messages the relay published most recently, held in memory for replay.
//
// One writer, the thread that runs egress, appends each message it publishes on a tracked topic
// (the stamped bytes exactly as sent) and never waits for a reader to finish with anything (the
// ring, below, says what it may wait for). Readers (the replay thread) scan what is held,
// concurrently. What they share, and why neither side takes a lock per message:
//
// - Records live in chunks of `chunk_bytes` (a record larger than that gets a chunk of its own
//   size). A chunk only grows at its end: the writer copies a record past `committed`, then
//   stores the new `committed` (release); a reader loads it (acquire) and reads below it only.
//   Bytes below `committed` never change again, so the two never touch the same byte at once.
// - Chunks are numbered 0, 1, 2, ... and chunk n sits in slot n % slot_count of a ring of
//   shared pointers to chunks. The writer touches the ring only when it opens a chunk (once per
//   chunk, not per message) and when it evicts the oldest to stay within max_bytes. A reader
//   copies a slot's pointer and so keeps that chunk alive while it reads, even if it is evicted
//   meanwhile; the replay thread holds one chunk at a time, so memory stays within max_bytes +
//   two chunks + the last-value slots. A slot is a std::shared_ptr behind a one-bit lock held
//   for the pointer copy, which is what libstdc++'s std::atomic<std::shared_ptr> is; that one is
//   not used because GCC 12's load() releases its lock with a relaxed store, which leaves its
//   read of the pointer unordered with the writer's next store (a race TSan reports,
//   google/sanitizers#1558; real on ARM). So the writer may wait for a pointer copy, once per
//   chunk, but never for a reader to finish with a chunk.
// - A record's position is (chunk number << 32) | offset: it only grows along the log, so
//   "evicted" is "below oldest()", and a reader's cursor is one integer.
// - Last values (when enabled): each tracked topic (topic_table's index, < max_topics) has a
//   slot holding its name (written once, before the slot's position and `_slots_used` publish
//   it) and the position of its newest record (atomic). Before the writer evicts a chunk it
//   copies each record there that is still its topic's newest to the head of the log: being the
//   newest, it still comes after every older record of its topic, so per-topic order along the
//   log holds. A reader scanning the log may meet such a record twice (before and after the
//   copy); it skips sequences it has passed. Last values may take up to half of max_bytes; past
//   that, the oldest are dropped with their chunk (counted as evicted), so eviction always frees
//   room. Should the copies still not leave room (last values of just over half a chunk each
//   pack loosely; or a log of few chunks), the oldest chunks then go with their last values: an
//   append evicts each chunk at most once and copies each record at most once.
//
// Memory: what the writer allocates is chunks (one allocation per chunk) and the slot blocks
// (one per 1024 topics, on first use); a message costs a copy into the head chunk and three
// release stores (`committed`, end(), its topic's last value), plain stores on x86. Between
// appends the chunks held take at most max_bytes (a max_bytes below two chunks, 8 KiB, counts
// as 8 KiB); while it evicts, the writer holds one more chunk, the copies' new one. A "chunk"
// here is chunk_bytes, or the size of the largest record retained (max_bytes / 2) when one of
// those is what is held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>

namespace zrelay {

// One retained message as a reader sees it: views into a chunk the reader holds.
struct retained_record {
    std::uint64_t position;
    std::uint64_t sequence;    // its relay_sequence on its topic (1, 2, 3, ...)
    std::uint32_t topic_index; // topic_table's index of its topic (no_topic_index: none)
    std::string_view topic;
    std::string_view body; // the DataMessage as published
};

// Totals for metrics; any thread.
struct retention_totals {
    std::uint64_t bytes = 0;    // retained record bytes (headers included)
    std::uint64_t messages = 0; // retained records
    std::uint64_t evicted = 0;  // records evicted (last values re-appended are not counted)
    std::uint64_t held = 0;     // bytes of the chunks held: the memory the records take
};

class retention_log {
public:
    // `max_bytes` > 0 bounds the chunks held; `max_topics` sizes the last-value slots (0: no
    // last values).
    retention_log(std::size_t max_bytes, std::size_t max_topics);
    ~retention_log();
    retention_log(const retention_log &) = delete;
    retention_log &operator=(const retention_log &) = delete;
    retention_log(retention_log &&) = delete;
    retention_log &operator=(retention_log &&) = delete;

    // Writer. Retains `body`, published on `topic` (tracked as `topic_index`, or
    // no_topic_index) with `sequence`, evicting the oldest records as needed. A message larger
    // than max_bytes / 2 is not retained (counted as evicted at once; its topic's last value
    // stays the one before).
    void append(std::uint32_t topic_index, std::string_view topic, std::uint64_t sequence,
                std::string_view body);

    // Readers. The position of the oldest record held, and the position after the newest.
    [[nodiscard]] std::uint64_t oldest() const noexcept;
    [[nodiscard]] std::uint64_t end() const noexcept;

    // Readers. Calls fn(const retained_record &) for the records from `from` on, in log order,
    // for at most `max_records` records or until fn returns false; returns the position after
    // the last record fn took (or `from` if none): a record fn returned false for is not taken,
    // and the next scan from there offers it again. A `from` below oldest() starts at
    // oldest(): the caller compares to tell that records were evicted. The views are valid
    // inside fn only. fn may also return void (never stops).
    template <typename F>
    std::uint64_t scan(std::uint64_t from, std::size_t max_records, F &&fn) const {
        return scan_with(from, max_records, visitor(fn));
    }

    // Readers. The last value of every tracked topic whose name starts with `prefix`: calls
    // fn(const retained_record &) for each topic index in [first, first + max_topics) that has
    // one held, in index order, until fn returns false (or void: never stops); returns the
    // index to go on from: the one fn returned false for (offered again from there), else the
    // end of the indexes looked at (which stops at the highest index seen so far). Topic
    // indexes are handed out in the order topics are first seen.
    template <typename F>
    std::uint32_t last_values(std::uint32_t first, std::size_t max_topics, std::string_view prefix,
                              F &&fn) const {
        return last_values_with(first, max_topics, prefix, visitor(fn));
    }

    [[nodiscard]] retention_totals totals() const noexcept;
    // Readers. One past the highest topic index named so far: where last_values() ends.
    [[nodiscard]] std::uint32_t topic_indexes() const noexcept {
        return _slots_used.load(std::memory_order_acquire);
    }

    // Any thread: fixed at construction.
    [[nodiscard]] std::size_t max_bytes() const noexcept { return _max_bytes; }
    [[nodiscard]] std::size_t chunk_bytes() const noexcept { return _chunk_bytes; }
    [[nodiscard]] bool keeps_last_values() const noexcept { return _max_topics > 0; }

private:
    struct chunk;
    class chunk_slot;
    // The writer's own count of a chunk's records (by ring slot), so that evicting a chunk that
    // holds no topic's newest record never reads its (cold) memory.
    struct chunk_tally {
        std::uint64_t records = 0;
        std::uint64_t bytes = 0;
        std::uint64_t newest = 0; // records that are their topic's newest
    };
    struct topic_slot;
    struct slot_block;

    // A reader's fn without its type, so that scanning is compiled once, in the .cpp.
    class visitor {
    public:
        template <typename F>
        explicit visitor(F &fn) noexcept
            // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): _call casts back to F's type
            : _fn(const_cast<void *>(static_cast<const void *>(&fn))),
              _call([](void *f, const retained_record &r) -> bool {
                  F &g = *static_cast<F *>(f);
                  if constexpr (std::is_void_v<
                                    std::invoke_result_t<F &, const retained_record &>>) {
                      g(r);
                      return true;
                  } else {
                      return static_cast<bool>(g(r));
                  }
              }) {}
        bool operator()(const retained_record &r) const { return _call(_fn, r); }

    private:
        void *_fn;
        bool (*_call)(void *, const retained_record &);
    };

    [[nodiscard]] std::uint64_t scan_with(std::uint64_t from, std::size_t max_records,
                                          visitor fn) const;
    [[nodiscard]] std::uint32_t last_values_with(std::uint32_t first, std::size_t max_topics,
                                                 std::string_view prefix, visitor fn) const;
    // Readers: chunk `number` if it is held, else null.
    [[nodiscard]] std::shared_ptr<const chunk> chunk_at(std::uint64_t number) const;

    // Writer.
    [[nodiscard]] bool fits(std::size_t size) const noexcept;
    void open_chunk(std::size_t capacity);
    std::uint64_t put(std::uint32_t topic_index, std::string_view topic, std::uint64_t sequence,
                      std::string_view body, std::size_t size);
    void make_room(std::size_t capacity);
    void evict_oldest(bool keep_last_values);
    [[nodiscard]] topic_slot *slot_of(std::uint32_t topic_index) const noexcept;
    topic_slot *named_slot(std::uint32_t topic_index, std::string_view topic);
    void held_changed(std::size_t held) noexcept;
    [[nodiscard]] chunk_tally &tally_of(std::uint64_t number) noexcept {
        return _tallies[number % _ring_size];
    }

    // Fixed at construction.
    std::size_t _max_bytes;
    std::size_t _chunk_bytes;
    std::size_t _max_record; // larger records are not retained
    std::size_t _max_topics; // last-value slots
    std::size_t _ring_size;  // more than the chunks ever held at once (retention_log.cpp)
    // Each slot's pointer is written by the writer and copied by readers under the slot's lock.
    std::unique_ptr<chunk_slot[]> _ring;
    // One per 1024 topic indexes, null until the writer stores a new block (release, once);
    // readers load it (acquire) to see the block's slots constructed.
    std::unique_ptr<std::atomic<slot_block *>[]> _blocks;

    // Written by the writer (release), read by readers (acquire).
    // The position of the oldest chunk's first record: stored before the evicted chunks' ring
    // slots are cleared, so a reader that finds a chunk gone and then loads it sees it moved.
    std::atomic<std::uint64_t> _oldest{0};
    // The position after the newest record: stored after its chunk's `committed` and after its
    // chunk went into the ring, so a reader that sees it in a later chunk than its own knows its
    // own is complete, and finds the later one in the ring (or evicted).
    std::atomic<std::uint64_t> _end{0};
    // One past the highest topic index named: publishes the names and blocks below it.
    std::atomic<std::uint32_t> _slots_used{0};

    // Writer only.
    std::unique_ptr<chunk_tally[]> _tallies; // one per ring slot
    chunk *_head = nullptr;                  // the chunk appended to (its ring slot owns it)
    std::uint64_t _next_number = 0;          // the number of the next chunk opened
    std::uint64_t _oldest_number = 0;
    std::size_t _held = 0;       // capacity of the chunks in the ring
    std::size_t _live_bytes = 0; // bytes of the records that are their topic's newest

    // Written by the writer only (relaxed: they publish nothing else), read by any thread.
    std::atomic<std::uint64_t> _bytes{0};
    std::atomic<std::uint64_t> _messages{0};
    std::atomic<std::uint64_t> _evicted{0};
    std::atomic<std::uint64_t> _held_bytes{0};
};

} // namespace zrelay
