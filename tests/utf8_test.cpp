// utf8: valid_utf8(), the relay's one call into protobuf's internals, held to UTF-8's definition
// (RFC 3629, section 4) so that a protobuf whose rule changed fails here. Exhaustive up to two
// bytes, every lead byte and continuation boundary for three and four, every position of a bad
// byte in a long ASCII run (protobuf checks eight bytes at a time there), and random strings.
#include "utf8.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>

namespace zrelay {
namespace {

// RFC 3629's UTF8-octets, read directly off its ABNF: no overlong forms, no surrogates
// (ED A0..BF), nothing past U+10FFFF (F4 90.. and F5..FF).
bool reference(const std::string &s) {
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = at(i);
        std::size_t n = 0;
        unsigned lo = 0x80;
        unsigned hi = 0xBF; // the second byte's range
        if (c <= 0x7F) {
            ++i;
            continue;
        }
        if (in(c, 0xC2, 0xDF)) {
            n = 2;
        } else if (in(c, 0xE0, 0xEF)) {
            n = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (in(c, 0xF0, 0xF4)) {
            n = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (i + n > s.size() || !in(at(i + 1), lo, hi))
            return false;
        for (std::size_t k = 2; k < n; ++k)
            if (!in(at(i + k), 0x80, 0xBF))
                return false;
        i += n;
    }
    return true;
}

void expect_agrees(const std::string &s) {
    ASSERT_EQ(valid_utf8(s), reference(s)) << testing::PrintToString(s);
}

std::string bytes(std::initializer_list<unsigned> list) {
    std::string s;
    for (const unsigned b : list)
        s.push_back(static_cast<char>(b));
    return s;
}

TEST(utf8, known_cases) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain ascii"));
    EXPECT_TRUE(valid_utf8("\xc3\xa9t\xc3\xa9")); // été
    EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
    EXPECT_FALSE(valid_utf8("\xc0\x80"));         // overlong NUL
    EXPECT_FALSE(valid_utf8("\xe0\x9f\xbf"));     // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));     // a surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80")); // past U+10FFFF
    EXPECT_FALSE(valid_utf8("abc\xc3"));          // cut short
    EXPECT_FALSE(valid_utf8(std::string_view("\xff")));
}

TEST(utf8, every_string_of_up_to_two_bytes) {
    for (unsigned a = 0; a < 256; ++a) {
        expect_agrees(bytes({a}));
        for (unsigned b = 0; b < 256; ++b)
            expect_agrees(bytes({a, b}));
    }
}

TEST(utf8, three_and_four_byte_forms_at_every_boundary) {
    // Bytes on each side of every range RFC 3629 draws, and one from inside each.
    constexpr std::array<unsigned, 12> edges{0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90,
                                             0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xFF};
    for (unsigned lead = 0xE0; lead < 0x100; ++lead)
        for (unsigned b = 0; b < 256; ++b)
            for (const unsigned c : edges) {
                expect_agrees(bytes({lead, b, c}));
                for (const unsigned d : edges)
                    expect_agrees(bytes({lead, b, c, d}));
            }
}

TEST(utf8, a_bad_byte_anywhere_in_a_long_ascii_run) {
    for (std::size_t at = 0; at < 72; ++at)
        for (const unsigned bad : {0x80U, 0xC3U, 0xEDU, 0xFFU}) {
            std::string s(72, 'a');
            s[at] = static_cast<char>(bad);
            expect_agrees(s);
            s.insert(at + 1, "\xa9"); // completes C3 as é; leaves the others bad
            expect_agrees(s);
        }
}

TEST(utf8, random_strings) {
    std::mt19937 rng(16); // fixed: a failure reproduces
    std::uniform_int_distribution<int> length(0, 40);
    std::uniform_int_distribution<int> kind(0, 3);
    std::uniform_int_distribution<int> any(0, 255);
    std::uniform_int_distribution<int> ascii(0x20, 0x7E);
    std::uniform_int_distribution<int> cont(0x80, 0xBF);
    for (int n = 0; n < 200000; ++n) {
        std::string s;
        for (int i = length(rng); i > 0; --i) {
            const int k = kind(rng); // mostly plausible text, so valid strings come up too
            s.push_back(static_cast<char>(k == 0 ? any(rng) : k == 1 ? cont(rng) : ascii(rng)));
        }
        expect_agrees(s);
    }
}

} // namespace
} // namespace zrelay
