#!/usr/bin/python3
"""A subscriber that repairs loss from zrelayd's replay endpoint (proto/zrelay/v1/replay.proto).

    replay_recover.py [--egress EP] [--replay EP] [--prefix P] [--snapshot] [--count N]

Prints "topic sequence content" for each message. With --snapshot it starts from the last value
of every topic under the prefix. On a gap in a topic's relay_sequence it asks the replay endpoint
for the missing range and prints those first; what the relay no longer holds, or a restarted
relay, is reported lost on stderr. Needs python3-zmq and the generated zrelay/v1 *_pb2 modules.
"""
import argparse
import sys

import zmq
from zrelay.v1 import data_message_pb2, replay_pb2

p = argparse.ArgumentParser()
p.add_argument("--egress", default="tcp://127.0.0.1:5556")
p.add_argument("--replay", default="tcp://127.0.0.1:5557")
p.add_argument("--prefix", default="")
p.add_argument("--snapshot", action="store_true")
p.add_argument("--count", type=int, default=0, help="stop after this many messages (0: never)")
args = p.parse_args()

ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.subscribe(args.prefix)  # subscribe first: nothing newer than the snapshot can slip by
sub.connect(args.egress)
replay = ctx.socket(zmq.DEALER)
replay.connect(args.replay)
last = {}  # topic -> (relay_instance, relay_sequence) of the last message printed
shown = recovered = lost = 0


def show(topic, m):
    global shown
    print(topic, m.relay_sequence, m.content, flush=True)
    last[topic] = (m.relay_instance, m.relay_sequence)
    shown += 1


def ask(request):
    """Sends a ReplayRequest; shows the messages of the reply; returns its ReplayEnd."""
    request.window = 1000
    replay.send(request.SerializeToString())
    taken = 0
    while True:
        if not replay.poll(5000):
            sys.exit("the replay endpoint did not answer")
        frames = replay.recv_multipart()
        if len(frames) == 1:
            replay.send(replay_pb2.ReplayRequest(credit={"messages": taken}).SerializeToString())
            return replay_pb2.ReplayEnd.FromString(frames[0])
        show(frames[0].decode(), data_message_pb2.DataMessage.FromString(frames[1]))
        taken += 1
        if taken == 500:  # credit as we go: the relay sends at most a window ahead
            replay.send(replay_pb2.ReplayRequest(credit={"messages": taken}).SerializeToString())
            taken = 0


if args.snapshot:
    ask(replay_pb2.ReplayRequest(snapshot={"prefix": args.prefix}))
while args.count == 0 or shown < args.count:
    topic_frame, body = sub.recv_multipart()
    topic, m = topic_frame.decode(), data_message_pb2.DataMessage.FromString(body)
    instance, seen = last.get(topic, (m.relay_instance, m.relay_sequence - 1))
    if instance != m.relay_instance:
        print(f"{topic}: the relay restarted; sequences begin again", file=sys.stderr)
    elif m.relay_sequence <= seen:
        continue  # already shown (from the snapshot or a replay)
    elif m.relay_sequence > seen + 1 and topic in last:
        end = ask(replay_pb2.ReplayRequest(instance=instance, range={
            "topic": topic, "from_sequence": seen + 1, "to_sequence": m.relay_sequence - 1}))
        recovered += end.messages
        if end.status == replay_pb2.ReplayEnd.WRONG_INSTANCE:
            lost += m.relay_sequence - 1 - seen
        else:
            lost += end.missing
        if end.status != replay_pb2.ReplayEnd.COMPLETE:
            print(f"{topic}: lost {m.relay_sequence - 1 - seen - end.messages} "
                  f"({replay_pb2.ReplayEnd.Status.Name(end.status)})", file=sys.stderr)
    show(topic, m)
print(f"shown {shown}, recovered {recovered}, lost {lost}", file=sys.stderr)
