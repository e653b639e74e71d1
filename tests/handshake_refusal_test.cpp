// handshake_refusal: which monitor events are refusals, and of which kind.
#include <cerrno>

#include <gtest/gtest.h>
#include <zmq.h>

#include "handshake_refusal.hpp"

using namespace zrelay;

TEST(handshake_refusal, protocol_errors_by_kind) {
    for (const bool curve : {true, false}) {
        EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                             ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, curve),
                  refusal_reason::mechanism);
        EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                             ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, curve),
                  refusal_reason::cryptographic);
        EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                             ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO, curve),
                  refusal_reason::malformed);
        EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                             ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, curve),
                  refusal_reason::malformed);
    }
}

TEST(handshake_refusal, the_frame_guards_codes_on_any_side) {
    for (const bool curve : {true, false}) {
        EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPROTO, curve),
                  refusal_reason::malformed);
        EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ENOPROTOOPT, curve),
                  refusal_reason::mechanism);
    }
}

TEST(handshake_refusal, a_closed_handshake_counts_only_where_curve_keeps_zmtp2_out) {
    EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, true),
              refusal_reason::incomplete);
    EXPECT_EQ(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ECONNRESET, true),
              refusal_reason::incomplete);
    // libzmq 4.3.4 reports every ZMTP 1.0/2.0 disconnection so, working clients' included.
    EXPECT_FALSE(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, false));
}

TEST(handshake_refusal, zap_refusals_and_other_events_are_not_counted_here) {
    // The authenticator counts what it refuses; counting libzmq's report too would double it.
    EXPECT_FALSE(refusal_of(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, true));
    EXPECT_FALSE(refusal_of(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, true));
    EXPECT_FALSE(refusal_of(ZMQ_EVENT_DISCONNECTED, 12, true));
    EXPECT_FALSE(refusal_of(ZMQ_EVENT_ACCEPTED, 12, false));
}

TEST(handshake_refusal, names_are_the_metric_labels) {
    EXPECT_EQ(to_string(relay_side::ingress), "ingress");
    EXPECT_EQ(to_string(relay_side::egress), "egress");
    EXPECT_EQ(to_string(refusal_reason::unknown_key), "unknown_key");
    EXPECT_EQ(to_string(refusal_reason::mechanism), "mechanism");
    EXPECT_EQ(to_string(refusal_reason::cryptographic), "cryptographic");
    EXPECT_EQ(to_string(refusal_reason::malformed), "malformed");
    EXPECT_EQ(to_string(refusal_reason::incomplete), "incomplete");
}

TEST(handshake_refusal, protocol_errors_are_described_in_words) {
    EXPECT_EQ(describe_refusal(refusal_reason::malformed,
                               ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO),
              "a malformed handshake command 0x10000013");
    EXPECT_EQ(describe_refusal(refusal_reason::malformed,
                               ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
              "a malformed handshake command 0x10000011");
    EXPECT_EQ(
        describe_refusal(refusal_reason::cryptographic, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
        "a cryptographic error (the wrong server key?)");
    EXPECT_EQ(describe_refusal(refusal_reason::malformed, ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED),
              "protocol error 0x20000000");
}
