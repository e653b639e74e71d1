#include "retention_log.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <thread>
#include <utility>

#include "retention_chunk.hpp"
#include "topics.hpp"

namespace zrelay {
namespace {

using retention_layout::number_of;
using retention_layout::offset_of;
using retention_layout::position_of;
using retention_layout::record_header;
using retention_layout::record_size;

constexpr std::size_t min_chunk_bytes = 4096;
constexpr std::size_t max_chunk_bytes = std::size_t{1} << 20;
constexpr std::size_t block_slots = 1024;
// Record sizes and offsets are 32-bit; a record this large would not be retained anyway
// (max_bytes / 2 is the limit) unless max_bytes were over 2 GiB.
constexpr std::size_t largest_record = std::size_t{1} << 30;

// The writer is the only one to write the totals: a load and a store, no read-modify-write.
void add(std::atomic<std::uint64_t> &total, std::uint64_t n) noexcept {
    total.store(total.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
void subtract(std::atomic<std::uint64_t> &total, std::uint64_t n) noexcept {
    total.store(total.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

// The log is written once around a ring far larger than the caches, so every record lands on
// lines in no cache, and the stores wait for them (some 30 ns a line here): fetch the lines the
// next record of about this one's size will take now, while the relay does the rest of its work
// for this message. PREFETCHW asks for them writable (AMD since K8, Intel since Broadwell).
void prefetch_next(const std::byte *at, std::size_t bytes) noexcept {
    for (std::size_t ahead = 0; ahead < std::min<std::size_t>(bytes, 4096); ahead += 64) {
#if defined(__x86_64__)
        asm volatile("prefetchw %0" : : "m"(*(at + ahead)));
#else
        __builtin_prefetch(at + ahead, 1, 3);
#endif
    }
}

} // namespace

struct retention_log::topic_slot {
    // Position + 1 of the topic's newest record; 0: none held. The writer stores it (release)
    // after that record is committed and, the first time, after `name`, so a reader that loads
    // it (acquire) reads both. When the record moves (eviction) it is stored before the old
    // copy's chunk leaves the ring; when it is dropped, 0 is.
    std::atomic<std::uint64_t> position{0};
    std::uint32_t bytes = 0; // writer only: the newest record's size
    bool named = false;      // writer only
    std::string name;        // written once by the writer, then read by anyone
};

struct retention_log::slot_block {
    std::array<topic_slot, block_slots> slots;
};

// Chunks held at once: between appends, at most max_bytes / chunk_bytes (each chunk holds at
// least chunk_bytes); while an append evicts, one more, the copies' new chunk, opened before
// the chunk copied from leaves the ring. A slot is reused only once its chunk was evicted.
retention_log::retention_log(std::size_t max_bytes, std::size_t max_topics)
    : _max_bytes(std::max(max_bytes, 2 * min_chunk_bytes)),
      _chunk_bytes(std::clamp(max_bytes / 16 / 8 * 8, min_chunk_bytes, max_chunk_bytes)),
      _max_record(std::min(_max_bytes / 2, largest_record)),
      _max_topics(std::min<std::size_t>(max_topics, no_topic_index)),
      _ring_size(_max_bytes / _chunk_bytes + 3), _ring(std::make_unique<chunk_slot[]>(_ring_size)),
      _blocks(std::make_unique<std::atomic<slot_block *>[]>((_max_topics + block_slots - 1) /
                                                            block_slots)),
      _tallies(std::make_unique<chunk_tally[]>(_ring_size)) {
    // The bound below (make_room) needs two chunks to fit, the largest record one of them.
    assert(2 * _chunk_bytes <= _max_bytes && _max_record >= _chunk_bytes);
}

retention_log::~retention_log() {
    for (std::size_t b = 0; b < (_max_topics + block_slots - 1) / block_slots; ++b)
        delete _blocks[b].load(std::memory_order_relaxed);
}

std::uint64_t retention_log::oldest() const noexcept {
    return _oldest.load(std::memory_order_acquire);
}

std::uint64_t retention_log::end() const noexcept {
    return _end.load(std::memory_order_acquire);
}

retention_totals retention_log::totals() const noexcept {
    return {.bytes = _bytes.load(std::memory_order_relaxed),
            .messages = _messages.load(std::memory_order_relaxed),
            .evicted = _evicted.load(std::memory_order_relaxed),
            .held = _held_bytes.load(std::memory_order_relaxed)};
}

// ---- Writer ----

void retention_log::append(std::uint32_t topic_index, std::string_view topic,
                           std::uint64_t sequence, std::string_view body) {
    const std::size_t size = record_size(topic.size(), body.size());
    if (size > _max_record) {
        add(_evicted, 1);
        return;
    }
    // The slot first: it may allocate, and a throw then leaves the log as it was.
    topic_slot *slot = named_slot(topic_index, topic);
    if (!fits(size)) {
        const std::size_t capacity = std::max(_chunk_bytes, size);
        make_room(capacity);
        if (!fits(size)) // the last values moved may have opened a chunk with room
            open_chunk(capacity);
    }
    const std::uint64_t position = put(topic_index, topic, sequence, body, size);
    add(_bytes, size);
    add(_messages, 1);
    if (slot != nullptr) {
        if (const std::uint64_t before = slot->position.load(std::memory_order_relaxed);
            before != 0) {
            _live_bytes -= slot->bytes;
            --tally_of(number_of(before - 1)).newest;
        }
        slot->bytes = static_cast<std::uint32_t>(size);
        _live_bytes += size;
        ++tally_of(number_of(position)).newest;
        slot->position.store(position + 1, std::memory_order_release);
    }
    assert(_held <= _max_bytes);
}

bool retention_log::fits(std::size_t size) const noexcept {
    return _head != nullptr &&
           size <= _head->capacity - _head->committed.load(std::memory_order_relaxed);
}

void retention_log::open_chunk(std::size_t capacity) {
    const std::uint64_t number = _next_number;
    assert(number - _oldest_number < _ring_size); // its slot's chunk was evicted
    std::shared_ptr<chunk> c = chunk::make(number, capacity);
    _head = c.get();
    tally_of(number) = {};
    ++_next_number;
    // The slot held nothing or an evicted chunk that a reader may still hold.
    (void)_ring[number % _ring_size].exchange(std::move(c));
    held_changed(_held + capacity);
}

std::uint64_t retention_log::put(std::uint32_t topic_index, std::string_view topic,
                                 std::uint64_t sequence, std::string_view body, std::size_t size) {
    if (!fits(size))
        open_chunk(std::max(_chunk_bytes, size));
    const std::uint32_t offset = _head->committed.load(std::memory_order_relaxed);
    const record_header h{.size = static_cast<std::uint32_t>(size),
                          .topic_index = topic_index,
                          .sequence = sequence,
                          .topic_bytes = static_cast<std::uint32_t>(topic.size()),
                          .body_bytes = static_cast<std::uint32_t>(body.size())};
    std::byte *at = _head->bytes() + offset;
    std::memcpy(at, &h, sizeof h);
    std::memcpy(at + sizeof h, topic.data(), topic.size());
    std::memcpy(at + sizeof h + topic.size(), body.data(), body.size());
    prefetch_next(at + size, std::min(size, _head->capacity - offset - size));
    const auto committed = static_cast<std::uint32_t>(offset + size);
    chunk_tally &tally = tally_of(_head->number);
    ++tally.records;
    tally.bytes += size;
    _head->committed.store(committed, std::memory_order_release);
    _end.store(position_of(_head->number, committed), std::memory_order_release);
    return position_of(_head->number, offset);
}

// Evicts the oldest chunks until one of `capacity` more fits within max_bytes. Each chunk is
// evicted at most once and each record copied at most once: first the chunks before the head,
// their last values moved to the head (chunks from the head on hold only records put after this
// began, so a copy is never copied again); then, if the copies took the room (they pack loosely,
// or the log is a few chunks), the chunks before the head as they are, their last values with
// them. The writer then holds at most max_bytes, the new chunk included: the head alone leaves
// room for it, as no chunk is over max_bytes / 2 and chunk_bytes <= max_bytes / 2.
void retention_log::make_room(std::size_t capacity) {
    if (_head == nullptr)
        return;
    const std::uint64_t head = _head->number;
    while (_held + capacity > _max_bytes && _oldest_number < head)
        evict_oldest(true);
    while (_held + capacity > _max_bytes && _oldest_number < _head->number)
        evict_oldest(false);
}

void retention_log::evict_oldest(bool keep_last_values) {
    const std::uint64_t number = _oldest_number;
    const chunk_tally tally = tally_of(number);
    std::uint64_t dropped = tally.records;
    std::uint64_t dropped_bytes = tally.bytes;
    // The writer's own reference keeps the chunk while its last values are copied out.
    std::shared_ptr<const chunk> victim;
    if (tally.newest > 0) {
        // Some topic's newest is here: walk the records to move (or drop) those.
        victim = _ring[number % _ring_size].load();
        assert(victim != nullptr && victim->number == number);
        const std::uint32_t committed = victim->committed.load(std::memory_order_relaxed);
        for (std::uint32_t offset = 0; offset < committed;) {
            const retained_record r = victim->record_at(offset);
            const std::uint32_t size = victim->header_at(offset).size;
            offset += size;
            topic_slot *slot = slot_of(r.topic_index);
            if (slot == nullptr || slot->position.load(std::memory_order_relaxed) != r.position + 1)
                continue;
            // Its topic's newest: copy it to the head while last values fit in half of
            // max_bytes; else its topic has nothing held any more.
            if (keep_last_values && _live_bytes <= _max_bytes / 2) {
                const std::uint64_t moved = put(r.topic_index, r.topic, r.sequence, r.body, size);
                ++tally_of(number_of(moved)).newest;
                slot->position.store(moved + 1, std::memory_order_release);
                --dropped;
                dropped_bytes -= size;
                continue;
            }
            slot->position.store(0, std::memory_order_release);
            _live_bytes -= size;
        }
    }
    subtract(_bytes, dropped_bytes);
    subtract(_messages, dropped);
    add(_evicted, dropped);
    ++_oldest_number;
    _oldest.store(position_of(_oldest_number, 0), std::memory_order_release);
    // A reader holding the chunk keeps it; the last reference frees it, outside the slot's lock.
    const std::shared_ptr<const chunk> gone = _ring[number % _ring_size].exchange(nullptr);
    held_changed(_held - gone->capacity);
}

retention_log::topic_slot *retention_log::slot_of(std::uint32_t topic_index) const noexcept {
    if (topic_index >= _max_topics)
        return nullptr;
    slot_block *block = _blocks[topic_index / block_slots].load(std::memory_order_relaxed);
    return block != nullptr ? &block->slots[topic_index % block_slots] : nullptr;
}

retention_log::topic_slot *retention_log::named_slot(std::uint32_t topic_index,
                                                     std::string_view topic) {
    if (topic_index >= _max_topics)
        return nullptr;
    std::atomic<slot_block *> &block = _blocks[topic_index / block_slots];
    if (block.load(std::memory_order_relaxed) == nullptr)
        block.store(new slot_block, std::memory_order_release);
    topic_slot &slot = block.load(std::memory_order_relaxed)->slots[topic_index % block_slots];
    if (!slot.named) {
        slot.name = topic;
        slot.named = true;
        if (topic_index >= _slots_used.load(std::memory_order_relaxed))
            _slots_used.store(topic_index + 1, std::memory_order_release);
    }
    return &slot;
}

void retention_log::held_changed(std::size_t held) noexcept {
    _held = held;
    _held_bytes.store(held, std::memory_order_relaxed);
}

// ---- Readers ----

std::shared_ptr<const retention_log::chunk> retention_log::chunk_at(std::uint64_t number) const {
    std::shared_ptr<const chunk> c = _ring[number % _ring_size].load();
    if (c != nullptr && c->number != number)
        c.reset(); // a later chunk took the slot: this one was evicted
    return c;
}

std::uint64_t retention_log::scan_with(std::uint64_t from, std::size_t max_records,
                                       visitor fn) const {
    std::uint64_t position = std::max(from, oldest());
    std::uint64_t after = from;
    std::shared_ptr<const chunk> held;
    for (std::size_t passed = 0; passed < max_records;) {
        const std::uint64_t number = number_of(position);
        const std::uint32_t offset = offset_of(position);
        if (held == nullptr || held->number != number) {
            held = chunk_at(number);
            if (held == nullptr) {
                // Evicted since: go on from the oldest held. Else not opened yet: the end.
                const std::uint64_t oldest_now = oldest();
                if (position >= oldest_now)
                    break;
                position = oldest_now;
                continue;
            }
        }
        if (offset >= held->committed.load(std::memory_order_acquire)) {
            // The end of the chunk so far. If the writer has gone on to a later chunk, this one
            // is complete: its last commit came before _end moved on, so load it once more.
            if (number_of(_end.load(std::memory_order_acquire)) <= number)
                break;
            if (offset >= held->committed.load(std::memory_order_acquire)) {
                position = position_of(number + 1, 0);
                continue;
            }
        }
        const retained_record r = held->record_at(offset);
        ++passed;
        if (!fn(r))
            break; // not taken: the position returned is this record's
        position += held->header_at(offset).size;
        after = position;
    }
    return after;
}

std::uint32_t retention_log::last_values_with(std::uint32_t first, std::size_t max_topics,
                                              std::string_view prefix, visitor fn) const {
    const std::uint32_t used = _slots_used.load(std::memory_order_acquire);
    // (first + max_topics may overflow: SIZE_MAX is "all")
    const std::uint64_t stop =
        first >= used ? first : first + std::min<std::uint64_t>(max_topics, used - first);
    std::shared_ptr<const chunk> held;
    std::uint64_t index = first;
    while (index < stop) {
        const slot_block *block = _blocks[index / block_slots].load(std::memory_order_acquire);
        if (block == nullptr) {
            index = std::min(stop, (index / block_slots + 1) * block_slots);
            continue;
        }
        const topic_slot &slot = block->slots[index % block_slots];
        ++index;
        std::uint64_t position = slot.position.load(std::memory_order_acquire);
        if (position == 0 || !slot.name.starts_with(prefix))
            continue;
        // The record may be moving (evicted, copied to the head) or dropped meanwhile: the
        // writer stores its new position (or 0) before its old chunk leaves the ring, so a
        // chunk found gone means the position has changed; each retry follows the writer.
        while (position != 0) {
            const std::uint64_t number = number_of(position - 1);
            const std::uint32_t offset = offset_of(position - 1);
            if (held == nullptr || held->number != number)
                held = chunk_at(number);
            if (held != nullptr && offset < held->committed.load(std::memory_order_acquire)) {
                if (!fn(held->record_at(offset)))
                    return static_cast<std::uint32_t>(index - 1); // offered again next time
                break;
            }
            const std::uint64_t again = slot.position.load(std::memory_order_acquire);
            if (again == position)
                break; // cannot happen (see above); never spin on it
            position = again;
        }
    }
    return static_cast<std::uint32_t>(index);
}

} // namespace zrelay
