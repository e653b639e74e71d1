"""Retention and the replay endpoint (daemon/relay/retention_log.*, replay_session.*,
replay_server.*), against the real zrelayd over real sockets.

A producer pushes; the relay keeps what it publishes; a DEALER asks its replay endpoint for a
range of one topic or a snapshot of last values (proto/zrelay/v1/replay.proto) and gets back the
stamped messages exactly as subscribers got them, then a ReplayEnd saying how it went. Also: what
is evicted is reported (PARTIAL, with counts), a restarted relay refuses old sequences
(WRONG_INSTANCE), credit bounds what the relay sends ahead, bad requests get an error or nothing,
a thousand clients at once get BUSY past the session limit, and the metrics count it all. Run by
CTest like relay_test.py (ZRELAYD, PYTHONPATH).
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import zmq

from relay_test import (EXIT_OK, Daemon, RelayFixture, free_tcp_ports, scrape, v1_message,
                        wait_for)
from zrelay.v1 import data_message_pb2 as v1_pb2
from zrelay.v1 import replay_pb2

Status = replay_pb2.ReplayEnd
# The build under test, as the CTest presets say it in the environment.
SANITIZER = ("tsan" if "TSAN_OPTIONS" in os.environ
             else "asan" if "ASAN_OPTIONS" in os.environ else None)
REPLY_TIMEOUT = 20.0  # seconds for a reply to arrive (a failure bound only)


def range_request(topic, first=1, last=0, instance=0, window=0, request_id=1):
    r = replay_pb2.ReplayRequest(request_id=request_id, instance=instance, window=window)
    r.range.topic = topic
    r.range.from_sequence = first
    r.range.to_sequence = last
    return r.SerializeToString()


def snapshot_request(prefix, instance=0, request_id=1):
    r = replay_pb2.ReplayRequest(request_id=request_id, instance=instance)
    r.snapshot.prefix = prefix
    return r.SerializeToString()


def credit_request(messages, request_id=1):
    r = replay_pb2.ReplayRequest(request_id=request_id)
    r.credit.messages = messages
    return r.SerializeToString()


class ReplayFixture(RelayFixture):
    """A relay with retention, a producer, and DEALERs on its replay endpoint."""

    def start_relay(self, retention=None, env=None, **sections):
        config = self.config(**sections)
        if retention is not None:
            config["retention"] = retention
        self.daemon = Daemon(config, env)
        self.daemons.append(self.daemon)
        self.assertTrue(self.daemon.wait_ready(),
                        "zrelayd did not become ready:\n" + self.daemon.stderr_text())
        self.replay_endpoint = self.daemon.replay_endpoint
        return self.daemon

    def dealer(self):
        sock = self.socket(zmq.DEALER)
        sock.setsockopt(zmq.RCVTIMEO, int(REPLY_TIMEOUT * 1000))
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.replay_endpoint)
        return sock

    def publish(self, messages):
        """Pushes [(topic, content)] and waits until the relay has published them all."""
        before = scrape(self.metrics_port).get("zrelay_messages_published_total", 0)
        push = self.push()
        for topic, content in messages:
            push.send(v1_message(topic=topic, content=content))
        reached = wait_for(lambda: scrape(self.metrics_port).get(
            "zrelay_messages_published_total", 0) >= before + len(messages), 60)
        self.assertTrue(reached, "the relay did not publish every message")

    def ask(self, dealer, request, credit_every=None):
        """Sends `request` and reads the reply: ([(topic, DataMessage)], ReplayEnd). With
        credit_every, credits that many messages each time that many have arrived."""
        dealer.send(request)
        messages = []
        taken = 0
        while True:
            frames = dealer.recv_multipart()
            if len(frames) == 1:
                end = Status.FromString(frames[0])
                return messages, end
            self.assertEqual(len(frames), 2, "a replayed message is [topic][DataMessage]")
            messages.append((frames[0].decode(), v1_pb2.DataMessage.FromString(frames[1])))
            taken += 1
            if credit_every and taken == credit_every:
                dealer.send(credit_request(taken))
                taken = 0

    def instance(self):
        """The relay's instance, from a reply that names it."""
        _, end = self.ask(self.dealer(), range_request("$nothing", 1, 1))
        return end.instance


class ReplayTest(ReplayFixture):

    def test_a_range_replays_the_published_bytes_in_order(self):
        self.start_relay()
        sub = self.sub([b"a"])
        self.await_subscriptions(1)
        self.publish([("a" if i % 3 else "b", f"m{i}") for i in range(300)])
        live = []
        for _ in range(200):
            topic, body = sub.recv_multipart()
            live.append((topic.decode(), body))

        messages, end = self.ask(self.dealer(), range_request("a", 10, 30))
        self.assertEqual(end.status, Status.COMPLETE, end)
        self.assertEqual([m.relay_sequence for _, m in messages], list(range(10, 31)))
        # Byte for byte what the subscriber got, stamp included.
        self.assertEqual([(t, m.SerializeToString()) for t, m in messages],
                         [(t, v1_pb2.DataMessage.FromString(b).SerializeToString())
                          for t, b in live[9:30]])
        self.assertEqual((end.messages, end.missing, end.first_held, end.newest_sequence),
                         (21, 0, 1, 200))
        self.assertEqual(end.instance, messages[0][1].relay_instance)
        self.assertEqual(end.request_id, 1)

        # to_sequence 0, or past the newest: up to the newest.
        for last in (0, 10**12):
            messages, end = self.ask(self.dealer(), range_request("b", 95, last))
            self.assertEqual(end.status, Status.COMPLETE)
            self.assertEqual([m.relay_sequence for _, m in messages], [95, 96, 97, 98, 99, 100])

    def test_what_was_evicted_is_reported_missing_and_the_rest_replayed(self):
        # A small log without last values: most of 4,000 messages of ~150 bytes are evicted.
        self.start_relay(retention={"max_bytes": 65536, "last_values": False})
        self.publish([("e", f"{i:0100d}") for i in range(4000)])
        messages, end = self.ask(self.dealer(), range_request("e", 1, 4000))
        self.assertEqual(end.status, Status.PARTIAL, end)
        held = [m.relay_sequence for _, m in messages]
        self.assertGreater(len(held), 100)
        self.assertEqual(held, list(range(end.first_held, 4001)), "the newest, in order")
        self.assertEqual(end.missing, end.first_held - 1)
        self.assertEqual(end.messages + end.missing, 4000)

        samples = scrape(self.metrics_port)
        self.assertEqual(samples["zrelay_retained_messages"], len(held))
        self.assertEqual(samples["zrelay_retention_evictions_total"], 4000 - len(held))
        self.assertLessEqual(samples["zrelay_retained_bytes"], 65536)
        self.assertEqual(samples['zrelay_replay_requests_total{result="partial"}'], 1)
        self.assertEqual(samples["zrelay_replayed_messages_total"], len(held))

    def test_a_request_for_another_instance_gets_wrong_instance_and_nothing(self):
        self.start_relay()
        self.publish([("w", "x")] * 5)
        ours = self.instance()
        messages, end = self.ask(self.dealer(), range_request("w", 1, 5, instance=ours ^ 1))
        self.assertEqual((messages, end.status, end.instance), ([], Status.WRONG_INSTANCE, ours))
        messages, end = self.ask(self.dealer(), range_request("w", 1, 5, instance=ours))
        self.assertEqual((len(messages), end.status), (5, Status.COMPLETE))

    def test_a_snapshot_gives_each_topics_last_value_even_after_eviction(self):
        self.start_relay(retention={"max_bytes": 65536})
        self.publish([("s.one", "1a"), ("s.two", "2a"), ("t.other", "x"), ("s.one", "1b")])
        # Enough traffic on another topic to evict everything above, twice over.
        self.publish([("noise", f"{i:0100d}") for i in range(3000)])
        messages, end = self.ask(self.dealer(), snapshot_request("s."))
        self.assertEqual(end.status, Status.COMPLETE, end)
        self.assertEqual([(t, m.content, m.relay_sequence) for t, m in messages],
                         [("s.one", "1b", 2), ("s.two", "2a", 1)])
        everything, _ = self.ask(self.dealer(), snapshot_request(""))
        self.assertEqual(sorted(t for t, _ in everything), ["noise", "s.one", "s.two", "t.other"])

    def test_credit_bounds_what_the_relay_sends_ahead(self):
        self.start_relay()
        self.publish([("c", str(i)) for i in range(100)])
        dealer = self.dealer()
        dealer.send(range_request("c", window=10))
        first = [dealer.recv_multipart() for _ in range(10)]
        self.assertTrue(all(len(f) == 2 for f in first))
        # Without credit nothing more comes, however long we wait...
        self.assertEqual(dealer.poll(1000), 0, "the relay sent past the window")
        self.assertEqual(scrape(self.metrics_port)["zrelay_replayed_messages_total"], 10)
        # ...and credit for 25 (more than was sent counts as all of it) lets the rest flow.
        dealer.send(credit_request(5))
        more = [dealer.recv_multipart() for _ in range(5)]
        self.assertEqual(dealer.poll(500), 0)
        dealer.send(credit_request(15))
        rest = []
        while True:
            frames = dealer.recv_multipart()
            if len(frames) == 1:
                break
            rest.append(frames)
            if len(rest) % 10 == 0:
                dealer.send(credit_request(10))
        sequences = [v1_pb2.DataMessage.FromString(f[1]).relay_sequence
                     for f in first + more + rest]
        self.assertEqual(sequences, list(range(1, 101)))
        self.assertEqual(Status.FromString(frames[0]).status, Status.COMPLETE)

    def test_a_long_replay_to_a_crediting_client_is_complete(self):
        self.start_relay()
        count = 50_000
        self.publish([("long", str(i)) for i in range(count)])
        messages, end = self.ask(self.dealer(), range_request("long", window=1000),
                                 credit_every=500)
        self.assertEqual(end.status, Status.COMPLETE)
        self.assertEqual([m.relay_sequence for _, m in messages], list(range(1, count + 1)))

    def test_bad_requests_get_an_error_and_the_relay_serves_on(self):
        self.start_relay()
        self.publish([("ok", "1")])
        cases = [
            ([b"\xff\xff\xff garbage"], "not a replayrequest"),
            ([range_request("ok"), b"second frame"], "one frame"),
            ([range_request("ok", window=20000)], "window"),
            ([range_request("ok", first=0)], "from_sequence"),
            ([range_request("ok", first=9, last=3)], "to_sequence"),
            ([replay_pb2.ReplayRequest(request_id=4).SerializeToString()], "needs a range"),
        ]
        for frames, words in cases:
            dealer = self.dealer()
            dealer.send_multipart(frames)
            end = Status.FromString(dealer.recv())
            self.assertEqual(end.status, Status.BAD_REQUEST, frames)
            self.assertIn(words, end.error.lower(), frames)
        # An unknown topic: nothing to send; with a range named, all of it missing.
        messages, end = self.ask(self.dealer(), range_request("nobody"))
        self.assertEqual((messages, end.status, end.newest_sequence), ([], Status.COMPLETE, 0))
        _, end = self.ask(self.dealer(), range_request("nobody", 1, 2**63))
        self.assertEqual((end.status, end.missing), (Status.PARTIAL, 2**63))
        # A frame of 8 KiB and more drops the connection rather than being read.
        big = self.dealer()
        big.send(b"x" * 100_000)
        self.assertEqual(big.poll(500), 0)
        messages, end = self.ask(self.dealer(), range_request("ok"))
        self.assertEqual((len(messages), end.status), (1, Status.COMPLETE))
        samples = scrape(self.metrics_port)
        self.assertEqual(samples['zrelay_replay_requests_total{result="bad_request"}'], 6)

    def test_snapshots_need_last_values(self):
        self.start_relay(retention={"last_values": False})
        _, end = self.ask(self.dealer(), snapshot_request(""))
        self.assertEqual(end.status, Status.DISABLED)
        self.assertIn("last_values", end.error)

    def test_a_thousand_clients_at_once_get_served_or_busy_within_bounded_memory(self):
        # Under ASan freed memory waits in a quarantine (256 MiB by default) that RSS would
        # count; a small one keeps RSS about what the relay holds.
        self.start_relay(env={"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                              ":quarantine_size_mb=1"} if SANITIZER == "asan" else None)
        self.publish([(f"k{i % 4}", f"{i:064d}") for i in range(20_000)])
        rss_before = rss_kib(self.daemon.proc.pid)
        dealers = [self.dealer() for _ in range(1000)]
        for d in dealers:
            d.send(range_request("k1", window=1000))  # 5,000 messages each, never credited
        served = busy = 0
        for d in dealers:
            frames = d.recv_multipart()
            if len(frames) == 1:
                end = Status.FromString(frames[0])
                self.assertEqual(end.status, Status.BUSY, end)
                busy += 1
            else:
                served += 1
        self.assertEqual((served, busy), (256, 744))
        # Each served client holds at most a window (1,000 messages of ~120 bytes) in flight.
        grown_mib = (rss_kib(self.daemon.proc.pid) - rss_before) / 1024
        # TSan's shadow memory is several times what the program uses: RSS says nothing there.
        if SANITIZER != "tsan":
            bound = 160 * (3 if SANITIZER == "asan" else 1)  # ASan's redzones, about 2x
            self.assertLess(grown_mib, bound, "the relay's memory grew past the windows")
        self.assertIsNone(self.daemon.proc.poll())
        for d in dealers:
            d.close(linger=0)
        self.sockets = [s for s in self.sockets if not s.closed]

    def test_with_retention_off_there_is_no_replay_endpoint_and_no_metric(self):
        daemon = self.start_relay(retention={"max_bytes": 0})
        self.assertIn(", replay off,", daemon.stderr_text())
        samples = scrape(self.metrics_port)
        self.assertNotIn("zrelay_retained_bytes", samples)
        dealer = self.dealer()
        dealer.send(range_request("a"))
        self.assertEqual(dealer.poll(500), 0)
        self.assertTrue(port_closed(self.replay_endpoint))

    def test_check_config_and_reload_name_the_keys(self):
        result = self.check_config("retention:\n  max_bytes: 1000000\nreplay:\n  bind: []\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("retention:\n  max_bytes: 1000000\n  last_values: true\n", result.stdout)
        self.assertIn("replay:\n  bind: []\n", result.stdout)
        result = self.check_config("retention:\n  max_bytes: -1\n")
        self.assertIn("retention.max_bytes: expected an integer in [0, 1099511627776]",
                      result.stderr)
        result = self.check_config("egress:\n  bind: tcp://127.0.0.1:5557\n")
        self.assertIn('endpoint "tcp://127.0.0.1:5557" is also replay.bind[0] (the default',
                      result.stderr)

        daemon = self.start_relay()
        self.rewrite_config(daemon, self.config(retention={"max_bytes": 1 << 20,
                                                           "last_values": False}))
        daemon.signal(signal.SIGHUP)
        line = wait_for(lambda: next((l for l in daemon.stderr_text().splitlines()
                                      if "take effect only on restart" in l), None), 10)
        self.assertIsNotNone(line, daemon.stderr_text())
        self.assertIn("retention.max_bytes, retention.last_values changed", line)
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(30), EXIT_OK)


ZRELAY = os.environ.get("ZRELAY")
TOPICS = [f"t{i}" for i in range(4)]


class ToolProcess:
    """`zrelay sub` running, its stdout and stderr lines collected by threads as they come."""

    def __init__(self, test, args):
        self.proc = subprocess.Popen([ZRELAY, "sub", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        test.addCleanup(self.stop)
        self.out, self.err = [], []
        self.parsed, self.seen = 0, {}
        self.threads = [threading.Thread(target=lambda: self.out.extend(self.proc.stdout),
                                         daemon=True),
                        threading.Thread(target=lambda: self.err.extend(self.proc.stderr),
                                         daemon=True)]
        for t in self.threads:
            t.start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self.threads:
            t.join(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def interrupt(self, timeout=60):
        """SIGINT (the summary), then waits for the exit and the last lines."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        for t in self.threads:
            t.join(10)
        return code

    def sequences(self):
        """{topic: [sequence, ...]} in the order printed ("topic #sequence content" lines), read
        on from where the previous call stopped."""
        lines = self.out[self.parsed:]
        self.parsed += len(lines)
        for line in lines:
            topic, sequence = line.split(" ", 2)[:2]
            self.seen.setdefault(topic, []).append(int(sequence.removeprefix("#")))
        return self.seen

    def stderr(self):
        return "".join(self.err)


class RecoverToolTest(ReplayFixture):
    """`zrelay sub --recover` and `--snapshot` (tools/zrelay_recovery.*) against the real relay:
    the issue's goals 1 to 3."""

    def setUp(self):
        super().setUp()
        self.assertTrue(ZRELAY and os.access(ZRELAY, os.X_OK), "ZRELAY must name the tool")

    def lossy_relay(self, **retention):
        # No nodrop: a stalled subscriber loses what does not fit its pipe and socket buffers.
        return self.start_relay(retention=retention or None,
                                egress={"bind": [self.out_endpoint], "nodrop": False,
                                        "sndhwm": 100})

    def stalled_run(self, tool, total, stall_from, stall_to):
        """Publishes `total` messages round-robin on TOPICS, the tool stopped (SIGSTOP) while
        messages stall_from..stall_to pass. A loss at the very end of a topic shows only when a
        later message comes, so then one more per topic until the tool has printed one of those
        on each. Returns {topic: messages published on it}."""
        self.await_subscriptions(1)
        batch = lambda a, b: [(TOPICS[i % 4], f"{i:064d}") for i in range(a, b)]
        self.publish(batch(0, stall_from))
        os.kill(tool.proc.pid, signal.SIGSTOP)
        self.publish(batch(stall_from, stall_to))
        os.kill(tool.proc.pid, signal.SIGCONT)
        self.publish(batch(stall_to, total))
        published = {t: total // 4 for t in TOPICS}

        def shown_past_the_end():
            printed = tool.sequences()
            if all(printed.get(t, [0])[-1] > total // 4 for t in TOPICS):
                return True
            self.publish([(t, "end") for t in TOPICS])
            for t in TOPICS:
                published[t] += 1
            return False

        self.assertTrue(wait_for(shown_past_the_end, 120, interval=0.5), tool.stderr())
        # The last of those, published to an idle subscriber, arrive too.
        self.assertTrue(wait_for(lambda: all(tool.sequences()[t][-1] == published[t]
                                             for t in TOPICS), 60), tool.stderr())
        return published

    def test_goal_1_a_stalled_subscriber_recovers_every_message(self):
        self.lossy_relay()
        tool = ToolProcess(self, ["--from", self.out_endpoint, "--replay", self.replay_endpoint,
                                  "--recover"])
        published = self.stalled_run(tool, 200_000, 20_000, 170_000)
        self.assertEqual(tool.interrupt(), 0)
        # All 200,000 (and the few after), in order per topic, none twice...
        self.assertEqual(tool.sequences(), {t: list(range(1, published[t] + 1)) for t in TOPICS})
        # ...and not because nothing was lost: the stall lost at least 50,000, all recovered.
        summary = re.search(r"^zrelay sub: received .*, recovered (\d+), lost (\d+)$",
                            tool.stderr(), re.M)
        self.assertTrue(summary, tool.stderr())
        self.assertGreaterEqual(int(summary[1]), 50_000, tool.stderr())
        self.assertEqual(int(summary[2]), 0, tool.stderr())
        self.assertEqual(scrape(self.metrics_port)["zrelay_replayed_messages_total"],
                         int(summary[1]))

    def test_goal_1_when_retention_does_not_cover_the_gap_the_loss_is_counted_exactly(self):
        # 1 MiB holds some 7,000 of these messages: most of the stall is gone.
        self.lossy_relay(max_bytes=1 << 20, last_values=False)
        tool = ToolProcess(self, ["--from", self.out_endpoint, "--replay", self.replay_endpoint,
                                  "--recover"])
        published = self.stalled_run(tool, 200_000, 20_000, 170_000)
        self.assertEqual(tool.interrupt(), 0)
        printed = tool.sequences()
        reports = dict((m[1], (int(m[2]), int(m[3]))) for m in re.finditer(
            r'^recovery on topic "(\w+)": recovered (\d+), lost (\d+)$', tool.stderr(), re.M))
        self.assertEqual(sorted(reports), TOPICS, tool.stderr())
        total_lost = 0
        for topic in TOPICS:
            sequences = printed[topic]
            self.assertEqual(sequences, sorted(set(sequences)), "in order, none twice")
            recovered, lost = reports[topic]
            self.assertGreater(lost, 0)
            # What was printed plus what is reported lost is exactly what was published.
            self.assertEqual(len(sequences) + lost, published[topic], topic)
            total_lost += lost
        self.assertRegex(tool.stderr(), rf"zrelay sub: received .*, lost {total_lost}\n")

    def test_goal_2_a_late_joiner_gets_last_values_then_the_live_stream_without_a_seam(self):
        self.start_relay()
        topics = [f"s.{i}" for i in range(10)]
        stop = threading.Event()
        sent = {t: 0 for t in topics}

        def produce():
            push = self.ctx.socket(zmq.PUSH)
            push.connect(self.in_endpoint)
            i = 0
            while not stop.is_set():
                topic = topics[i % len(topics)]
                push.send(v1_message(topic=topic, content=str(i)))
                sent[topic] += 1
                i += 1
                if i % 50 == 0:
                    time.sleep(0.005)  # some thousands a second: a stream, not a flood
            push.close(linger=-1)

        producer = threading.Thread(target=produce)
        producer.start()
        try:
            self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
                "zrelay_messages_published_total", 0) >= 2000, 30))
            tool = ToolProcess(self, ["--from", self.out_endpoint, "--replay",
                                      self.replay_endpoint, "--snapshot", "--topic", "s."])
            self.assertTrue(wait_for(lambda: len(tool.out) >= 3000, 60), tool.stderr())
        finally:
            stop.set()
            producer.join()
        total = sum(sent.values())
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            "zrelay_messages_published_total", 0) >= total, 30))
        self.assertTrue(wait_for(lambda: all(
            tool.sequences().get(t, [0])[-1] == sent[t] for t in topics), 60), tool.stderr())
        self.assertEqual(tool.interrupt(), 0)
        for topic, sequences in tool.sequences().items():
            # The first is the topic's last value when the tool joined (not sequence 1: the
            # producer ran long before), then every later one once, with no gap at the seam.
            self.assertGreater(sequences[0], 1, topic)
            self.assertEqual(sequences, list(range(sequences[0], sent[topic] + 1)), topic)
        self.assertEqual(sorted(tool.sequences()), topics)
        self.assertEqual(scrape(self.metrics_port)['zrelay_replay_requests_total{result="complete"}']
                         >= 1, True)

    def test_goal_3_a_relay_restarted_before_the_replay_recovers_nothing(self):
        # The tool asks a replay endpoint that only the restarted relay binds, so its request
        # for the old instance's gap can only reach the new instance.
        later_replay = f"tcp://127.0.0.1:{free_tcp_ports(1)[0]}"
        first = self.lossy_relay()
        tool = ToolProcess(self, ["--from", self.out_endpoint, "--replay", later_replay,
                                  "--recover", "--replay-timeout", "120", "--json"])
        self.await_subscriptions(1)
        self.publish([("r", "first")])
        self.assertTrue(wait_for(lambda: len(tool.out) == 1, 20), tool.stderr())
        os.kill(tool.proc.pid, signal.SIGSTOP)
        self.publish([("r", f"{i:064d}") for i in range(150_000)])
        os.kill(tool.proc.pid, signal.SIGCONT)
        self.publish([("r", "shows the gap")])
        gap = wait_for(lambda: re.search(r'^gap on topic "r"', tool.stderr(), re.M), 60)
        self.assertTrue(gap, tool.stderr())
        old_instance = json.loads(tool.out[0])["relay_instance"]

        first.proc.kill()
        first.proc.wait()
        config = self.config(egress={"bind": [self.out_endpoint], "nodrop": False},
                             replay={"bind": [later_replay]})
        self.start(config)
        said = wait_for(lambda: "the relay restarted" in tool.stderr(), 60)
        self.assertTrue(said, tool.stderr())
        self.await_subscriptions(1)
        self.publish([("r", "from the new relay")])
        self.assertTrue(wait_for(lambda: any('"from the new relay"' in l for l in tool.out), 30))
        self.assertEqual(tool.interrupt(), 0)

        printed = [json.loads(l) for l in tool.out]
        old = [int(m["relay_sequence"]) for m in printed if m["relay_instance"] == old_instance]
        new = [m for m in printed if m["relay_instance"] != old_instance]
        # Nothing of the old instance came from the new relay: what was printed of it is what
        # the subscriber received live, in order, the gap left open and reported lost.
        self.assertEqual(old, sorted(set(old)))
        summary = re.search(r"^zrelay sub: received .*, recovered (\d+), lost (\d+)$",
                            tool.stderr(), re.M)
        self.assertTrue(summary, tool.stderr())
        self.assertEqual(int(summary[1]), 0)
        # Every gap up to the last old message it saw is counted lost (a loss at the very end
        # of the old instance's stream shows in no later message, so nobody can count it).
        self.assertEqual(len(old) + int(summary[2]), old[-1])
        self.assertGreater(int(summary[2]), 0)
        self.assertEqual([m["content"] for m in new], ["from the new relay"])


EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples",
                       "replay_recover.py")


class ExampleTest(ReplayFixture):
    """examples/replay_recover.py against a real relay: a snapshot to start, then a stall that
    makes the relay drop (egress.nodrop false) repaired from the replay endpoint."""

    def test_the_example_starts_from_a_snapshot_and_repairs_a_stall(self):
        self.start_relay(egress={"bind": [self.out_endpoint], "nodrop": False, "sndhwm": 100})
        self.publish([("ex.a", "a1"), ("ex.b", "b1"), ("ex.a", "a2"), ("other", "o")])
        proc = subprocess.Popen(
            [sys.executable, EXAMPLE, "--egress", self.out_endpoint, "--replay",
             self.replay_endpoint, "--prefix", "ex.", "--snapshot", "--count", "40004"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.kill)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        self.assertTrue(wait_for(lambda: len(lines) >= 2, 20), "no snapshot")
        self.await_subscriptions(1)
        # Stalled (stopped outright) while 40,000 messages pass: the relay drops most of them
        # for it, as nodrop is off.
        os.kill(proc.pid, signal.SIGSTOP)
        self.publish([("ex.a" if i % 2 else "ex.b", f"{i:080d}") for i in range(40_000)])
        os.kill(proc.pid, signal.SIGCONT)
        # One more on each topic shows the example its gaps.
        self.publish([("ex.a", "last a"), ("ex.b", "last b")])
        proc.wait(timeout=120)
        reader.join(10)
        err = proc.stderr.read()
        self.assertEqual(proc.returncode, 0, err)
        seen = {}
        for line in lines:
            topic, sequence, _ = line.split(" ", 2)
            seen.setdefault(topic, []).append(int(sequence))
        # From each topic's last value on, every sequence once and in order.
        self.assertEqual(seen, {"ex.a": list(range(2, 20_004)), "ex.b": list(range(1, 20_003))})
        summary = re.search(r"shown 40004, recovered (\d+), lost 0$", err, re.M)
        self.assertTrue(summary, err)
        # The stall did lose messages, and the replay endpoint gave them back.
        self.assertGreater(int(summary[1]), 1000, err)
        self.assertEqual(scrape(self.metrics_port)["zrelay_replayed_messages_total"],
                         2 + int(summary[1]))


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def port_closed(endpoint):
    import socket
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


if __name__ == "__main__":
    unittest.main()
