// zmtp_meter: the frames of a ZMTP stream, in every framing libzmq accepts, fed whole or a byte
// at a time.
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "zmtp_meter.hpp"

using namespace zrelay;

namespace {

constexpr frame_limits limits{.max_message_bytes = 1000, .max_message_frames = 4};

std::string v3_greeting() {
    return std::string("\xff\0\0\0\0\0\0\0\0\x7f\x03\x01", 12) + std::string("NULL") +
           std::string(16 + 32, '\0');
}
std::string v2_greeting() {
    return std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x01\x08", 12);
}
// ZMTP 2/3 frame.
std::string frame(std::size_t size, bool more, bool command = false) {
    std::string out;
    const auto flags = static_cast<char>((more ? 1 : 0) | (size > 255 ? 2 : 0) | (command ? 4 : 0));
    out += flags;
    if (size > 255)
        for (int shift = 56; shift >= 0; shift -= 8)
            out += static_cast<char>((std::uint64_t{size} >> shift) & 0xFFU);
    else
        out += static_cast<char>(size);
    return out + std::string(size, 'x');
}
// ZMTP 1.0 frame: the size counts the flags byte.
std::string v1_frame(std::size_t body, bool more) {
    std::string out;
    if (body + 1 < 255) {
        out += static_cast<char>(body + 1);
    } else {
        out += '\xff';
        for (int shift = 56; shift >= 0; shift -= 8)
            out += static_cast<char>((std::uint64_t{body + 1} >> shift) & 0xFFU);
    }
    out += static_cast<char>(more ? 1 : 0);
    return out + std::string(body, 'y');
}

// Feeds `stream` whole and a byte at a time; both must agree. True if within the limits.
bool within(const std::string &stream) {
    zmtp_meter whole(limits);
    const bool a = whole.feed(reinterpret_cast<const std::uint8_t *>(stream.data()), stream.size());
    zmtp_meter bytes(limits);
    bool b = true;
    for (const char c : stream) {
        const auto byte = static_cast<std::uint8_t>(c);
        b = bytes.feed(&byte, 1) && b;
    }
    EXPECT_EQ(a, b) << "whole and byte-wise feeding disagree";
    EXPECT_EQ(whole.exceeded(), !a);
    return a;
}

} // namespace

TEST(zmtp_meter, v3_messages_within_the_limits_pass_however_many) {
    std::string stream = v3_greeting() + frame(26, false, true); // READY
    for (int i = 0; i < 100; ++i)
        stream += frame(300, true) + frame(300, true) + frame(300, true) + frame(100, false);
    EXPECT_TRUE(within(stream));
}

TEST(zmtp_meter, v3_a_message_past_the_frame_limit_is_caught) {
    EXPECT_FALSE(within(v3_greeting() + frame(1, true) + frame(1, true) + frame(1, true) +
                        frame(1, true) + frame(1, false)));
    // Empty frames count too: the costliest kind for the receiver.
    std::string empties = v3_greeting();
    for (int i = 0; i < 10; ++i)
        empties += frame(0, true);
    EXPECT_FALSE(within(empties));
}

TEST(zmtp_meter, v3_a_message_past_the_byte_limit_is_caught_at_the_header) {
    // The frame that passes the limit is caught before its body arrives.
    EXPECT_FALSE(within(v3_greeting() + frame(600, true) + frame(401, false).substr(0, 9)));
    EXPECT_TRUE(within(v3_greeting() + frame(600, true) + frame(400, false)));
    EXPECT_FALSE(within(v3_greeting() + frame(1001, false)));
    // A size near 2^64 does not wrap the sum.
    std::string huge = v3_greeting() + frame(10, true) + "\x03" + std::string(8, '\xff');
    EXPECT_FALSE(within(huge));
}

TEST(zmtp_meter, the_count_starts_again_after_a_last_frame) {
    std::string stream = v3_greeting();
    for (int i = 0; i < 50; ++i)
        stream += frame(1, true) + frame(1, true) + frame(1, true) + frame(997, false);
    EXPECT_TRUE(within(stream));
}

TEST(zmtp_meter, v2_framing_after_a_12_byte_greeting) {
    EXPECT_TRUE(within(v2_greeting() + frame(0, false) + frame(500, true) + frame(500, false)));
    EXPECT_FALSE(within(v2_greeting() + frame(0, false) + frame(500, true) + frame(501, false)));
}

TEST(zmtp_meter, v1_framing_without_a_signature) {
    // The first byte is a size, not 0xFF: ZMTP 1.0 from byte 0.
    EXPECT_TRUE(within(v1_frame(0, false) + v1_frame(300, true) + v1_frame(700, false)));
    EXPECT_FALSE(within(v1_frame(0, false) + v1_frame(300, true) + v1_frame(701, false)));
    std::string many;
    for (int i = 0; i < 5; ++i)
        many += v1_frame(2, true);
    EXPECT_FALSE(within(many));
    // 0xFF first and bit 0 of the tenth byte (the size's last byte) clear: a ZMTP 1.0 long
    // size, as libzmq reads it (with that bit set, libzmq reads a signature instead).
    EXPECT_TRUE(within(v1_frame(401, false) + v1_frame(10, false)));
    EXPECT_FALSE(within(v1_frame(1001, false)));
}

namespace {

// libzmq 4.3.4's SUBSCRIBE (or CANCEL) command for `prefix`: an 8-byte size without the long
// flag when the name pushes the frame past 255 bytes (libzmq issue #4367).
std::string miscoded_command(std::string_view name, const std::string &prefix) {
    const std::size_t size = name.size() + prefix.size();
    std::string out(1, '\x04');
    if (size > 255)
        for (int shift = 56; shift >= 0; shift -= 8)
            out += static_cast<char>((std::uint64_t{size} >> shift) & 0xFFU);
    else
        out += static_cast<char>(size);
    return out + std::string(name) + prefix;
}
const std::string subscribe_name("\x09SUBSCRIBE", 10);
const std::string cancel_name("\x06"
                              "CANCEL",
                              7);

// Feeds `stream` through filter() in batches of `batch` bytes, carrying what it holds back as
// frame_guard does; returns what the reader got (empty if a limit was passed).
std::string filter_in_batches(const std::string &stream, std::size_t batch) {
    zmtp_meter meter(limits);
    std::string out;
    std::string held;
    for (std::size_t at = 0; at < stream.size(); at += batch) {
        std::string buffer = held + stream.substr(at, batch);
        const filtered r =
            meter.filter(reinterpret_cast<std::uint8_t *>(buffer.data()), buffer.size());
        if (!r.within)
            return {};
        EXPECT_LE(buffer.size() - r.taken, zmtp_meter::max_held);
        out += buffer.substr(0, r.taken);
        held = buffer.substr(r.taken);
    }
    EXPECT_EQ(held, "") << "bytes held at the end of a whole stream";
    return out;
}

// The framing after feeding `stream`, a byte at a time (libzmq may read the greeting so).
zmtp_framing framing_after(const std::string &stream) {
    zmtp_meter meter(limits);
    for (const char c : stream) {
        const auto byte = static_cast<std::uint8_t>(c);
        (void)meter.feed(&byte, 1);
    }
    return meter.framing();
}

} // namespace

TEST(zmtp_meter, a_miscoded_subscription_gets_its_long_flag_back_however_it_arrives) {
    for (const std::size_t length : {246U, 250U, 255U}) {
        const std::string prefix(length, 'p');
        const std::string before = v3_greeting() + frame(26, false, true) + frame(3, false);
        const std::string bad = miscoded_command(subscribe_name, prefix);
        std::string good = bad;
        good[0] = '\x06'; // long | command: what libzmq 4.3.5 writes
        const std::string after = frame(5, false, true) + frame(2, false);
        for (const std::size_t batch : {1U, 2U, 7U, 11U, 19U, 64U, 4096U})
            EXPECT_EQ(filter_in_batches(before + bad + after, batch), before + good + after)
                << "prefix " << length << ", batches of " << batch;
    }
    for (const std::size_t length : {249U, 255U}) {
        const std::string bad = miscoded_command(cancel_name, std::string(length, 'c'));
        std::string good = bad;
        good[0] = '\x06';
        for (const std::size_t batch : {1U, 3U, 4096U})
            EXPECT_EQ(filter_in_batches(v3_greeting() + bad, batch), v3_greeting() + good);
    }
}

TEST(zmtp_meter, sound_commands_and_other_framings_pass_unchanged) {
    // Correct subscriptions (short and long), a PING, a command with flag 0x04 as the last
    // byte of a batch, and the same byte values in ZMTP 2.0, where there are no commands.
    const std::string v3 = v3_greeting() + frame(26, false, true) +
                           miscoded_command(subscribe_name, std::string(245, 'a')) +
                           frame(266, false, true) + frame(7, false, true) + frame(0, false);
    const std::string v2 =
        v2_greeting() + frame(0, false) + "\x04" + std::string(1, '\0') + frame(0, false);
    for (const std::size_t batch : {1U, 5U, 4096U}) {
        EXPECT_EQ(filter_in_batches(v3, batch), v3);
        EXPECT_EQ(filter_in_batches(v2, batch), v2);
    }
}

TEST(zmtp_meter, filter_still_enforces_the_limits) {
    EXPECT_EQ(filter_in_batches(v3_greeting() + frame(1001, false), 64), "");
}

TEST(zmtp_meter, the_framing_is_known_at_the_byte_libzmq_decides_it) {
    EXPECT_EQ(framing_after(""), zmtp_framing::unknown);
    EXPECT_EQ(framing_after("\x05"), zmtp_framing::v1); // not 0xFF: junk reads as ZMTP 1.0
    const std::string v3 = v3_greeting();
    EXPECT_EQ(framing_after(v3.substr(0, 10)), zmtp_framing::unknown);
    EXPECT_EQ(framing_after(v3.substr(0, 11)), zmtp_framing::v3);
    EXPECT_EQ(framing_after(v2_greeting().substr(0, 11)), zmtp_framing::v2);
    EXPECT_EQ(framing_after(std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x00", 11)), zmtp_framing::v1);
    EXPECT_EQ(framing_after(v1_frame(401, false).substr(0, 10)), zmtp_framing::v1);
    EXPECT_EQ(framing_after(std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x07", 11)), zmtp_framing::v3);
}

TEST(zmtp_meter, counts_the_bytes_of_the_stream_once) {
    for (const std::string &stream :
         {v3_greeting() + frame(10, false), v1_frame(401, false), std::string("\x05")}) {
        zmtp_meter meter(limits);
        (void)meter.feed(reinterpret_cast<const std::uint8_t *>(stream.data()), stream.size());
        EXPECT_EQ(meter.stream_bytes(), stream.size());
    }
}
