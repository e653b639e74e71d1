// Prints what zrelayd publishes on a topic: subscriber [TOPIC] (default: example). Prints "ready"
// once its subscription is in effect at the relay, then "TOPIC: CONTENT" for each message.
// ZRELAY_EGRESS and ZRELAY_INGRESS name the relay's endpoints (default tcp://127.0.0.1:5556,
// :5555).
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include <zmq.hpp>

#include "zrelay/v1/data_message.pb.h"

int main(int argc, char **argv) try {
    const char *egress = std::getenv("ZRELAY_EGRESS");   // NOLINT(concurrency-mt-unsafe): 1 thread
    const char *ingress = std::getenv("ZRELAY_INGRESS"); // NOLINT(concurrency-mt-unsafe)
    zmq::context_t context;
    zmq::socket_t sub(context, zmq::socket_type::sub);
    zmq::socket_t push(context, zmq::socket_type::push); // for the canaries
    sub.connect(egress != nullptr ? egress : "tcp://127.0.0.1:5556");
    push.connect(ingress != nullptr ? ingress : "tcp://127.0.0.1:5555");

    // Receives one message and prints it unless it is the relay's own; returns its topic.
    const auto receive = [&sub] {
        zmq::message_t topic;
        zmq::message_t body;
        (void)sub.recv(topic);
        (void)sub.recv(body);
        zrelay::v1::DataMessage message;
        if (!topic.to_string_view().starts_with("$zrelay/") &&
            message.ParseFromArray(body.data(), static_cast<int>(body.size())))
            std::cout << topic.to_string_view() << ": " << message.content() << std::endl;
        return topic.to_string();
    };
    // Subscribes to `topic` and returns once the relay has published a canary on it to us.
    const auto ping = [&](const std::string &topic) {
        sub.set(zmq::sockopt::subscribe, topic);
        zrelay::v1::DataMessage canary;
        canary.set_topic(topic);
        for (;;) {
            push.send(zmq::buffer(canary.SerializeAsString()), zmq::send_flags::none);
            zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
            while (zmq::poll(&item, 1, std::chrono::milliseconds(100)) > 0)
                if (receive() == topic)
                    return;
        }
    };

    // Slow joiner (README.md here): a canary on a topic of our own proves that the subscriptions
    // made before it on this connection are in effect at the relay; the first proves the
    // connection.
    const std::string canary = "$zrelay/health/" + std::to_string(std::random_device{}()) + "/";
    ping(canary + "1");
    sub.set(zmq::sockopt::subscribe, argc > 1 ? argv[1] : "example");
    ping(canary + "2");
    std::cout << "ready" << std::endl;
    for (;;)
        receive();
} catch (const std::exception &e) {
    std::cerr << "subscriber: " << e.what() << '\n';
    return 1;
}
