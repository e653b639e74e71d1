// replay_protocol: requests and end frames survive a round trip, and every request outside the
// protocol's bounds is refused with a reason rather than passed on.
#include <random>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "envelope.hpp"
#include "replay_protocol.hpp"
#include "zrelay/v1/replay.pb.h"

namespace zrelay {
namespace {

std::variant<replay_request, std::string> decode(const std::string &bytes) {
    return decode_replay_request(bytes.data(), bytes.size());
}

std::string refusal(const std::string &bytes) {
    const auto result = decode(bytes);
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
}

std::string range_bytes(const std::string &topic, std::uint64_t from, std::uint64_t to,
                        std::uint32_t window = 0) {
    v1::ReplayRequest message;
    message.set_window(window);
    message.mutable_range()->set_topic(topic);
    message.mutable_range()->set_from_sequence(from);
    message.mutable_range()->set_to_sequence(to);
    return message.SerializeAsString();
}

TEST(replay_protocol, requests_round_trip) {
    const replay_request range{.request_id = 7,
                               .instance = 0xfeedfacecafebeefULL,
                               .window = 250,
                               .what = replay_range{"a.b", 10, 20}};
    const replay_request snapshot{.request_id = 8, .what = replay_snapshot{"a."}};
    const replay_request credit{.request_id = 7, .what = replay_credit{100}};
    for (const replay_request &request : {range, snapshot, credit}) {
        const auto decoded = decode(encode_replay_request(request));
        ASSERT_TRUE(std::holds_alternative<replay_request>(decoded)) << std::get<1>(decoded);
        EXPECT_EQ(std::get<replay_request>(decoded), request);
    }
}

TEST(replay_protocol, a_window_of_zero_is_the_default) {
    const auto decoded = decode(range_bytes("t", 1, 0, 0));
    ASSERT_TRUE(std::holds_alternative<replay_request>(decoded));
    EXPECT_EQ(std::get<replay_request>(decoded).window, default_replay_window);
}

TEST(replay_protocol, requests_outside_the_bounds_are_refused_with_a_reason) {
    EXPECT_EQ(refusal("\xff\xff\xff"), "not a ReplayRequest");
    EXPECT_EQ(refusal(range_bytes("t", 0, 5)), "from_sequence must be at least 1");
    EXPECT_EQ(refusal(range_bytes("t", 9, 5)), "to_sequence 5 is below from_sequence 9");
    EXPECT_EQ(refusal(range_bytes("t", 1, 0, 10001)), "window 10001 is above 10000");
    EXPECT_EQ(refusal(range_bytes(std::string(256, 'x'), 1, 0)),
              "a topic is at most 255 bytes, got 256");
    EXPECT_EQ(refusal(v1::ReplayRequest().SerializeAsString()),
              "a request needs a range, a snapshot or a credit");
    EXPECT_EQ(refusal(std::string(5000, '\0')), "a request is at most 4096 bytes, got 5000");
    v1::ReplayRequest snapshot;
    snapshot.mutable_snapshot()->set_prefix(std::string(300, 'p'));
    EXPECT_EQ(refusal(snapshot.SerializeAsString()), "a prefix is at most 255 bytes, got 300");
}

TEST(replay_protocol, a_topic_that_is_not_utf8_is_refused) {
    // protobuf refuses the string field while parsing; built from bytes, since the generated
    // setter would not let it be serialized either.
    std::string bytes = range_bytes("ab", 1, 0);
    const std::size_t at = bytes.find("ab");
    ASSERT_NE(at, std::string::npos);
    bytes[at] = '\xc3'; // a lead byte followed by 'b': not UTF-8
    EXPECT_EQ(refusal(bytes), "not a ReplayRequest");
}

TEST(replay_protocol, an_end_frame_round_trips) {
    const replay_end end{.request_id = 3,
                         .status = replay_status::partial,
                         .instance = 42,
                         .messages = 100,
                         .missing = 5,
                         .first_held = 6,
                         .newest_sequence = 105,
                         .error = ""};
    const std::string bytes = encode_replay_end(end);
    const auto decoded = decode_replay_end(bytes.data(), bytes.size());
    ASSERT_TRUE(std::holds_alternative<replay_end>(decoded));
    EXPECT_EQ(std::get<replay_end>(decoded), end);
}

TEST(replay_protocol, an_end_frame_with_an_unknown_status_is_refused) {
    v1::ReplayEnd message;
    message.set_status(static_cast<v1::ReplayEnd::Status>(99));
    const std::string bytes = message.SerializeAsString();
    const auto decoded = decode_replay_end(bytes.data(), bytes.size());
    ASSERT_TRUE(std::holds_alternative<std::string>(decoded));
    EXPECT_EQ(std::get<std::string>(decoded), "unknown status 99");
}

TEST(replay_protocol, random_bytes_decode_or_are_refused) {
    install_protobuf_log_handler(); // protobuf logs an ERROR per invalid UTF-8 string it parses
    std::mt19937 random(20261203);
    std::size_t decoded = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string bytes(random() % 64, '\0');
        for (char &c : bytes)
            c = static_cast<char>(random());
        const auto result = decode(bytes);
        if (std::holds_alternative<replay_request>(result)) {
            ++decoded;
            EXPECT_LE(std::get<replay_request>(result).window, max_replay_window);
        } else {
            EXPECT_FALSE(std::get<std::string>(result).empty());
        }
        (void)decode_replay_end(bytes.data(), bytes.size());
    }
    EXPECT_LT(decoded, 20000U); // most random bytes are not a request
}

} // namespace
} // namespace zrelay
