// Sends one DataMessage to zrelayd: producer [TOPIC [CONTENT]] (default: example hello).
// ZRELAY_INGRESS names the relay's ingress (default tcp://127.0.0.1:5555).
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <zmq.hpp>

#include "zrelay/v1/data_message.pb.h"

int main(int argc, char **argv) try {
    zrelay::v1::DataMessage message;
    message.set_topic(argc > 1 ? argv[1] : "example");
    message.set_content(argc > 2 ? argv[2] : "hello");
    message.set_timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>( // since epoch
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
    const char *ingress = std::getenv("ZRELAY_INGRESS"); // NOLINT(concurrency-mt-unsafe): 1 thread

    zmq::context_t context;
    zmq::socket_t push(context, zmq::socket_type::push);
    // No waiting for the connection: PUSH queues the message until it is up. The context's
    // destructor waits for it to leave, up to the linger (5 s), so exiting right away loses
    // nothing.
    push.set(zmq::sockopt::linger, 5000);
    push.connect(ingress != nullptr ? ingress : "tcp://127.0.0.1:5555");
    push.send(zmq::buffer(message.SerializeAsString()), zmq::send_flags::none);
} catch (const std::exception &e) {
    std::cerr << "producer: " << e.what() << '\n';
    return 1;
}
