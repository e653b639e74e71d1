// stamper: per-topic sequences, their bound, and stamped messages as protobuf reads them.
#include <string>

#include <gtest/gtest.h>

#include "stamper.hpp"
#include "zrelay/v1/data_message.pb.h"

using namespace zrelay;

TEST(stamper, sequences_count_per_topic_from_one) {
    stamper s(10);
    EXPECT_EQ(s.next_sequence("a"), 1U);
    EXPECT_EQ(s.next_sequence("a"), 2U);
    EXPECT_EQ(s.next_sequence("b"), 1U);
    EXPECT_EQ(s.next_sequence(""), 1U); // the empty topic is a topic like any other
    EXPECT_EQ(s.next_sequence("a"), 3U);
    EXPECT_EQ(s.next_sequence("b"), 2U);
    EXPECT_EQ(s.tracked_topics(), 3U);
}

TEST(stamper, past_the_cap_new_topics_get_sequence_zero_and_old_ones_go_on) {
    stamper s(2);
    EXPECT_EQ(s.next_sequence("a"), 1U);
    EXPECT_EQ(s.next_sequence("b"), 1U);
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(s.next_sequence("other" + std::to_string(i)), 0U);
    EXPECT_EQ(s.tracked_topics(), 2U); // memory stays bounded however many topics come
    EXPECT_EQ(s.next_sequence("a"), 2U);
    EXPECT_EQ(s.next_sequence("b"), 2U);
}

TEST(stamper, instances_are_random_and_never_zero) {
    const stamper a(1);
    const stamper b(1);
    EXPECT_NE(a.instance(), 0U);
    EXPECT_NE(a.instance(), b.instance());
    EXPECT_EQ(stamper(1, 42).instance(), 42U);
}

TEST(stamper, a_stamped_message_reads_as_the_original_plus_the_stamp) {
    zrelay::v1::DataMessage original;
    original.set_topic("t");
    original.set_content("body");
    const std::string bytes = original.SerializeAsString();
    stamper s(10, 7);
    for (std::uint64_t expected = 1; expected <= 3; ++expected) {
        const zmq::message_t stamped =
            s.stamp("t", zmq::message_t(bytes.data(), bytes.size()), 1234);
        zrelay::v1::DataMessage got;
        ASSERT_TRUE(got.ParseFromArray(stamped.data(), static_cast<int>(stamped.size())));
        EXPECT_EQ(got.topic(), "t");
        EXPECT_EQ(got.content(), "body");
        EXPECT_EQ(got.relay_sequence(), expected);
        EXPECT_EQ(got.relay_received_ns(), 1234);
        EXPECT_EQ(got.relay_instance(), 7U);
        EXPECT_EQ(std::string(static_cast<const char *>(stamped.data()), bytes.size()), bytes)
            << "the producer's bytes are not the stamped message's prefix";
    }
    // An empty DataMessage (all defaults) is stamped too.
    const zmq::message_t empty = s.stamp("", zmq::message_t(), 0);
    zrelay::v1::DataMessage got;
    ASSERT_TRUE(got.ParseFromArray(empty.data(), static_cast<int>(empty.size())));
    EXPECT_EQ(got.relay_sequence(), 1U);
}
