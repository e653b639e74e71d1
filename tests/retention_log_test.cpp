// retention_log (daemon/relay/retention_log.*): scan order and content, positions, eviction
// within max_bytes, oversize records, last values kept across eviction and dropped past half of
// max_bytes, and a reader scanning and taking snapshots while the writer appends (what the tsan
// preset checks).
#include "retention_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "topics.hpp"

namespace zrelay {
namespace {

// Sanitized builds run the long loops shorter: they check the same paths, 5-20 times slower.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int long_run = 400'000;
#else
constexpr int long_run = 2'000'000;
#endif

// A body's bytes follow from its topic and sequence, so a reader can tell a torn or misplaced
// one from an intact one.
std::string body_for(std::string_view topic, std::uint64_t sequence, std::size_t size) {
    std::string body(size, '\0');
    std::uint64_t x = (std::hash<std::string_view>{}(topic) ^ (sequence * 0x9E3779B97F4A7C15U)) | 1;
    for (char &c : body) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x);
    }
    return body;
}

std::string topic_name(std::uint32_t index) {
    return "topic/" + std::to_string(index);
}

// What a record takes in its chunk: a 24-byte header, the topic and the body, padded to 8.
std::size_t record_bytes(std::size_t topic, std::size_t body) {
    return (24 + topic + body + 7) / 8 * 8;
}

struct record {
    std::uint64_t position;
    std::uint64_t sequence;
    std::uint32_t topic_index;
    std::string topic;
    std::string body;
};

record copy_of(const retained_record &r) {
    return {r.position, r.sequence, r.topic_index, std::string(r.topic), std::string(r.body)};
}

std::vector<record> scan_all(const retention_log &log, std::uint64_t from = 0) {
    std::vector<record> out;
    const std::uint64_t after = log.scan(from, SIZE_MAX, [&](const retained_record &r) {
        out.push_back(copy_of(r));
        return true;
    });
    EXPECT_EQ(after, out.empty() ? from : log.end());
    return out;
}

std::map<std::uint32_t, record> last_values_of(const retention_log &log,
                                               std::string_view prefix = {}) {
    std::map<std::uint32_t, record> out;
    log.last_values(0, SIZE_MAX, prefix, [&](const retained_record &r) {
        EXPECT_TRUE(out.emplace(r.topic_index, copy_of(r)).second);
    });
    return out;
}

TEST(retention_log, an_empty_log_has_nothing_to_scan) {
    retention_log log(1 << 20, 100);
    EXPECT_EQ(log.oldest(), 0U);
    EXPECT_EQ(log.end(), 0U);
    EXPECT_TRUE(scan_all(log).empty());
    EXPECT_EQ(log.scan(12345, 10, [](const retained_record &) { return true; }), 12345U);
    EXPECT_TRUE(last_values_of(log).empty());
    EXPECT_EQ(log.last_values(7, 10, "", [](const retained_record &) {}), 7U);
    const retention_totals t = log.totals();
    EXPECT_EQ(t.bytes, 0U);
    EXPECT_EQ(t.messages, 0U);
    EXPECT_EQ(t.evicted, 0U);
    EXPECT_EQ(t.held, 0U);
}

TEST(retention_log, chunk_size_is_a_sixteenth_of_max_bytes_within_4_KiB_and_1_MiB) {
    EXPECT_EQ(retention_log(1 << 20, 0).chunk_bytes(), 64U * 1024);
    EXPECT_EQ(retention_log(10'000, 0).chunk_bytes(), 4096U);
    EXPECT_EQ(retention_log(std::size_t{1} << 30, 0).chunk_bytes(), 1U << 20);
    // Below two chunks the log counts as two chunks.
    const retention_log tiny(1000, 0);
    EXPECT_EQ(tiny.chunk_bytes(), 4096U);
    EXPECT_EQ(tiny.max_bytes(), 8192U);
}

TEST(retention_log, scan_passes_records_in_order_with_their_content) {
    retention_log log(1 << 20, 10);
    log.append(0, "a", 1, "first");
    log.append(1, "bb", 1, "");
    log.append(0, "a", 2, std::string(1000, 'x'));
    log.append(no_topic_index, "untracked", 0, "u");
    const auto records = scan_all(log);
    ASSERT_EQ(records.size(), 4U);
    EXPECT_EQ(records[0].topic, "a");
    EXPECT_EQ(records[0].sequence, 1U);
    EXPECT_EQ(records[0].topic_index, 0U);
    EXPECT_EQ(records[0].body, "first");
    EXPECT_EQ(records[1].topic, "bb");
    EXPECT_EQ(records[1].topic_index, 1U);
    EXPECT_EQ(records[1].body, "");
    EXPECT_EQ(records[2].sequence, 2U);
    EXPECT_EQ(records[2].body, std::string(1000, 'x'));
    EXPECT_EQ(records[3].topic_index, no_topic_index);
    EXPECT_EQ(records[3].body, "u");
    EXPECT_EQ(records[0].position, log.oldest());
    for (std::size_t i = 1; i < records.size(); ++i) {
        EXPECT_GT(records[i].position, records[i - 1].position);
        EXPECT_EQ(records[i].position % 8, 0U); // records are 8-byte aligned
    }
    const retention_totals t = log.totals();
    EXPECT_EQ(t.messages, 4U);
    // A 24-byte header, then the topic and body, padded to 8.
    EXPECT_EQ(t.bytes, 32U + 32 + 1032 + 40);
    EXPECT_EQ(t.held, log.chunk_bytes());
    EXPECT_EQ(t.evicted, 0U);
}

TEST(retention_log, a_cursor_resumes_where_the_last_scan_stopped) {
    retention_log log(64 * 1024, 10);
    for (std::uint64_t s = 1; s <= 500; ++s) // several chunks
        log.append(static_cast<std::uint32_t>(s % 3), topic_name(static_cast<std::uint32_t>(s % 3)),
                   s, body_for("", s, s % 50));
    const auto all = scan_all(log);
    ASSERT_EQ(all.size(), 500U);
    EXPECT_GT(all.back().position >> 32, 0U); // crossed into later chunks

    std::vector<record> pieces;
    std::uint64_t cursor = 0;
    for (;;) {
        const std::uint64_t next = log.scan(cursor, 7, [&](const retained_record &r) {
            pieces.push_back(copy_of(r));
            return true;
        });
        if (next == cursor)
            break;
        cursor = next;
    }
    EXPECT_EQ(cursor, log.end());
    ASSERT_EQ(pieces.size(), all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(pieces[i].position, all[i].position);
        EXPECT_EQ(pieces[i].body, all[i].body);
    }

    // fn returning false stops at that record, which is not taken: the next scan offers it again.
    int calls = 0;
    const std::uint64_t stopped = log.scan(0, 100, [&](const retained_record &) {
        ++calls;
        return calls < 3;
    });
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(stopped, all[2].position);
    EXPECT_EQ(log.scan(log.end(), 100, [](const retained_record &) { return true; }), log.end());
}

TEST(retention_log, a_record_larger_than_a_chunk_gets_a_chunk_of_its_own) {
    retention_log log(64 * 1024, 10);
    ASSERT_EQ(log.chunk_bytes(), 4096U);
    log.append(0, "t", 1, "small");
    const std::string big = body_for("t", 2, 10'000);
    log.append(0, "t", 2, big);
    log.append(0, "t", 3, "after");
    const auto records = scan_all(log);
    ASSERT_EQ(records.size(), 3U);
    EXPECT_EQ(records[0].position, 0U);
    EXPECT_EQ(records[1].position, std::uint64_t{1} << 32); // chunk 1, offset 0
    EXPECT_EQ(records[1].body, big);
    EXPECT_EQ(records[2].position, std::uint64_t{2} << 32); // chunk 1 is exactly full
    EXPECT_EQ(records[2].body, "after");
    EXPECT_EQ(log.totals().held, 4096U + 10'032 + 4096);
}

TEST(retention_log, a_record_larger_than_half_of_max_bytes_is_not_retained) {
    retention_log log(64 * 1024, 10);
    log.append(0, "t", 1, "kept");
    const std::uint64_t end = log.end();
    log.append(0, "t", 2, std::string(32 * 1024, 'x')); // with its header, over 32 KiB
    EXPECT_EQ(log.end(), end);
    const retention_totals t = log.totals();
    EXPECT_EQ(t.messages, 1U);
    EXPECT_EQ(t.evicted, 1U);
    const auto last = last_values_of(log);
    ASSERT_EQ(last.size(), 1U);
    EXPECT_EQ(last.at(0).sequence, 1U); // the one before stays the topic's last value
    // Just under the limit is retained, in a chunk of its own.
    log.append(0, "t", 3, std::string(32 * 1024 - 32, 'y'));
    EXPECT_EQ(log.totals().messages, 2U);
    EXPECT_EQ(last_values_of(log).at(0).sequence, 3U);
}

// Millions of appends of mixed sizes (small, a chunk and more, a few not retained) over topics
// with last values, tracked and untracked: after every append the chunks held stay within
// max_bytes, and what is held adds up.
TEST(retention_log, eviction_keeps_the_chunks_held_within_max_bytes) {
    constexpr std::size_t max_bytes = 256 * 1024;
    retention_log log(max_bytes, 64);
    const std::size_t chunk = log.chunk_bytes();
    ASSERT_EQ(chunk, 16U * 1024);
    std::mt19937_64 random(17);
    std::vector<std::uint64_t> sequences(100, 0);
    std::uint64_t appended = 0;
    std::uint64_t not_retained = 0;
    std::uint64_t max_held = 0;
    for (int i = 0; i < long_run; ++i) {
        const auto index = static_cast<std::uint32_t>(random() % 100); // 64 and up: past max_topics
        const std::uint64_t kind = random() % 1000;
        std::size_t size = random() % 200;
        if (kind < 20)
            size = chunk / 2 + random() % chunk; // around a chunk
        else if (kind < 23)
            size = chunk + random() % (max_bytes / 2); // its own chunk, or not retained
        const std::string topic = topic_name(index);
        if (record_bytes(topic.size(), size) > max_bytes / 2)
            ++not_retained;
        log.append(index, topic, ++sequences[index], std::string(size, 'b'));
        ++appended;
        const retention_totals t = log.totals();
        ASSERT_LE(t.held, max_bytes) << "append " << i;
        ASSERT_LE(t.bytes, t.held);
        max_held = std::max(max_held, t.held);
    }
    const retention_totals t = log.totals();
    EXPECT_EQ(t.messages + t.evicted, appended); // a record copied is neither
    EXPECT_GE(t.evicted, not_retained);
    EXPECT_GT(max_held, max_bytes - 2 * chunk); // it does fill up
    const auto held = scan_all(log);
    EXPECT_EQ(held.size(), t.messages);
    std::uint64_t bytes = 0;
    for (const auto &r : held)
        bytes += record_bytes(r.topic.size(), r.body.size());
    EXPECT_EQ(bytes, t.bytes);
}

TEST(retention_log, last_values_survive_the_eviction_of_their_chunk) {
    retention_log log(64 * 1024, 100);
    for (std::uint32_t i = 0; i < 10; ++i)
        log.append(i, topic_name(i), 1, body_for(topic_name(i), 1, 100 + i));
    const std::uint64_t first_end = log.end();
    for (std::uint64_t s = 1; s <= 10'000; ++s)
        log.append(10, "flood", s, body_for("flood", s, 200));
    EXPECT_GT(log.oldest(), first_end); // every chunk the ten were first written to is gone
    const auto last = last_values_of(log);
    ASSERT_EQ(last.size(), 11U);
    for (std::uint32_t i = 0; i < 10; ++i) {
        EXPECT_EQ(last.at(i).topic, topic_name(i));
        EXPECT_EQ(last.at(i).sequence, 1U);
        EXPECT_EQ(last.at(i).body, body_for(topic_name(i), 1, 100 + i));
        EXPECT_GE(last.at(i).position, log.oldest());
    }
    EXPECT_EQ(last.at(10).sequence, 10'000U);
    // The log holds them too, once each, where a scan finds them.
    std::map<std::uint32_t, int> seen;
    for (const auto &r : scan_all(log))
        ++seen[r.topic_index];
    for (std::uint32_t i = 0; i < 10; ++i)
        EXPECT_EQ(seen[i], 1) << i;
    const retention_totals t = log.totals();
    EXPECT_EQ(t.messages + t.evicted, 10'010U); // the copies count as neither
}

// Random topics, sizes and order with last values well within half of max_bytes: after any
// number of evictions every topic's newest record is held, and is what last_values() gives.
TEST(retention_log, a_topics_newest_record_is_never_lost_while_last_values_fit) {
    constexpr std::uint32_t topics = 500;
    retention_log log(256 * 1024, topics);
    std::mt19937_64 random(5);
    std::vector<std::uint64_t> sequences(topics, 0);
    std::vector<std::size_t> sizes(topics, 0);
    for (int i = 0; i < long_run / 10; ++i) {
        // A few busy topics and a long tail of quiet ones whose records the busy ones evict.
        const auto index =
            static_cast<std::uint32_t>(random() % 4 == 0 ? random() % topics : random() % 5);
        sizes[index] = random() % 150;
        const std::string topic = topic_name(index);
        const std::uint64_t sequence = ++sequences[index];
        log.append(index, topic, sequence, body_for(topic, sequence, sizes[index]));
        if (i % 997 != 0)
            continue;
        const auto last = last_values_of(log);
        for (std::uint32_t t = 0; t < topics; ++t) {
            if (sequences[t] == 0) {
                ASSERT_EQ(last.count(t), 0U);
                continue;
            }
            ASSERT_EQ(last.count(t), 1U) << "topic " << t << " after append " << i;
            const record &r = last.at(t);
            ASSERT_EQ(r.sequence, sequences[t]);
            ASSERT_EQ(r.body, body_for(topic_name(t), sequences[t], sizes[t]));
        }
    }
    EXPECT_GT(log.oldest(), 0U); // evictions happened
}

TEST(retention_log, last_values_past_half_of_max_bytes_are_dropped_and_counted) {
    constexpr std::size_t max_bytes = 64 * 1024;
    retention_log log(max_bytes, 1000);
    constexpr std::uint32_t topics = 100;
    const std::size_t each = record_bytes(topic_name(10).size(), 1000);
    for (std::uint32_t i = 0; i < topics; ++i)
        log.append(i, topic_name(i), 1, body_for(topic_name(i), 1, 1000));
    const auto last = last_values_of(log);
    const retention_totals t = log.totals();
    EXPECT_LT(last.size(), topics);
    EXPECT_GE(last.size() * each, max_bytes / 2 - each); // at least half of max_bytes is kept
    EXPECT_EQ(t.messages, last.size());                  // every record held is a last value here
    EXPECT_EQ(t.evicted, topics - last.size());
    EXPECT_LE(t.held, max_bytes);
    // The oldest went: the ones kept are the topics appended last, intact.
    const std::uint32_t first_kept = topics - static_cast<std::uint32_t>(last.size());
    for (std::uint32_t i = first_kept; i < topics; ++i) {
        ASSERT_EQ(last.count(i), 1U) << i;
        EXPECT_EQ(last.at(i).body, body_for(topic_name(i), 1, 1000));
    }
}

// Last values of just over half a chunk take a chunk each: 15 of them are under half of
// max_bytes but, with the head, fill it. Moving them then does not make room; the chunks before
// the head go as they are, and the log stays within max_bytes without copying forever.
TEST(retention_log, loosely_packed_last_values_still_leave_room) {
    constexpr std::size_t max_bytes = 64 * 1024;
    retention_log log(max_bytes, 100);
    ASSERT_EQ(log.chunk_bytes(), 4096U);
    const std::size_t big = 2056 - record_bytes(topic_name(10).size(), 0); // 2056 in all
    for (std::uint32_t i = 0; i < 15; ++i)
        log.append(i, topic_name(i), 1, body_for(topic_name(i), 1, big));
    std::uint64_t sequence = 0;
    for (int i = 0; i < 20'000; ++i) {
        ++sequence;
        log.append(50, topic_name(50), sequence, body_for(topic_name(50), sequence, 80));
        ASSERT_LE(log.totals().held, max_bytes) << "append " << i;
    }
    const auto last = last_values_of(log);
    ASSERT_EQ(last.size(), 16U);
    for (std::uint32_t i = 0; i < 15; ++i)
        EXPECT_EQ(last.at(i).body, body_for(topic_name(i), 1, big)) << i;
    EXPECT_EQ(last.at(50).sequence, sequence);
    const retention_totals t = log.totals();
    EXPECT_EQ(t.messages + t.evicted, 15U + 20'000);
}

TEST(retention_log, a_scan_from_an_evicted_position_starts_at_the_oldest) {
    retention_log log(64 * 1024, 0); // no last values: eviction drops everything
    for (std::uint64_t s = 1; s <= 5000; ++s)
        log.append(0, "t", s, body_for("t", s, 100));
    ASSERT_GT(log.oldest(), 0U);
    std::vector<record> got;
    const std::uint64_t after = log.scan(0, 1, [&](const retained_record &r) {
        got.push_back(copy_of(r));
        return true;
    });
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].position, log.oldest());
    EXPECT_GT(after, log.oldest());
    EXPECT_EQ(got[0].body, body_for("t", got[0].sequence, 100));
    // The oldest held continues where eviction stopped: sequences have no gap up to the end.
    const auto all = scan_all(log, 0);
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.back().sequence, 5000U);
    for (std::size_t i = 1; i < all.size(); ++i)
        ASSERT_EQ(all[i].sequence, all[i - 1].sequence + 1);
    EXPECT_EQ(log.totals().evicted, 5000U - all.size());
}

// A reader that keeps up meets a last value again after it is copied to the head: the same
// topic and sequence (and bytes), so it can skip it. Along the log a topic's sequences never
// go down.
TEST(retention_log, copied_records_are_seen_twice_and_sequences_never_go_down) {
    constexpr std::uint32_t topics = 50;
    retention_log log(64 * 1024, topics);
    std::mt19937_64 random(9);
    std::vector<std::uint64_t> sequences(topics, 0);
    std::vector<std::uint64_t> seen(topics, 0);
    std::uint64_t cursor = 0;
    std::uint64_t repeats = 0;
    for (int i = 1; i <= long_run / 10; ++i) {
        const auto index = static_cast<std::uint32_t>(random() % 8 == 0 ? random() % topics : 0);
        const std::string topic = topic_name(index);
        const std::uint64_t sequence = ++sequences[index];
        log.append(index, topic, sequence, body_for(topic, sequence, sequence % 300));
        if (i % 13 != 0 && i != long_run / 10)
            continue;
        cursor = log.scan(cursor, SIZE_MAX, [&](const retained_record &r) {
            EXPECT_EQ(r.topic, topic_name(r.topic_index));
            EXPECT_EQ(r.body, body_for(r.topic, r.sequence, r.sequence % 300));
            EXPECT_GE(r.sequence, seen[r.topic_index]);
            if (r.sequence == seen[r.topic_index])
                ++repeats;
            seen[r.topic_index] = r.sequence;
            return true;
        });
        ASSERT_EQ(cursor, log.end());
    }
    EXPECT_GT(repeats, 0U);
    EXPECT_EQ(seen, sequences); // nothing newest was lost either
    std::vector<std::uint64_t> along(topics, 0);
    for (const auto &r : scan_all(log)) {
        EXPECT_GT(r.sequence, along[r.topic_index]); // once each in the log at any moment
        along[r.topic_index] = r.sequence;
    }
}

TEST(retention_log, topics_without_an_index_or_past_max_topics_have_no_last_value) {
    retention_log log(64 * 1024, 2);
    log.append(0, "a", 1, "a1");
    log.append(2, "c", 1, "c1"); // index 2 is past max_topics
    log.append(no_topic_index, "u", 0, "u0");
    const auto last = last_values_of(log);
    ASSERT_EQ(last.size(), 1U);
    EXPECT_EQ(last.at(0).body, "a1");
    for (std::uint64_t s = 2; s <= 3000; ++s)
        log.append(0, "a", s, body_for("a", s, 100));
    std::map<std::string, int> held;
    for (const auto &r : scan_all(log))
        ++held[r.topic];
    EXPECT_EQ(held.count("c"), 0U); // evicted, not copied
    EXPECT_EQ(held.count("u"), 0U);
}

TEST(retention_log, last_values_filter_by_prefix_and_resume_from_an_index) {
    retention_log log(1 << 20, 5000);
    log.append(0, "a/1", 1, "x");
    log.append(1, "b/1", 1, "x");
    log.append(2, "a/2", 1, "x");
    log.append(4000, "a/far", 1, "x"); // a block of its own; the ones between are empty
    log.append(2, "a/2", 2, "y");
    const auto a = last_values_of(log, "a/");
    ASSERT_EQ(a.size(), 3U);
    EXPECT_EQ(a.at(2).sequence, 2U);
    EXPECT_EQ(a.at(4000).topic, "a/far");
    EXPECT_EQ(last_values_of(log, "b").size(), 1U);
    EXPECT_EQ(last_values_of(log, "").size(), 4U);

    // fn returning false stops at that topic, which is not taken: the index returned is its own.
    const std::uint32_t at = log.last_values(
        0, 100'000, "a/", [](const retained_record &r) { return r.topic_index != 2; });
    EXPECT_EQ(at, 2U);
    std::vector<std::uint32_t> order;
    log.last_values(at, 100'000, "a/", [&](const retained_record &r) {
        order.push_back(r.topic_index);
        return true;
    });
    EXPECT_EQ(order, (std::vector<std::uint32_t>{2, 4000}));
    // A range of indexes looks at those only.
    std::vector<std::uint32_t> in_range;
    EXPECT_EQ(log.last_values(1, 2, "",
                              [&](const retained_record &r) { in_range.push_back(r.topic_index); }),
              3U);
    EXPECT_EQ(in_range, (std::vector<std::uint32_t>{1, 2}));
    // SIZE_MAX indexes from anywhere is "the rest", not an overflow.
    std::vector<std::uint32_t> rest;
    EXPECT_EQ(log.last_values(3, SIZE_MAX, "",
                              [&](const retained_record &r) { rest.push_back(r.topic_index); }),
              4001U);
    EXPECT_EQ(rest, (std::vector<std::uint32_t>{4000}));
}

TEST(retention_log, a_log_of_two_chunks_still_keeps_its_last_value) {
    retention_log log(1000, 10); // counts as 8 KiB: two 4 KiB chunks
    for (std::uint64_t s = 1; s <= 1000; ++s) {
        log.append(0, "t", s, body_for("t", s, s % 500));
        ASSERT_LE(log.totals().held, log.max_bytes());
        const auto last = last_values_of(log);
        ASSERT_EQ(last.size(), 1U);
        ASSERT_EQ(last.at(0).sequence, s);
    }
}

// The writer appends while one reader scans from its cursor and another takes snapshots of the
// last values: every record either sees is intact, a topic's sequences only go up (a record
// copied at eviction comes again with the same sequence and bytes), and when the writer is done
// the scanner has seen every topic's newest record. No sleeps: the threads run as they may.
TEST(retention_log, readers_see_intact_records_in_order_while_the_writer_appends) {
    constexpr std::uint32_t topics = 16;
    constexpr int appends = long_run * 3 / 4;
    retention_log log(256 * 1024, topics);
    const auto size_for = [](std::uint64_t sequence) { return (sequence * 7919) % 400; };
    std::atomic<bool> done{false};

    std::vector<std::uint64_t> scanned(topics, 0);
    std::uint64_t scanned_records = 0;
    std::thread scanner([&] {
        std::uint64_t cursor = 0;
        for (;;) {
            const bool last_round = done.load(std::memory_order_acquire);
            std::uint64_t next = cursor;
            do {
                cursor = next;
                next = log.scan(cursor, 1000, [&](const retained_record &r) {
                    if (r.topic_index >= topics || r.topic != topic_name(r.topic_index) ||
                        r.body != body_for(r.topic, r.sequence, size_for(r.sequence)) ||
                        r.sequence < scanned[r.topic_index]) {
                        ADD_FAILURE() << "record at " << r.position << " seq " << r.sequence;
                        return false;
                    }
                    scanned[r.topic_index] = r.sequence;
                    ++scanned_records;
                    return true;
                });
            } while (next != cursor);
            if (last_round)
                return;
        }
    });
    std::vector<std::uint64_t> snapshot(topics, 0);
    std::uint64_t snapshots = 0;
    std::thread snapshotter([&] {
        while (!done.load(std::memory_order_acquire)) {
            log.last_values(0, topics, "", [&](const retained_record &r) {
                if (r.topic != topic_name(r.topic_index) ||
                    r.body != body_for(r.topic, r.sequence, size_for(r.sequence)) ||
                    r.sequence < snapshot[r.topic_index])
                    ADD_FAILURE() << "last value of " << r.topic << " seq " << r.sequence;
                snapshot[r.topic_index] = r.sequence;
            });
            ++snapshots;
        }
    });

    std::vector<std::uint64_t> sequences(topics, 0);
    std::mt19937_64 random(3);
    for (int i = 0; i < appends; ++i) {
        const auto index = static_cast<std::uint32_t>(random() % 4 == 0 ? random() % topics : 0);
        const std::string topic = topic_name(index);
        const std::uint64_t sequence = ++sequences[index];
        log.append(index, topic, sequence, body_for(topic, sequence, size_for(sequence)));
    }
    done.store(true, std::memory_order_release);
    scanner.join();
    snapshotter.join();

    EXPECT_EQ(scanned, sequences);
    EXPECT_GT(scanned_records, 0U);
    EXPECT_GT(snapshots, 0U);
    EXPECT_GT(log.oldest(), 0U); // it evicted while they read
}

} // namespace
} // namespace zrelay
