#!/usr/bin/python3
"""Prints what zrelayd publishes on a topic: subscriber.py [TOPIC] (default: example).

Prints "ready" once its subscription is in effect at the relay, then "TOPIC: CONTENT" for each
message. ZRELAY_EGRESS and ZRELAY_INGRESS name the relay's endpoints (default
tcp://127.0.0.1:5556 and :5555). Needs what producer.py needs.
"""
import os
import sys
import uuid

import zmq
from zrelay.v1.data_message_pb2 import DataMessage

context = zmq.Context()
sub = context.socket(zmq.SUB)
sub.connect(os.environ.get("ZRELAY_EGRESS", "tcp://127.0.0.1:5556"))
push = context.socket(zmq.PUSH)  # for the canaries
push.connect(os.environ.get("ZRELAY_INGRESS", "tcp://127.0.0.1:5555"))


def receive():
    """Receives one message and prints it unless it is the relay's own; returns its topic."""
    topic, body = sub.recv_multipart()
    if not topic.startswith(b"$zrelay/"):
        print(f"{topic.decode()}: {DataMessage.FromString(body).content}", flush=True)
    return topic


def ping(topic):
    """Subscribes to `topic` and returns once the relay has published a canary on it to us."""
    sub.subscribe(topic)
    while True:
        push.send(DataMessage(topic=topic).SerializeToString())
        while sub.poll(100):
            if receive() == topic.encode():
                return


# Slow joiner (README.md here): a canary on a topic of our own proves that the subscriptions made
# before it on this connection are in effect at the relay; the first proves the connection is up.
canary = f"$zrelay/health/{uuid.uuid4().hex}/"
ping(canary + "1")
sub.subscribe(sys.argv[1] if len(sys.argv) > 1 else "example")
ping(canary + "2")
print("ready", flush=True)
while True:
    receive()
