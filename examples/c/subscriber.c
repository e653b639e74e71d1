// Prints what zrelayd publishes on a topic: subscriber [TOPIC] (default: example). Prints "ready"
// once its subscription is in effect at the relay, then "TOPIC: CONTENT" for each message.
// ZRELAY_EGRESS and ZRELAY_INGRESS name the relay's endpoints (default tcp://127.0.0.1:5556,
// :5555).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <zmq.h>

#include "zrelay/v1/data_message.pb-c.h"

static void *sub, *push; // push: for the canaries
static char topic[256];  // the last message's topic, cut to 255 bytes

// Receives one message and prints it unless it is the relay's own; returns its topic.
static const char *receive(void) {
    int n = zmq_recv(sub, topic, sizeof topic - 1, 0);
    topic[n < 0 ? 0 : n < (int)sizeof topic ? n : (int)sizeof topic - 1] = '\0';
    zmq_msg_t body;
    zmq_msg_init(&body);
    zmq_msg_recv(&body, sub, 0);
    Zrelay__V1__DataMessage *m =
        zrelay__v1__data_message__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    if (m && strncmp(topic, "$zrelay/", 8) != 0)
        printf("%s: %s\n", topic, m->content), fflush(stdout);
    zrelay__v1__data_message__free_unpacked(m, NULL);
    zmq_msg_close(&body);
    return topic;
}

// Subscribes to `canary` and returns once the relay has published a canary on it to us.
static void ping(char *canary) {
    Zrelay__V1__DataMessage m = ZRELAY__V1__DATA_MESSAGE__INIT;
    m.topic = canary;
    uint8_t wire[128];
    size_t size = zrelay__v1__data_message__pack(&m, wire);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, canary, strlen(canary));
    for (;;) {
        zmq_send(push, wire, size, 0);
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&item, 1, 100) > 0)
            if (strcmp(receive(), canary) == 0)
                return;
    }
}

int main(int argc, char **argv) {
    const char *egress = getenv("ZRELAY_EGRESS"), *ingress = getenv("ZRELAY_INGRESS");
    const char *wanted = argc > 1 ? argv[1] : "example";
    void *context = zmq_ctx_new();
    sub = zmq_socket(context, ZMQ_SUB);
    push = zmq_socket(context, ZMQ_PUSH);
    if (zmq_connect(sub, egress ? egress : "tcp://127.0.0.1:5556") != 0 ||
        zmq_connect(push, ingress ? ingress : "tcp://127.0.0.1:5555") != 0) {
        fprintf(stderr, "subscriber: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    // Slow joiner (README.md here): a canary on a topic of our own proves that the subscriptions
    // made before it on this connection are in effect at the relay; the first proves the
    // connection.
    unsigned nonce = 0;
    getrandom(&nonce, sizeof nonce, 0);
    char canary[64];
    snprintf(canary, sizeof canary, "$zrelay/health/%08x/1", nonce);
    ping(canary);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, wanted, strlen(wanted));
    canary[strlen(canary) - 1] = '2';
    ping(canary);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        receive();
}
