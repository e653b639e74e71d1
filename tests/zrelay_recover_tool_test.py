#!/usr/bin/python3
"""`zrelay sub --recover` and `--snapshot` (tools/zrelay_sub.cpp, tools/zrelay_recovery.*) against
a relay the test plays: an XPUB for the live stream and a ROUTER for the replay endpoint
(proto/zrelay/v1/replay.proto), answered by hand and honouring the protocol's flow control (no
more than `window` messages beyond what the tool credited). Each case checks what comes out on
stdout per topic (every sequence once, in order) and what stderr says was recovered and lost.

zrelay_tool_test.py's ReplaySubTest checks the socket loop's basics (the request sent, a reply
timeout and the new connection after it); tests/zrelay_recovery_test.cpp the state machine alone.

Nothing sleeps and hopes: the fake relay publishes only once the tool's subscriptions have reached
its XPUB, serves a request only once it has come, and sends past a window only once credited;
every wait is on a condition, bounded by WAIT only to fail instead of hanging. The one clock is
the tool's own --replay-timeout, in the case where nobody answers.

Run by CTest (tests/CMakeLists.txt), which sets ZRELAY (the tool) and PYTHONPATH (the generated
protobuf modules and tests/, for relay_test's and zrelay_tool_test's helpers).
"""
import collections
import unittest

import zmq

from relay_test import free_tcp_ports, wait_for
import zrelay_tool_test as tool_test  # a module, so its TestCases are not collected here too
from zrelay.v1 import replay_pb2

WAIT = 30.0  # seconds: a failure bound for anything waited on, generous for a loaded machine
WINDOW = 1000  # the window the tool asks for

INSTANCE = tool_test.INSTANCE
OTHER_INSTANCE = tool_test.OTHER_INSTANCE
stamped = tool_test.stamped
ReplayEnd = replay_pb2.ReplayEnd


def by_topic(lines):
    """{topic: [sequence, ...]} from the tool's text lines ('<topic> #<sequence> <content>')."""
    out = collections.defaultdict(list)
    for line in lines:
        topic, sequence, _ = line.split(" ", 2)
        out[topic].append(int(sequence.lstrip("#")))
    return dict(out)


class FakeRelay:
    """The relay's two faces the tool talks to: the egress (an XPUB) and the replay endpoint (a
    ROUTER). Credit is counted over the connection, as the relay does (per client)."""

    def __init__(self, test, ctx):
        self.test = test
        self.xpub = ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        self.egress = f"tcp://127.0.0.1:{self.xpub.bind_to_random_port('tcp://127.0.0.1')}"
        self.router = ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        # Flow control is the protocol's (credit), not the socket's: never drop on a full queue,
        # and fail loudly if the tool's connection is gone.
        self.router.setsockopt(zmq.SNDHWM, 0)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.replay = f"tcp://127.0.0.1:{self.router.bind_to_random_port('tcp://127.0.0.1')}"
        self.requests = collections.deque()  # (peer, ReplayRequest) not yet served
        self.credits = []  # (request_id, messages) in the order they came
        self.sent = 0  # replayed messages sent

    def wait_subscribed(self, prefixes):
        expected = {b"\x01" + prefix for prefix in prefixes}
        seen = set()
        while seen != expected:
            self.test.assertTrue(self.xpub.poll(int(WAIT * 1000)),
                                 f"the tool never subscribed to {expected - seen}")
            seen.add(self.xpub.recv())

    def publish(self, topic, sequence, instance=INSTANCE, content=None):
        self.xpub.send_multipart([topic.encode(), stamped(topic, sequence, content=content,
                                                          instance=instance)])

    def credited(self):
        return sum(messages for _, messages in self.credits)

    def _receive(self):
        """Reads one request (waiting up to WAIT): a credit is counted, anything else queued."""
        self.test.assertTrue(self.router.poll(int(WAIT * 1000)), "no replay request came")
        peer, frame = self.router.recv_multipart()
        request = replay_pb2.ReplayRequest.FromString(frame)
        if request.WhichOneof("what") == "credit":
            self.credits.append((request.request_id, request.credit.messages))
        else:
            self.requests.append((peer, request))

    def request(self):
        """The next Range or Snapshot: (peer, ReplayRequest)."""
        while not self.requests:
            self._receive()
        return self.requests.popleft()

    def wait_credited(self, total):
        while self.credited() < total:
            self._receive()

    def serve(self, peer, request, messages, status=ReplayEnd.COMPLETE, missing=0,
              instance=INSTANCE):
        """Sends `messages` ((topic, sequence) pairs) within the window, then the ReplayEnd."""
        for topic, sequence in messages:
            while self.sent >= self.credited() + request.window:
                self._receive()  # the window is full: wait for the tool's credit
            self.router.send_multipart([peer, topic.encode(), stamped(topic, sequence)])
            self.sent += 1
        end = ReplayEnd(request_id=request.request_id, status=status, instance=instance,
                        messages=len(messages), missing=missing)
        self.router.send_multipart([peer, end.SerializeToString()])


class RecoverToolTest(tool_test.ToolTestCase):

    def setUp(self):
        super().setUp()
        self.relay = FakeRelay(self, self.ctx)

    def start(self, *args, prefixes=(b"",), replay=None):
        """`zrelay sub` on the fake relay, once its subscriptions have arrived."""
        topics = [arg for prefix in prefixes if prefix for arg in ("--topic", prefix.decode())]
        tool = self.tool("sub", "--from", self.relay.egress, "--replay",
                         replay or self.relay.replay, *topics, *args)
        self.relay.wait_subscribed(prefixes)
        return tool

    def finish(self, tool):
        """Waits for the tool to stop by itself (--count) and for all its output."""
        tool.proc.wait(WAIT)
        for reader in tool.readers:
            reader.join(WAIT)
        self.assertEqual(tool.proc.returncode, tool_test.EXIT_OK, tool.err)

    def wait_err(self, tool, text):
        self.assertTrue(wait_for(lambda: any(text in line for line in tool.err), WAIT), tool.err)

    def test_a_gap_is_recovered_completely_every_sequence_once_in_order(self):
        # 1500 missing: more than a window, so the replay runs on the tool's credit.
        tool = self.start("--recover", "--count", str(1503 + 3))
        for topic, sequence in [("a", 1), ("b", 1), ("a", 1502)]:
            self.relay.publish(topic, sequence)
        peer, request = self.relay.request()
        self.assertEqual((request.WhichOneof("what"), request.range.topic,
                          request.range.from_sequence, request.range.to_sequence,
                          request.instance, request.window),
                         ("range", "a", 2, 1501, INSTANCE, WINDOW))
        self.relay.publish("b", 2)
        self.relay.publish("a", 1502)  # a repeat of a held one: never printed twice
        self.relay.publish("a", 1503)
        # Sequence 2 twice: the second is behind the replay's progress and is skipped.
        self.relay.serve(peer, request, [("a", 2)] + [("a", s) for s in range(2, 1502)])
        # Every replayed message is acknowledged, a half window at a time and the rest at the
        # end, all for the range's request.
        self.relay.wait_credited(1501)
        self.assertEqual(self.relay.credits, [(request.request_id, n) for n in
                                              (WINDOW // 2, WINDOW // 2, WINDOW // 2, 1)])
        self.relay.publish("b", 3)
        self.finish(tool)

        self.assertEqual(by_topic(tool.out), {"a": list(range(1, 1504)), "b": [1, 2, 3]})
        self.assertEqual(len(tool.out), 1506)
        self.assertIn('gap on topic "a": 1500 missing (sequences 2..1501)', tool.err)
        self.assertIn('recovered gap on topic "a": 1500 of 1500 (sequences 2..1501)', tool.err)
        self.assertIn('recovery on topic "a": recovered 1500, lost 0', tool.err)
        self.assertTrue(tool.err[-1].endswith(", recovered 1500, lost 0"), tool.err)

    def test_a_partial_replay_reports_exactly_what_was_lost(self):
        tool = self.start("--recover", "--count", "8")
        for sequence in (1, 2, 11):  # 3..10 missing
            self.relay.publish("a", sequence)
        peer, request = self.relay.request()
        self.assertEqual((request.range.from_sequence, request.range.to_sequence), (3, 10))
        # The relay evicted 3..6 and still holds 7..10.
        self.relay.serve(peer, request, [("a", s) for s in range(7, 11)],
                         status=ReplayEnd.PARTIAL, missing=4)
        self.relay.publish("a", 12)
        self.finish(tool)

        self.assertEqual(by_topic(tool.out), {"a": [1, 2, 7, 8, 9, 10, 11, 12]})
        self.assertIn('recovered gap on topic "a": 4 of 8 (sequences 3..10); lost 4: the relay '
                      'no longer holds them', tool.err)
        self.assertIn('recovery on topic "a": recovered 4, lost 4', tool.err)
        self.assertTrue(tool.err[-1].endswith(", recovered 4, lost 4"), tool.err)

    def test_a_restarted_relay_recovers_nothing_and_its_new_messages_flow(self):
        tool = self.start("--recover", "--count", "6")
        for sequence in (1, 2, 5):  # 3..4 missing, of the old instance
            self.relay.publish("a", sequence)
        peer, request = self.relay.request()
        self.assertEqual(request.instance, INSTANCE)
        # Meanwhile the relay restarted: its sequences begin again under a new instance.
        for sequence in (1, 2):
            self.relay.publish("a", sequence, instance=OTHER_INSTANCE, content=f"new{sequence}")
        self.relay.serve(peer, request, [], status=ReplayEnd.WRONG_INSTANCE,
                         instance=OTHER_INSTANCE)
        self.relay.publish("a", 3, instance=OTHER_INSTANCE, content="new3")
        self.finish(tool)

        self.assertEqual(tool.out, ["a #1 a1", "a #2 a2", "a #5 a5", "a #1 new1", "a #2 new2",
                                    "a #3 new3"])
        self.assertIn(f"the relay restarted (instance {INSTANCE:016x}, now "
                      f"{OTHER_INSTANCE:016x}): nothing of instance {INSTANCE:016x} can be "
                      "recovered", tool.err)
        self.assertIn('lost gap on topic "a": 2 (sequences 3..4): the relay restarted', tool.err)
        # The new instance on the live stream is said once, and is a new start, not a gap.
        self.assertEqual([line for line in tool.err if line.startswith("relay restart seen")],
                         [f'relay restart seen on topic "a": new instance {OTHER_INSTANCE:016x}'])
        self.assertEqual([line for line in tool.err if line.startswith("gap on topic")],
                         ['gap on topic "a": 2 missing (sequences 3..4)'])
        self.assertIn('recovery on topic "a": recovered 0, lost 2', tool.err)
        self.assertTrue(tool.err[-1].endswith(", recovered 0, lost 2"), tool.err)

    def test_without_a_replay_endpoint_gaps_time_out_and_live_messages_go_on(self):
        nobody = f"tcp://127.0.0.1:{free_tcp_ports(1)[0]}"
        tool = self.start("--recover", "--replay-timeout", "1", "--count", "7", replay=nobody)
        for topic, sequence in [("a", 1), ("a", 3), ("a", 4), ("b", 1)]:
            self.relay.publish(topic, sequence)  # a3 reveals the gap: a4 and b1 are held
        self.wait_err(tool, 'lost gap on topic "a": 1 (sequence 2): no reply from the replay '
                            'endpoint for 1 s')
        self.assertTrue(wait_for(lambda: len(tool.out) >= 4, WAIT), tool.out)
        # The tool goes on: live messages, and the next gap is asked about (and times out) too.
        for sequence in (5, 7, 8):
            self.relay.publish("a", sequence)
        self.finish(tool)

        self.assertEqual(by_topic(tool.out), {"a": [1, 3, 4, 5, 7, 8], "b": [1]})
        self.assertIn('lost gap on topic "a": 1 (sequence 6): no reply from the replay endpoint '
                      'for 1 s', tool.err)
        self.assertIn('recovery on topic "a": recovered 0, lost 2', tool.err)
        self.assertTrue(tool.err[-1].endswith(", recovered 0, lost 2"), tool.err)

    def test_a_snapshot_then_live_messages_with_no_duplicate_and_no_hole_at_the_seam(self):
        tool = self.start("--snapshot", "--count", "8", prefixes=(b"a", b"b"))
        # One snapshot per subscribed prefix, one after the other, for any instance.
        peer, request = self.relay.request()
        self.assertEqual((request.WhichOneof("what"), request.snapshot.prefix, request.instance),
                         ("snapshot", "a", 0))
        # Live while the snapshots are taken: "a" from the snapshot's own last value on (a
        # duplicate to skip); "b" from past it (3..4 fall in the seam, to fill from the replay).
        for topic, sequence in [("a", 3), ("a", 4), ("b", 5), ("b", 6)]:
            self.relay.publish(topic, sequence)
        self.relay.serve(peer, request, [("a", 3)])
        peer, request = self.relay.request()
        self.assertEqual((request.snapshot.prefix, request.instance), ("b", 0))
        self.relay.serve(peer, request, [("b", 2)])
        peer, request = self.relay.request()
        self.assertEqual((request.WhichOneof("what"), request.range.topic,
                          request.range.from_sequence, request.range.to_sequence,
                          request.instance), ("range", "b", 3, 4, INSTANCE))
        self.relay.serve(peer, request, [("b", 3), ("b", 4)])
        self.relay.publish("a", 5)
        self.finish(tool)

        self.assertEqual(by_topic(tool.out), {"a": [3, 4, 5], "b": [2, 3, 4, 5, 6]})
        self.assertEqual(tool.out[:2], ["a #3 a3", "b #2 b2"])  # the last values come first
        self.assertIn('snapshot of prefix "a": 1 last values', tool.err)
        self.assertIn('snapshot seam on topic "b": live messages begin at 5, the snapshot had 2; '
                      'asking for sequences 3..4', tool.err)
        # The seam is where the subscription began, not a loss nor a repeat.
        self.assertFalse([line for line in tool.err if line.startswith(("gap", "duplicate"))],
                         tool.err)
        self.assertTrue(tool.err[-1].endswith(", gaps 0, missing 0, restarts 0, duplicates 0, "
                                              "undecodable 0, untracked 0, recovered 2, lost 0"),
                        tool.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
