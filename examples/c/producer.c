// Sends one DataMessage to zrelayd: producer [TOPIC [CONTENT]] (default: example hello).
// ZRELAY_INGRESS names the relay's ingress (default tcp://127.0.0.1:5555).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <zmq.h>

#include "zrelay/v1/data_message.pb-c.h"

int main(int argc, char **argv) {
    Zrelay__V1__DataMessage message = ZRELAY__V1__DATA_MESSAGE__INIT;
    message.topic = argc > 1 ? argv[1] : "example";
    message.content = argc > 2 ? argv[2] : "hello";
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    message.timestamp = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec; // ns since the epoch
    size_t size = zrelay__v1__data_message__get_packed_size(&message);
    uint8_t *wire = malloc(size);
    zrelay__v1__data_message__pack(&message, wire);
    const char *ingress = getenv("ZRELAY_INGRESS");

    void *context = zmq_ctx_new();
    void *push = zmq_socket(context, ZMQ_PUSH);
    // No waiting for the connection: PUSH queues the message until it is up. zmq_ctx_term waits
    // for it to leave, up to the linger (5 s), so exiting right away loses nothing.
    int linger = 5000;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    int failed = zmq_connect(push, ingress ? ingress : "tcp://127.0.0.1:5555") != 0 ||
                 zmq_send(push, wire, size, 0) < 0;
    if (failed)
        fprintf(stderr, "producer: %s\n", zmq_strerror(zmq_errno()));
    zmq_close(push);
    zmq_ctx_term(context);
    free(wire);
    return failed;
}
