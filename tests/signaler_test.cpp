#include "signaler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <zmq.hpp>

namespace zrelay {
namespace {

using std::chrono::milliseconds;

TEST(signaler, wait_times_out_without_a_send) {
    signaler s;
    EXPECT_FALSE(s.wait(milliseconds(0)));
    EXPECT_FALSE(s.wait(milliseconds(5)));
}

TEST(signaler, a_send_before_the_wait_is_not_lost) {
    signaler s;
    s.send();
    EXPECT_TRUE(s.wait(milliseconds(0)));
    EXPECT_FALSE(s.wait(milliseconds(0))); // consumed
}

TEST(signaler, many_sends_collapse_into_one_wakeup) {
    signaler s;
    for (int i = 0; i < 5; ++i)
        s.send();
    EXPECT_TRUE(s.consume());
    EXPECT_FALSE(s.consume());
}

TEST(signaler, wakes_a_thread_sleeping_without_timeout) {
    signaler s;
    bool woke = false;
    std::thread sleeper([&] { woke = s.wait(milliseconds(-1)); });
    s.send();
    sleeper.join(); // a lost wake-up hangs here and CTest's timeout fails the test
    EXPECT_TRUE(woke);
}

TEST(signaler, is_pollable_alongside_zmq_sockets) {
    zmq::context_t ctx;
    zmq::socket_t pull(ctx, zmq::socket_type::pull);
    pull.bind("inproc://signaler-test");
    signaler s;
    zmq::pollitem_t items[] = {{pull.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, s.fd(), ZMQ_POLLIN, 0}};
    EXPECT_EQ(zmq::poll(items, 2, milliseconds(0)), 0);
    s.send();
    ASSERT_EQ(zmq::poll(items, 2, milliseconds(1000)), 1);
    EXPECT_TRUE(items[1].revents & ZMQ_POLLIN);
    EXPECT_FALSE(items[0].revents & ZMQ_POLLIN);
    EXPECT_TRUE(s.consume());
    EXPECT_EQ(zmq::poll(items, 2, milliseconds(0)), 0);
}

} // namespace
} // namespace zrelay
