// stamper: instance ids, and stamped messages as protobuf reads them.
#include <string>

#include <gtest/gtest.h>

#include "stamper.hpp"
#include "zrelay/v1/data_message.pb.h"

using namespace zrelay;

TEST(stamper, instances_are_random_and_never_zero) {
    const stamper a;
    const stamper b;
    EXPECT_NE(a.instance(), 0U);
    EXPECT_NE(a.instance(), b.instance());
    EXPECT_EQ(stamper(42).instance(), 42U);
}

TEST(stamper, a_stamped_message_reads_as_the_original_plus_the_stamp) {
    zrelay::v1::DataMessage original;
    original.set_topic("t");
    original.set_content("body");
    const std::string bytes = original.SerializeAsString();
    const stamper s(7);
    for (std::uint64_t expected = 1; expected <= 3; ++expected) {
        const zmq::message_t stamped =
            s.stamp(zmq::message_t(bytes.data(), bytes.size()), expected, 1234);
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
    const zmq::message_t empty = s.stamp(zmq::message_t(), 1, 0);
    zrelay::v1::DataMessage got;
    ASSERT_TRUE(got.ParseFromArray(empty.data(), static_cast<int>(empty.size())));
    EXPECT_EQ(got.relay_sequence(), 1U);
}
