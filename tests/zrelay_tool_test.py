#!/usr/bin/python3
"""The client tool `zrelay` (tools/zrelay*.cpp): send, sub and stats.

`send` and `stats` are checked against the real zrelayd (what a pyzmq SUB receives, what the
metrics say). `sub` is checked against a pyzmq XPUB that the test controls, so that the relay's
stamps (relay_sequence, relay_instance) can be fabricated precisely, independently of the relay;
the XPUB also says when the tool's subscription has arrived, so nothing is published before
anyone listens. Then one run goes end to end: zrelay send -> zrelayd -> zrelay sub.

Nothing sleeps and hopes: every wait polls a condition (a line of output, a subscription, a
metric, an exit) against a deadline and fails the test when the deadline passes.

Run by CTest (tests/CMakeLists.txt), which sets ZRELAY (the tool), ZRELAYD and PYTHONPATH (the
generated protobuf modules and tests/, for relay_test's helpers).
"""
import base64
import json
import os
import signal
import socket
import subprocess
import threading
import unittest

import zmq

from relay_test import (Daemon, ZRELAYD, free_tcp_ports, receive, scrape,
                        v1_pb2, wait_for, _die_with_parent)

ZRELAY = os.environ.get("ZRELAY")

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_UNAVAILABLE = 69

WAIT = 10.0  # seconds for anything the test waits on: output, a subscription, an exit

INSTANCE = 0x0123456789ABCDEF
OTHER_INSTANCE = 0x00000000DEADBEEF
# Relays before the last one in a chain (relay_hops): the origin, and one in the middle.
ORIGIN = 0x0A0A0A0A0A0A0A0A
MIDDLE = 0x000000000000B0B0


def stamped(topic, sequence, content=None, instance=INSTANCE, **fields):
    """A serialized DataMessage as the relay publishes it, with its stamp."""
    message = v1_pb2.DataMessage(topic=topic, content=content or f"{topic}{sequence}",
                                 relay_sequence=sequence, relay_instance=instance, **fields)
    return message.SerializeToString()


def hop(instance, sequence, received_ns=0):
    """One earlier relay's stamp, for stamped(..., relay_hops=[...])."""
    return v1_pb2.RelayHop(instance=instance, sequence=sequence, received_ns=received_ns)


def run(*args, stdin_text=None):
    """Runs zrelay to completion; returns the CompletedProcess (text)."""
    stdin = {"input": stdin_text} if stdin_text is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run([ZRELAY, *args], capture_output=True, text=True, timeout=60,
                          check=False, preexec_fn=_die_with_parent, **stdin)


def assert_curve_named(test, who, endpoint, lines):
    """A NULL client refused by a CURVE peer says so once, whichever way zmq saw it: the
    mechanism in the peer's greeting, or (when the peer's reset beat its greeting) the close."""
    mismatch = (f"{who}: {endpoint} refused the handshake: it uses another security mechanism "
                "(CURVE?); this tool speaks NULL only; retrying")
    closed = (f"{who}: {endpoint} closed the connection during the handshake (a relay that "
              "wants CURVE, or not a zmq socket?); retrying")
    test.assertIn(1, (lines.count(mismatch), lines.count(closed)), lines)
    test.assertLessEqual(lines.count(mismatch), 1, lines)
    test.assertLessEqual(lines.count(closed), 1, lines)


class Tool:
    """A zrelay process left running; threads collect its stdout and stderr lines as they come,
    so the test can wait for a line without blocking on a pipe."""

    def __init__(self, *args, read_stdout=True):
        self.proc = subprocess.Popen([ZRELAY, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent)
        self.out, self.err = [], []
        self.readers = [threading.Thread(target=self._collect, args=(pipe, lines), daemon=True)
                        for pipe, lines in ((self.proc.stdout, self.out),
                                            (self.proc.stderr, self.err))]
        # Not reading stdout stalls the tool once the pipe is full: a subscriber that falls
        # behind, for as long as the test wants.
        for reader in self.readers if read_stdout else self.readers[1:]:
            reader.start()

    def read_stdout(self):
        """Starts reading stdout (for a tool started with read_stdout=False)."""
        self.readers[0].start()

    @staticmethod
    def _collect(pipe, lines):
        for line in iter(pipe.readline, ""):
            lines.append(line.rstrip("\n"))

    def wait_out(self, count):
        """True once `count` stdout lines have come."""
        return wait_for(lambda: len(self.out) >= count, WAIT)

    def wait_err(self, text):
        """True once a stderr line contains `text`."""
        return wait_for(lambda: any(text in line for line in self.err), WAIT)

    def finish(self, sig=None):
        """Sends `sig` (if any), waits for the exit and for all output; returns the exit code."""
        if sig is not None:
            self.proc.send_signal(sig)
        code = self.proc.wait(WAIT)
        for reader in self.readers:
            reader.join(WAIT)
        return code

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class ToolTestCase(unittest.TestCase):
    def setUp(self):
        self.assertTrue(ZRELAY and os.access(ZRELAY, os.X_OK),
                        f"ZRELAY must name the zrelay binary, got {ZRELAY!r}")
        self.ctx = zmq.Context()
        self.tools = []

    def tearDown(self):
        for tool in self.tools:
            tool.stop()
        self.ctx.destroy(linger=0)

    def tool(self, *args, read_stdout=True):
        tool = Tool(*args, read_stdout=read_stdout)
        self.tools.append(tool)
        return tool


# --------------------------------------------------------------------------------------------
# zrelay sub, against a publisher the test controls
# --------------------------------------------------------------------------------------------

class SubTest(ToolTestCase):

    def setUp(self):
        super().setUp()
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        port = self.xpub.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"

    def start_sub(self, *args, prefixes=(b"",)):
        """Starts `zrelay sub` on the XPUB and waits until each of its subscriptions arrived."""
        tool = self.tool("sub", "--from", self.endpoint, *args)
        expected = {b"\x01" + prefix for prefix in prefixes}
        seen = set()
        while seen != expected:
            self.assertTrue(self.xpub.poll(int(WAIT * 1000)),
                            f"zrelay sub never subscribed; stderr: {tool.err}")
            seen.add(self.xpub.recv())
        return tool

    def publish(self, topic, body):
        self.xpub.send_multipart([topic.encode() if isinstance(topic, str) else topic, body])

    def test_gap_is_reported_at_once_and_summarised_on_sigint(self):
        tool = self.start_sub()
        for topic, sequence in [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("a", 7)]:
            self.publish(topic, stamped(topic, sequence))
        self.assertTrue(tool.wait_out(6), tool.out)
        self.assertTrue(tool.wait_err('gap on topic "a"'), tool.err)

        self.assertEqual(tool.finish(signal.SIGINT), EXIT_OK, tool.err)
        self.assertEqual(tool.out, ["a #1 a1", "b #1 b1", "a #2 a2", "a #3 a3", "b #2 b2",
                                    "a #7 a7"])
        self.assertEqual([line for line in tool.err if line.startswith("gap")],
                         ['gap on topic "a": 3 missing (sequences 4..6)'])
        self.assertEqual(tool.err[-1], "zrelay sub: received 6, topics 2, gaps 1, missing 3, "
                                       "restarts 0, duplicates 0, undecodable 0, untracked 0")

    def test_new_instance_is_one_restart_not_a_gap_and_sigterm_stops(self):
        tool = self.start_sub("--json")
        self.publish("a", stamped("a", 1))
        self.publish("a", stamped("a", 2))
        self.publish("b", stamped("b", 9))
        # The relay restarted: every topic starts again at 1 under a new instance.
        self.publish("a", stamped("a", 1, instance=OTHER_INSTANCE))
        self.publish("b", stamped("b", 1, instance=OTHER_INSTANCE))
        self.publish("a", stamped("a", 2, instance=OTHER_INSTANCE))
        self.publish("a", stamped("a", 2, instance=OTHER_INSTANCE))  # a duplicate
        self.assertTrue(tool.wait_out(7), tool.out)

        self.assertEqual(tool.finish(signal.SIGTERM), EXIT_OK, tool.err)
        summary = json.loads(tool.err[-1])["summary"]
        self.assertEqual((summary["received"], summary["restarts"], summary["gaps"],
                          summary["missing"], summary["duplicates"]), (7, 1, 0, 0, 1), tool.err)
        self.assertEqual(len([line for line in tool.err if "relay restart" in line]), 1, tool.err)
        self.assertIn('duplicate or out-of-order on topic "a": sequence 2 after 2', tool.err)

    def test_sequence_zero_is_not_checked(self):
        tool = self.start_sub("--count", "5", "--json")
        self.publish("a", stamped("a", 5))
        self.publish("a", stamped("a", 0))  # not tracked by the relay: says nothing of a
        self.publish("c", stamped("c", 0))
        self.publish("a", stamped("a", 6))
        self.publish("c", stamped("c", 3))  # c's first tracked message: joined mid-stream
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        summary = json.loads(tool.err[-1])["summary"]
        self.assertEqual((summary["received"], summary["gaps"], summary["untracked"],
                          summary["topics"]), (5, 0, 2, 2), tool.err)

    def test_undecodable_input_is_counted_and_the_tool_goes_on(self):
        tool = self.start_sub("--count", "5", "--json")
        self.xpub.send_multipart([b"a", b"\xff\xff\xff"])  # a truncated varint
        self.xpub.send(b"a lone frame")
        self.xpub.send_multipart([b"a", stamped("a", 1), b"one frame too many"])
        # Content that is not UTF-8: protobuf refuses a proto3 string field like that.
        self.xpub.send_multipart([b"a", b"\x0a\x02\xff\xfe"])
        self.publish("a", stamped("a", 1, content="still here"))
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual([json.loads(line)["content"] for line in tool.out], ["still here"])
        summary = json.loads(tool.err[-1])["summary"]
        self.assertEqual((summary["received"], summary["undecodable"]), (5, 4), tool.err)
        self.assertEqual(len([line for line in tool.err if line.startswith("undecodable")]), 4)

    def test_json_lines_carry_every_field(self):
        tool = self.start_sub("--json", "--count", "2")
        self.publish("t/é", stamped("t/é", 1, content='say "hi"\n\tthen \x01 go \\ ✓',
                                    timestamp=42, payload=b"\x00\x01\xfe\xff",
                                    relay_received_ns=1234567890123456789,
                                    headers={"k": "v", "a": "line\nbreak"}))
        self.publish("empty", v1_pb2.DataMessage().SerializeToString())
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual(len(tool.out), 2, tool.out)
        first, second = (json.loads(line) for line in tool.out)
        self.assertEqual(first, {
            "topic": "t/é", "content": 'say "hi"\n\tthen \x01 go \\ ✓', "timestamp": 42,
            "payload": base64.b64encode(b"\x00\x01\xfe\xff").decode(), "payload_size": 4,
            "headers": {"a": "line\nbreak", "k": "v"}, "relay_sequence": 1,
            "relay_received_ns": 1234567890123456789, "relay_instance": "0123456789abcdef"})
        self.assertEqual(second, {
            "topic": "empty", "content": "", "timestamp": 0, "payload": "", "payload_size": 0,
            "headers": {}, "relay_sequence": 0, "relay_received_ns": 0,
            "relay_instance": "0000000000000000"})
        self.assertEqual(json.loads(tool.err[-1]), {"summary": {
            "received": 2, "topics": 1, "gaps": 0, "missing": 0, "restarts": 0, "duplicates": 0,
            "undecodable": 0, "untracked": 1, "unchecked": 0}})

    def test_text_lines_are_escaped_and_only_subscribed_prefixes_show(self):
        tool = self.start_sub("--topic", "a", "--topic", "b", "--count", "2",
                              prefixes=(b"a", b"b"))
        self.publish("a1", stamped("a1", 1, content="two\nlines\x1b[31m red\\",
                                   payload=b"xyz"))
        self.publish("c1", stamped("c1", 1))
        self.publish("b1", stamped("b1", 4))
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual(tool.out, ["a1 #1 two\\nlines\\x1b[31m red\\\\ [payload 3 bytes]",
                                    "b1 #4 b14"])

    def test_hops_print_as_the_path_the_message_took(self):
        tool = self.start_sub("--count", "3")
        self.publish("a", stamped("a", 7, relay_hops=[hop(ORIGIN, 3)]))
        self.publish("a", stamped("a", 8, payload=b"xy",
                                  relay_hops=[hop(ORIGIN, 4), hop(MIDDLE, 12)]))
        self.publish("b", stamped("b", 1))  # crossed one relay: as it always printed
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual(tool.out, ["a #7 a7 via 0a0a0a0a0a0a0a0a#3",
                                    "a #8 a8 [payload 2 bytes] via 0a0a0a0a0a0a0a0a#4 > "
                                    "000000000000b0b0#12",
                                    "b #1 b1"])

    def test_json_hops_are_an_array_oldest_first_and_absent_without_hops(self):
        tool = self.start_sub("--json", "--count", "2")
        self.publish("a", stamped("a", 8, relay_received_ns=30,
                                  relay_hops=[hop(ORIGIN, 4, 10), hop(MIDDLE, 12, 20)]))
        self.publish("b", stamped("b", 1))
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        first, second = (json.loads(line) for line in tool.out)
        self.assertEqual(first["relay_hops"], [
            {"instance": "0a0a0a0a0a0a0a0a", "sequence": 4, "received_ns": 10},
            {"instance": "000000000000b0b0", "sequence": 12, "received_ns": 20}])
        self.assertEqual((first["relay_instance"], first["relay_sequence"],
                          first["relay_received_ns"]), ("0123456789abcdef", 8, 30))
        self.assertNotIn("relay_hops", second)
        self.assertNotIn("relay_hops", tool.out[1])

    def publish_chain(self):
        """Three topics through a two-relay chain (ORIGIN, then the last relay), as published by
        the last relay: t across a restart of the last relay that lost the origin's 4..6, u with
        a drop at the last relay only (its 2..3, the origin's 2..3), v with the origin's 2..4 lost
        before the last relay (a middle relay restarted). Returns what the origin published from
        the first message received to the last, over all three."""
        for topic, instance, sequence, hops in (
                ("t", INSTANCE, 1, [hop(ORIGIN, 1)]),
                ("t", INSTANCE, 2, [hop(ORIGIN, 2)]),
                ("u", INSTANCE, 1, [hop(ORIGIN, 1)]),
                ("v", INSTANCE, 1, [hop(ORIGIN, 1), hop(MIDDLE, 1)]),
                ("t", INSTANCE, 3, [hop(ORIGIN, 3)]),
                ("u", INSTANCE, 4, [hop(ORIGIN, 4)]),
                ("v", INSTANCE, 2, [hop(ORIGIN, 5), hop(MIDDLE + 1, 1)]),
                ("t", OTHER_INSTANCE, 1, [hop(ORIGIN, 7)]),
                ("t", OTHER_INSTANCE, 2, [hop(ORIGIN, 8)])):
            self.publish(topic, stamped(topic, sequence, instance=instance, relay_hops=hops))
        return 8 + 4 + 5

    def test_a_chain_reports_what_its_origin_lost_and_counts_each_loss_once(self):
        tool = self.start_sub("--json", "--count", "9")
        published = self.publish_chain()
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual([(m["topic"], [h["sequence"] for h in m["relay_hops"]])
                          for m in map(json.loads, tool.out)],
                         [("t", [1]), ("t", [2]), ("u", [1]), ("v", [1, 1]), ("t", [3]),
                          ("u", [4]), ("v", [5, 1]), ("t", [7]), ("t", [8])])
        self.assertEqual(
            [line for line in tool.err if "lost between" in line or line.startswith("gap")],
            ['gap on topic "u": 2 missing (sequences 2..3)',
             'topic "v": 3 lost between relay 0a0a0a0a0a0a0a0a and here (its sequences 2..4; '
             'before relay 0123456789abcdef numbered them)',
             'topic "t": 3 lost between relay 0a0a0a0a0a0a0a0a and here (its sequences 4..6; '
             'relay 0123456789abcdef restarted)'])
        summary = json.loads(tool.err[-1])["summary"]
        self.assertEqual({k: summary[k] for k in ("received", "gaps", "missing", "restarts",
                                                  "origin_checked", "origin_lost",
                                                  "origin_duplicates")},
                         {"received": 9, "gaps": 1, "missing": 2, "restarts": 1,
                          "origin_checked": 9, "origin_lost": 6, "origin_duplicates": 0})
        self.assertEqual(summary["received"] + summary["missing"] + summary["origin_lost"],
                         published)

    def test_the_text_summary_adds_the_origin_check_once_a_chain_is_seen(self):
        tool = self.start_sub("--count", "9", "--quiet")
        self.publish_chain()
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual(tool.err[-1], "zrelay sub: received 9, topics 3, gaps 1, missing 2, "
                                       "restarts 1, duplicates 0, undecodable 0, untracked 0, "
                                       "origin checked 9, origin lost 6, origin duplicates 0")

    def problems(self, tool):
        """The tool's own lines about its connection (not gaps, not the summary)."""
        return [line for line in tool.err
                if line.startswith("zrelay sub: ") and not line.startswith("zrelay sub: received")]

    def test_says_once_that_nothing_is_there_and_then_that_it_connected(self):
        port, = free_tcp_ports(1)
        endpoint = f"tcp://127.0.0.1:{port}"
        tool = self.tool("sub", "--from", endpoint, "--count", "1")
        self.assertTrue(tool.wait_err(f"cannot connect to {endpoint}"), tool.err)
        self.xpub.close()
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        self.xpub.bind(endpoint)
        self.assertTrue(self.xpub.poll(int(WAIT * 1000)), f"never subscribed; {tool.err}")
        self.assertEqual(self.xpub.recv(), b"\x01")
        self.assertTrue(tool.wait_err(f"zrelay sub: connected to {endpoint}"), tool.err)
        self.publish("a", stamped("a", 1))
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual(tool.out, ["a #1 a1"])
        self.assertEqual(self.problems(tool), [
            f"zrelay sub: cannot connect to {endpoint} (nothing accepts connections there, or "
            "the host does not resolve); retrying",
            f"zrelay sub: connected to {endpoint}"])

    def test_a_peer_that_is_not_zmq_is_named_once_however_often_zmq_retries(self):
        """A TCP server that accepts and closes at once, counting: the tool retries (zmq, every
        100 ms) and says why once. The server stays up until the tool is stopped, or a retry
        refused would add a line of its own."""
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        endpoint = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        accepted = 0
        tool = self.tool("sub", "--from", endpoint)
        listener.settimeout(WAIT)
        while accepted < 5:  # five attempts, so four retries that must say nothing new
            connection, _ = listener.accept()
            connection.close()
            accepted += 1
        self.assertTrue(tool.wait_err("closed the connection during the handshake"), tool.err)
        self.assertEqual(tool.finish(signal.SIGINT), EXIT_OK, tool.err)
        self.assertEqual(self.problems(tool), [
            f"zrelay sub: {endpoint} closed the connection during the handshake (a relay that "
            "wants CURVE, or not a zmq socket?); retrying",
            f"zrelay sub: never connected to {endpoint}"])

    def test_says_when_it_loses_the_relay_and_when_it_is_back(self):
        tool = self.start_sub()
        self.publish("a", stamped("a", 1))
        self.assertTrue(tool.wait_out(1), tool.out)
        self.assertEqual(self.problems(tool), [], "a connection that works says nothing")
        self.xpub.close()
        self.assertTrue(tool.wait_err(f"zrelay sub: lost the connection to {self.endpoint}; "
                                      "reconnecting"), tool.err)
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        self.xpub.bind(self.endpoint)
        self.assertTrue(self.xpub.poll(int(WAIT * 1000)), f"never resubscribed; {tool.err}")
        self.assertEqual(self.xpub.recv(), b"\x01")
        self.assertTrue(tool.wait_err(f"zrelay sub: connected to {self.endpoint}"), tool.err)
        self.publish("a", stamped("a", 2))
        self.assertTrue(tool.wait_out(2), tool.out)
        self.assertEqual(tool.finish(signal.SIGINT), EXIT_OK, tool.err)
        self.assertEqual(tool.out, ["a #1 a1", "a #2 a2"])

    def test_a_curve_relay_is_named_as_wanting_another_mechanism(self):
        public, secret = zmq.curve_keypair()
        curve = self.ctx.socket(zmq.XPUB)
        curve.setsockopt(zmq.LINGER, 0)
        curve.setsockopt(zmq.CURVE_SERVER, 1)
        curve.setsockopt(zmq.CURVE_SECRETKEY, secret)
        self.addCleanup(curve.close)
        endpoint = f"tcp://127.0.0.1:{curve.bind_to_random_port('tcp://127.0.0.1')}"
        tool = self.tool("sub", "--from", endpoint)
        self.assertTrue(wait_for(lambda: any("refused the handshake" in line or
                                             "closed the connection during" in line
                                             for line in tool.err), WAIT), tool.err)
        self.assertEqual(tool.finish(signal.SIGTERM), EXIT_OK, tool.err)
        assert_curve_named(self, "zrelay sub", endpoint, self.problems(tool))
        self.assertEqual(self.problems(tool)[-1], f"zrelay sub: never connected to {endpoint}")
        self.assertEqual(curve.poll(0), 0, "a NULL client got a subscription through CURVE")

    def test_refuses_an_endpoint_it_cannot_use(self):
        result = run("sub", "--from", "inproc://x")
        self.assertEqual(result.returncode, EXIT_USAGE)
        self.assertIn("inproc://x", result.stderr)


# --------------------------------------------------------------------------------------------
# zrelay send and stats, against the real zrelayd
# --------------------------------------------------------------------------------------------

class RelayToolTest(ToolTestCase):

    def setUp(self):
        super().setUp()
        self.assertTrue(ZRELAYD and os.access(ZRELAYD, os.X_OK),
                        f"ZRELAYD must name the zrelayd binary, got {ZRELAYD!r}")
        in_port, out_port, self.metrics_port = free_tcp_ports(3)
        self.ingress = f"tcp://127.0.0.1:{in_port}"
        self.egress = f"tcp://127.0.0.1:{out_port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.daemon = Daemon({"ingress": {"bind": [self.ingress]},
                              "egress": {"bind": [self.egress]},
                              "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"}})
        self.assertTrue(self.daemon.wait_ready(), self.daemon.stderr_text())

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.daemon.stop()

    def subscribe(self):
        """A pyzmq SUB on the egress, once the relay has its subscription."""
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.egress)
        self.await_subscriptions(1)
        return sub

    def await_subscriptions(self, count):
        self.assertTrue(wait_for(
            lambda: scrape(self.metrics_port).get("zrelay_subscriptions", 0) >= count, WAIT),
            "the relay never saw the subscription")

    def await_received(self, count):
        """Waits until the relay counted `count` messages; asserts it counted no more."""
        wait_for(lambda: scrape(self.metrics_port).get("zrelay_messages_received_total", 0)
                 >= count, WAIT)
        self.assertEqual(scrape(self.metrics_port).get("zrelay_messages_received_total"), count)

    def relayed(self, sub, count):
        """`count` relayed messages as (topic frame, parsed DataMessage)."""
        messages = []
        for _ in range(count):
            frames = receive(sub, WAIT)
            self.assertIsNotNone(frames, f"only {len(messages)} of {count} messages came")
            self.assertEqual(len(frames), 2)
            messages.append((frames[0], v1_pb2.DataMessage.FromString(frames[1])))
        return messages

    def test_send_texts_count_times_over_with_topic_and_payload(self):
        sub = self.subscribe()
        result = run("send", "--to", self.ingress, "--topic", "greetings", "--size", "5",
                     "--count", "2", "hello", "two words")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertIn("sent 4 messages", result.stderr)
        messages = self.relayed(sub, 4)
        self.assertEqual([(topic, m.topic, m.content, len(m.payload)) for topic, m in messages],
                         [(b"greetings", "greetings", text, 5)
                          for text in ("hello", "two words", "hello", "two words")])
        self.assertTrue(all(m.timestamp > 0 for _, m in messages))
        self.await_received(4)

    def test_send_stdin_one_message_a_line(self):
        sub = self.subscribe()
        result = run("send", "--to", self.ingress, "--topic", "lines", "-",
                     stdin_text="line one\nline two\n\nlast, unterminated")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertEqual([m.content for _, m in self.relayed(sub, 4)],
                         ["line one", "line two", "", "last, unterminated"])
        self.await_received(4)

    def test_send_generated_messages_with_payload_and_rate(self):
        sub = self.subscribe()
        result = run("send", "--to", self.ingress, "--topic", "gen", "--count", "50",
                     "--size", "100", "--rate", "1000")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        messages = self.relayed(sub, 50)
        self.assertEqual([m.content for _, m in messages], [str(i) for i in range(50)])
        self.assertEqual({len(m.payload) for _, m in messages}, {100})
        self.await_received(50)

    def test_stats_once_shows_counters_with_rates(self):
        result = run("send", "--to", self.ingress, "--count", "7")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.await_received(7)
        result = run("stats", "--metrics", self.metrics_url, "--once", "--interval", "0.1")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()
                if line.startswith("zrelay_")}
        # Nothing was sent between the two samples: the counter stands still.
        self.assertEqual(rows["zrelay_messages_received_total"], ["7", "0.0"], result.stdout)
        self.assertEqual(rows['zrelay_messages_invalid_total{reason="malformed"}'], ["0", "0.0"])
        self.assertEqual(rows["zrelay_subscriptions"], ["0"])  # a gauge: no rate

    def test_end_to_end_send_relay_sub(self):
        tool = self.tool("sub", "--from", self.egress, "--json", "--count", "20")
        self.await_subscriptions(1)
        result = run("send", "--to", self.ingress, "--topic", "e2e", "--count", "20")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        lines = [json.loads(line) for line in tool.out]
        self.assertEqual([(m["topic"], m["content"]) for m in lines],
                         [("e2e", str(i)) for i in range(20)])
        summary = json.loads(tool.err[-1])["summary"]
        self.assertEqual((summary["received"], summary["gaps"], summary["missing"],
                          summary["undecodable"]), (20, 0, 0, 0), tool.err)
        # The relay's sequence on the topic: 1, 2, 3, ... unbroken.
        self.assertEqual([m["relay_sequence"] for m in lines], list(range(1, 21)))

    def test_a_subscriber_forced_to_drop_is_told_exactly_how_many_it_missed(self):
        """The end-to-end check of seeing loss: zrelay send -> zrelayd (nodrop: false, sndhwm
        10) -> zrelay sub, whose output nobody reads for a while, so it stops reading and zmq
        drops for it. zrelay sub's missing count is exactly what was sent minus what it
        received; the relay published everything (the loss was zmq's, at the subscriber's HWM,
        where only sequence gaps can show it)."""
        self.daemon.stop()
        in_port, out_port, self.metrics_port = free_tcp_ports(3)
        self.ingress = f"tcp://127.0.0.1:{in_port}"
        self.egress = f"tcp://127.0.0.1:{out_port}"
        self.daemon = Daemon({"ingress": {"bind": [self.ingress]},
                              "egress": {"bind": [self.egress], "sndhwm": 10, "nodrop": False},
                              "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"}})
        self.assertTrue(self.daemon.wait_ready(), self.daemon.stderr_text())
        tool = self.tool("sub", "--from", self.egress, "--topic", "load", "--json",
                         read_stdout=False)
        self.await_subscriptions(1)

        burst = 20000
        result = run("send", "--to", self.ingress, "--topic", "load", "--count", str(burst),
                     "--size", "1024")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            "zrelay_messages_published_total") == burst, WAIT))

        # The reader comes back. A marker sent now must arrive (queues are draining); one that
        # does not in time is lost like the rest, and the next one is sent. Once marker k shows,
        # everything sent before it has come or is gone.
        tool.read_stdout()
        markers = 0
        def marker_arrives():
            nonlocal markers
            markers += 1
            self.assertEqual(run("send", "--to", self.ingress, "--topic", "load",
                                 f"marker-{markers}").returncode, EXIT_OK)
            return wait_for(lambda: any(f'"content":"marker-{markers}"' in line
                                        for line in tool.out), 2)
        self.assertTrue(wait_for(marker_arrives, 30), "no marker came through")
        sent = burst + markers
        self.assertEqual(tool.finish(signal.SIGINT), EXIT_OK, tool.err)

        summary = json.loads(tool.err[-1])["summary"]
        received = len(tool.out)
        self.assertEqual(summary["received"], received)
        self.assertGreater(summary["missing"], 0, "nothing was dropped: the test proves nothing")
        self.assertGreaterEqual(summary["gaps"], 1)
        self.assertEqual(summary["missing"], sent - received,
                         f"sent {sent}, received {received}, summary {summary}")
        self.assertEqual(summary["restarts"], 0)
        self.assertEqual(scrape(self.metrics_port).get("zrelay_messages_published_total"), sent)
        # Each gap was reported as it happened, and they add up to the summary.
        reported = [line for line in tool.err if line.startswith("gap on topic")]
        self.assertEqual(len(reported), summary["gaps"])
        self.assertEqual(sum(int(line.split(": ")[1].split(" ")[0]) for line in reported),
                         summary["missing"])
        print(f"[ figures ] forced drop: sent {sent}, received {received}, "
              f"missing {summary['missing']} in {summary['gaps']} gaps", flush=True)


class ChainToolTest(ToolTestCase):
    """zrelay send -> relay A -> (egress.forward) relay B -> zrelay sub, and B killed with
    SIGKILL and started again mid-stream: what died with B, and what A dropped while B was away,
    shows only in A's sequence, and the tool must report it, exactly once."""

    def relay(self, ports, forward=None):
        in_port, out_port, metrics_port = ports
        config = {"ingress": {"bind": [f"tcp://127.0.0.1:{in_port}"]},
                  "egress": {"bind": [f"tcp://127.0.0.1:{out_port}"]},
                  "metrics": {"listen": f"127.0.0.1:{metrics_port}"}}
        if forward:
            # Dropping once its link is full, so B's absence costs messages for certain (and a
            # burst of at most sndhwm costs none while B is there).
            config["egress"].update({"forward": [forward], "nodrop": False, "sndhwm": 100})
        daemon = Daemon(config)
        self.addCleanup(daemon.stop)
        self.assertTrue(daemon.wait_ready(), daemon.stderr_text())
        ready = [line for line in daemon.stderr_text().splitlines() if " ready: " in line]
        return daemon, int(ready[-1].rsplit("instance ", 1)[1].split()[0], 16)

    def test_a_killed_last_relay_loses_what_only_the_origin_sequence_shows(self):
        self.assertTrue(ZRELAYD and os.access(ZRELAYD, os.X_OK),
                        f"ZRELAYD must name the zrelayd binary, got {ZRELAYD!r}")
        ports_a, ports_b = free_tcp_ports(3), free_tcp_ports(3)
        in_a, in_b = (f"tcp://127.0.0.1:{ports[0]}" for ports in (ports_a, ports_b))
        b, b_instance = self.relay(ports_b)
        _, a_instance = self.relay(ports_a, forward=in_b)
        link = f'zrelay_link_connected{{link="{in_b}",direction="forward"}}'
        self.assertTrue(wait_for(lambda: scrape(ports_a[2]).get(link) == 1, WAIT))
        tool = self.tool("sub", "--from", f"tcp://127.0.0.1:{ports_b[1]}", "--json", "--topic",
                         "chain")
        self.assertTrue(wait_for(lambda: scrape(ports_b[2]).get("zrelay_subscriptions", 0) >= 1,
                                 WAIT), tool.err)
        sent = 0

        def send(count, content="x"):
            nonlocal sent
            result = run("send", "--to", in_a, "--topic", "chain", "--count", str(count), content)
            self.assertEqual(result.returncode, EXIT_OK, result.stderr)
            sent += count
            self.assertTrue(wait_for(lambda: scrape(ports_a[2]).get(
                "zrelay_messages_received_total") == sent, WAIT))

        send(50)
        self.assertTrue(tool.wait_out(50), len(tool.out))
        b.proc.kill()
        b.proc.wait()
        self.assertTrue(wait_for(lambda: scrape(ports_a[2]).get(link) == 0, WAIT))
        send(1000)  # A numbers them all, and drops what its link to B cannot hold

        def link_count(name):
            return scrape(ports_a[2]).get(f'{name}{{link="{in_b}",direction="forward"}}', 0)
        # All through A's egress (forwarded or dropped) before B is back.
        self.assertTrue(wait_for(lambda: link_count("zrelay_link_messages_total") +
                                 link_count("zrelay_link_dropped_total") == sent, WAIT))
        self.assertGreater(link_count("zrelay_link_dropped_total"), 0)
        _, restarted = self.relay(ports_b)
        self.assertTrue(wait_for(lambda: scrape(ports_b[2]).get("zrelay_subscriptions", 0) >= 1,
                                 WAIT), tool.err)
        self.assertTrue(wait_for(lambda: scrape(ports_a[2]).get(link) == 1, WAIT))
        # Markers until one arrives: then everything sent before it has come or is gone.
        markers = 0

        def marker_arrives():
            nonlocal markers
            markers += 1
            send(1, f"marker-{markers}")
            return wait_for(lambda: any(f'"content":"marker-{markers}"' in line
                                        for line in tool.out), 2)
        self.assertTrue(wait_for(marker_arrives, 30), "no marker came through")
        self.assertEqual(tool.finish(signal.SIGINT), EXIT_OK, tool.err)

        lines = [json.loads(line) for line in tool.out]
        self.assertEqual({m["relay_hops"][0]["instance"] for m in lines}, {f"{a_instance:016x}"})
        self.assertEqual(lines[-1]["relay_hops"][0]["sequence"], sent)
        summary = json.loads(tool.err[-1])["summary"]
        self.assertEqual(summary["restarts"], 1, tool.err)
        self.assertGreater(summary["origin_lost"], 0, tool.err)
        # Every message A numbered, from its first to the last one here, was received or
        # reported lost, once.
        self.assertEqual(summary["received"] + summary["missing"] + summary["origin_lost"], sent,
                         f"sent {sent}, summary {summary}")
        reported = [line for line in tool.err if " lost between relay " in line]
        self.assertTrue(reported, tool.err)
        self.assertEqual(sum(int(line.split(": ")[1].split(" ")[0]) for line in reported),
                         summary["origin_lost"], reported)
        self.assertTrue(all(f"lost between relay {a_instance:016x} and here" in line
                            for line in reported), reported)
        # Whether A's link held some messages for B's new instance decides which the losses
        # straddle: B's restart, or only A's drops, before the new B numbered anything.
        self.assertTrue(all(line.endswith((f"; relay {b_instance:016x} restarted)",
                                           f"; before relay {restarted:016x} numbered them)"))
                            for line in reported), reported)
        self.assertNotEqual(restarted, b_instance)


class Ipv6ToolTest(ToolTestCase):

    def test_send_and_sub_over_ipv6_loopback(self):
        """zrelay send and sub to a relay bound on [::1] only: the tool sets ZMQ_IPV6 for an
        IPv6 endpoint, as zrelayd does (daemon/wire/endpoint.hpp)."""
        self.assertTrue(ZRELAYD and os.access(ZRELAYD, os.X_OK),
                        f"ZRELAYD must name the zrelayd binary, got {ZRELAYD!r}")
        in_port, out_port, metrics_port = free_tcp_ports(3, dual_stack=True)
        ingress, egress = f"tcp://[::1]:{in_port}", f"tcp://[::1]:{out_port}"
        daemon = Daemon({"ingress": {"bind": [ingress]}, "egress": {"bind": [egress]},
                         "metrics": {"listen": f"127.0.0.1:{metrics_port}"}})
        self.addCleanup(daemon.stop)
        self.assertTrue(daemon.wait_ready(), daemon.stderr_text())
        tool = self.tool("sub", "--from", egress, "--json", "--count", "3")
        self.assertTrue(wait_for(
            lambda: scrape(metrics_port).get("zrelay_subscriptions", 0) >= 1, WAIT),
            f"zrelay sub never subscribed over [::1]: {tool.err}")
        result = run("send", "--to", ingress, "--topic", "v6", "--count", "3")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertEqual(tool.finish(), EXIT_OK, tool.err)
        self.assertEqual([(m["topic"], m["content"]) for m in map(json.loads, tool.out)],
                         [("v6", str(i)) for i in range(3)])


# --------------------------------------------------------------------------------------------
# Errors that need no relay
# --------------------------------------------------------------------------------------------

class ErrorTest(unittest.TestCase):

    def test_send_refuses_other_transports(self):
        result = run("send", "--to", "udp://x", "hi")
        self.assertEqual(result.returncode, EXIT_USAGE)
        self.assertIn("udp://x", result.stderr)

    def test_endpoints_are_checked_as_zrelayd_checks_them(self):
        """The tool shares zrelayd's endpoint check: what the relay's configuration would refuse
        for a connect endpoint exits 64 with the same reason, before anything connects."""
        for args, reason in (
                (("send", "--to", "ipc://relative.sock", "--timeout", "200", "hi"),
                 'send: --to: ipc path must be absolute (ipc:///run/zrelay/in.sock) or abstract '
                 '(ipc://@name); a relative one depends on the working directory, got '
                 '"ipc://relative.sock"'),
                (("sub", "--from", "tcp://[::1:5556"),
                 'sub: --from: unterminated IPv6 address (no \']\') in "tcp://[::1:5556"'),
                (("send", "--to", "tcp://[::1]:*", "--timeout", "200", "hi"),
                 'send: --to: a connect endpoint needs a definite address, not a wildcard, got '
                 '"tcp://[::1]:*"')):
            with self.subTest(args=args):
                result = run(*args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(reason, result.stderr)

    def test_usage_errors_exit_64(self):
        for args in ([], ["publish"], ["stats", "--metrics", "ftp://x/"],
                     ["send", "--to", "tcp://127.0.0.1:1", "--count", "2", "-"]):
            with self.subTest(args=args):
                self.assertEqual(run(*args).returncode, EXIT_USAGE)

    def test_send_with_no_relay_exits_69_naming_the_endpoint(self):
        port, = free_tcp_ports(1)
        result = run("send", "--to", f"tcp://127.0.0.1:{port}", "--timeout", "200", "hi")
        self.assertEqual(result.returncode, EXIT_UNAVAILABLE)
        self.assertIn(f"no relay at tcp://127.0.0.1:{port}", result.stderr)
        self.assertIn(f"zrelay send: cannot connect to tcp://127.0.0.1:{port} (nothing accepts "
                      "connections there, or the host does not resolve)", result.stderr)

    def test_send_to_a_curve_relay_says_it_wants_another_mechanism(self):
        ctx = zmq.Context()
        self.addCleanup(ctx.destroy, 0)
        pull = ctx.socket(zmq.PULL)
        self.addCleanup(pull.close, 0)
        pull.setsockopt(zmq.CURVE_SERVER, 1)
        pull.setsockopt(zmq.CURVE_SECRETKEY, zmq.curve_keypair()[1])
        endpoint = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
        result = run("send", "--to", endpoint, "--timeout", "1000", "hi")
        self.assertEqual(result.returncode, EXIT_UNAVAILABLE, result.stderr)
        assert_curve_named(self, "zrelay send", endpoint, result.stderr.splitlines())
        self.assertEqual(pull.poll(0), 0, "a NULL client got a message through CURVE")

    def test_a_send_that_succeeds_says_nothing_of_connecting(self):
        ctx = zmq.Context()
        self.addCleanup(ctx.destroy, 0)
        pull = ctx.socket(zmq.PULL)
        self.addCleanup(pull.close, 0)
        endpoint = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
        result = run("send", "--to", endpoint, "hi")
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertTrue(pull.poll(int(WAIT * 1000)), "the sent message never arrived")
        self.assertEqual(v1_pb2.DataMessage.FromString(pull.recv()).content, "hi")
        self.assertEqual(result.stderr.splitlines(), [line for line in result.stderr.splitlines()
                                                      if line.startswith("zrelay send: sent 1 ")])

    def test_stats_on_a_closed_port_exits_69_naming_the_url(self):
        port, = free_tcp_ports(1)
        url = f"http://127.0.0.1:{port}/metrics"
        result = run("stats", "--metrics", url, "--once")
        self.assertEqual(result.returncode, EXIT_UNAVAILABLE)
        self.assertIn(url, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
