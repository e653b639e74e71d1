#!/usr/bin/python3
"""Sends one DataMessage to zrelayd: producer.py [TOPIC [CONTENT]] (default: example hello).

ZRELAY_INGRESS names the relay's ingress (default tcp://127.0.0.1:5555). Needs python3-zmq,
python3-protobuf and zrelay/v1/data_message_pb2.py on PYTHONPATH, made by
`protoc --python_out=DIR -I proto proto/zrelay/v1/data_message.proto`.
"""
import os
import sys
import time

import zmq
from zrelay.v1.data_message_pb2 import DataMessage

topic = sys.argv[1] if len(sys.argv) > 1 else "example"
content = sys.argv[2] if len(sys.argv) > 2 else "hello"
message = DataMessage(topic=topic, content=content, timestamp=time.time_ns())  # ns since epoch

with zmq.Context() as context, context.socket(zmq.PUSH) as push:
    # No waiting for the connection: PUSH queues the message until it is up. Leaving the `with`
    # waits for it to leave, up to the linger (5 s), so exiting right away loses nothing.
    push.linger = 5000
    push.connect(os.environ.get("ZRELAY_INGRESS", "tcp://127.0.0.1:5555"))
    push.send(message.SerializeToString())
