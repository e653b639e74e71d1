#!/usr/bin/python3
"""Delivery you can see (issue 7), end to end against the real zrelayd: the relay's stamp on
every message (sequence per topic, receive time, instance), its bound on tracked topics and
per-topic metrics, dead letters, and the drop notice when a drain runs out of time.

Run by CTest with ZRELAYD naming the binary and PYTHONPATH holding the generated protobuf
modules and tests/ (relay_test's helpers).
"""

import json
import re
import signal
import time
import unittest

import zmq

from relay_test import (RelayFixture, free_tcp_ports, receive, scrape, stall_relay, unstamped,
                        v1_message, wait_for)
import zrelay.v1.data_message_pb2 as v1_pb2

EXIT_DRAIN_INCOMPLETE = 75


def parse(body):
    return v1_pb2.DataMessage.FromString(body)


class DeliveryTest(RelayFixture):

    def new_ports(self):
        """Fresh ports for another daemon within one test."""
        self.in_port, self.out_port, self.metrics_port = free_tcp_ports(3)

    # --- stamps ------------------------------------------------------------------------------

    def test_stamps_number_each_topic_from_one_with_no_gap_on_both_paths(self):
        """Every published message carries its sequence on its topic (1, 2, 3... per topic), the
        relay's wall-clock receive time and the instance id the relay logged at start; a
        restart is a new instance whose sequences start again at 1."""
        for workers in (0, 2):
            with self.subTest(workers=workers):
                self.new_ports()
                daemon = self.start(self.config(workers=workers))
                sub = self.sub()
                self.await_subscriptions(1)
                push = self.push()
                topics = ["a", "a", "b"]
                count = 3000
                before = time.time_ns()
                for i in range(count):
                    push.send(v1_message(topic=topics[i % 3], timestamp=i))
                next_seq = {b"a": 1, b"b": 1}
                instances = set()
                for i in range(count):
                    topic, body = self.receive_relayed(sub, stamped=True)
                    message = parse(body)
                    self.assertEqual(message.timestamp, i)
                    self.assertEqual(message.relay_sequence, next_seq[topic], f"message {i}")
                    next_seq[topic] += 1
                    self.assertGreaterEqual(message.relay_received_ns, before)
                    self.assertLessEqual(message.relay_received_ns, time.time_ns())
                    instances.add(message.relay_instance)
                self.assertEqual(next_seq, {b"a": 2001, b"b": 1001})
                self.assertEqual(len(instances), 1)
                instance = instances.pop()
                self.assertNotEqual(instance, 0)
                self.assertIn(f"instance {instance:016x}", daemon.stderr_text())

                # The same ports, a new process: a new instance, sequences from 1 again.
                daemon.signal(signal.SIGTERM)
                self.assertEqual(daemon.wait_exit(10), 0)
                self.start(self.config(workers=workers))
                sub = self.sub()
                self.await_subscriptions(1)
                self.push().send(v1_message(topic="a"))
                _, body = self.receive_relayed(sub, stamped=True)
                self.assertEqual(parse(body).relay_sequence, 1)
                self.assertNotEqual(parse(body).relay_instance, instance)

    def test_with_stamp_off_the_producers_bytes_go_out_unchanged(self):
        self.start(self.config(egress={"bind": [self.out_endpoint], "stamp": False}))
        sub = self.sub()
        self.await_subscriptions(1)
        sent = v1_message(topic="t", content="as sent", timestamp=7)
        self.push().send(sent)
        frames = receive(sub)
        self.assertEqual(frames, [b"t", sent])

    def test_a_forged_stamp_is_overridden_and_kept_as_a_hop(self):
        """A producer's own values in the stamp fields lose to the relay's (the last wins). The
        relay cannot tell them from another relay's stamp, so it keeps them as the one before it
        in relay_hops, as it would a relay's (issue 18)."""
        self.start(self.config())
        sub = self.sub()
        self.await_subscriptions(1)
        forged = v1_pb2.DataMessage(topic="t", relay_sequence=999, relay_instance=1,
                                    relay_received_ns=5).SerializeToString()
        self.push().send(forged)
        _, body = self.receive_relayed(sub, stamped=True)
        message = parse(body)
        self.assertEqual(message.relay_sequence, 1)
        self.assertNotEqual(message.relay_instance, 1)
        self.assertEqual(len(message.relay_hops), 1)
        hop = message.relay_hops[0]
        self.assertEqual((hop.instance, hop.sequence, hop.received_ns), (1, 999, 5))
        # The producer's bytes, then the hop, then the relay's own stamp.
        hop_bytes = v1_pb2.DataMessage(relay_hops=[hop]).SerializeToString()
        self.assertEqual(unstamped(body), forged + hop_bytes)

    def test_topics_past_the_cap_are_stamped_zero_and_metrics_stay_bounded(self):
        """egress.max_topics bounds the topics with sequences (later ones are stamped 0, "not
        tracked"); metrics.max_topic_labels bounds zrelay_topic_messages_total's series, the rest
        adding up under topic="_other". Label values are escaped."""
        quoted = 'say "hi" \\ now'
        self.start(self.config(egress={"bind": [self.out_endpoint], "max_topics": 3},
                               metrics={"listen": f"127.0.0.1:{self.metrics_port}",
                                        "max_topic_labels": 2}))
        sub = self.sub()
        self.await_subscriptions(1)
        push = self.push()
        topics = [quoted] + [f"t{i}" for i in range(1, 10)]
        for _ in range(2):
            for topic in topics:
                push.send(v1_message(topic=topic))
        got = {}
        instance = None
        for _ in range(2 * len(topics)):
            frames = receive(sub)
            self.assertIsNotNone(frames)
            message = parse(frames[1])
            instance = instance or message.relay_instance
            self.assertEqual(message.relay_instance, instance, "every message is stamped")
            got.setdefault(frames[0].decode(), []).append(message.relay_sequence)
        self.assertEqual(got[quoted], [1, 2])
        self.assertEqual(got["t1"], [1, 2])
        self.assertEqual(got["t2"], [1, 2])
        for topic in topics[3:]:
            self.assertEqual(got[topic], [0, 0], f"{topic} is past max_topics: not tracked")

        def topic_series():
            samples = scrape(self.metrics_port)
            return {name: value for name, value in samples.items()
                    if name.startswith("zrelay_topic_messages_total")}
        self.assertTrue(wait_for(lambda: sum(topic_series().values()) == 20, 10))
        escaped = quoted.replace("\\", "\\\\").replace('"', '\\"')
        self.assertEqual(topic_series(), {
            f'zrelay_topic_messages_total{{topic="{escaped}"}}': 2.0,
            'zrelay_topic_messages_total{topic="t1"}': 2.0,
            'zrelay_topic_messages_total{topic="_other"}': 16.0,
        })

    # --- dead letters ------------------------------------------------------------------------

    def dead_letter_sub(self, port):
        """A SUB on the dead-letter endpoint, once a probe has reached it; returns it and the
        number of probes that were sent (each a dead letter)."""
        sock = self.sub(endpoint=f"tcp://127.0.0.1:{port}")
        push = self.push()
        probes = 0

        def probe_arrives():
            nonlocal probes
            push.send(b"\xff probe")
            probes += 1
            return receive(sock, 0.1) is not None
        self.assertTrue(wait_for(probe_arrives, 10), "the dead-letter endpoint never answered")
        while receive(sock, 0.2) is not None:
            pass
        return sock, probes

    def test_dead_letters_carry_the_reason_and_the_original_frames_on_both_paths(self):
        for workers in (0, 2):
            with self.subTest(workers=workers):
                self.new_ports()
                (dead_port,) = free_tcp_ports(1)
                self.start(self.config(
                    workers=workers,
                    ingress={"bind": [self.in_endpoint], "max_message_bytes": 1024},
                    invalid={"dead_letter": f"tcp://127.0.0.1:{dead_port}"}))
                sub = self.sub([b"valid"])
                self.await_subscriptions(1)
                dead, probes = self.dead_letter_sub(dead_port)
                cases = [
                    ("malformed", [b"\xff" * 12]),
                    ("multipart", [v1_message(topic="t"), b"second", b""]),
                    ("oversize", [v1_message(topic="t", payload=b"\xab" * 2000)]),
                    ("bad_utf8", [b"\x0a\x02\xff\xfe"]),
                    ("reserved_topic", [v1_message(topic="$zrelay/drops", content="forged")]),
                ]
                push = self.push()
                for i, (_, frames) in enumerate(cases):
                    push.send_multipart(frames)
                    push.send(v1_message(topic="valid", timestamp=i))
                for reason, frames in cases:
                    self.assertEqual(receive(dead), [reason.encode()] + frames)
                for i in range(len(cases)):
                    _, body = self.receive_relayed(sub)
                    self.assertEqual(parse(body).timestamp, i)
                self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
                    "zrelay_dead_letters_total") == probes + len(cases), 10))

    def test_a_dead_letter_reader_that_reads_nothing_never_slows_the_relay(self):
        """The dead-letter socket drops past its HWM rather than wait: 20000 refused messages
        with a consumer that reads nothing, and every valid message between them still flows."""
        (dead_port,) = free_tcp_ports(1)
        self.start(self.config(invalid={"dead_letter": f"tcp://127.0.0.1:{dead_port}",
                                        "dead_letter_hwm": 10}))
        sub = self.sub([b"valid"])
        self.await_subscriptions(1)
        dead, probes = self.dead_letter_sub(dead_port)
        dead.setsockopt(zmq.RCVHWM, 10)  # and never read again
        push = self.push()
        valid = 2000
        for i in range(valid):
            for _ in range(10):
                push.send(b"\xff" * 1000)
            push.send(v1_message(topic="valid", timestamp=i))
        for i in range(valid):
            _, body = self.receive_relayed(sub)
            self.assertEqual(parse(body).timestamp, i)
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            "zrelay_dead_letters_total") == probes + 10 * valid, 10))

    # --- drop notices ------------------------------------------------------------------------

    def test_time_held_back_by_a_nodrop_subscriber_is_counted(self):
        """zrelay_nodrop_wait_seconds_total grows by about the time a subscriber that reads
        nothing holds the relay back (its publishing thread waits all along)."""
        self.start(self.config(egress={"bind": [self.out_endpoint], "sndhwm": 10}))
        waited = lambda: scrape(self.metrics_port)["zrelay_nodrop_wait_seconds_total"]
        self.assertEqual(waited(), 0.0)
        stalled_sub, stalled_push, stalled = stall_relay(self.ctx, self.in_port, self.out_port)
        self.sockets += [stalled_sub, stalled_push]
        self.assertTrue(stalled, "the relay never pushed back")
        first = waited()
        self.assertGreater(first, 0.0)
        started = time.monotonic()
        time.sleep(1.0)  # held back all along: nothing reads
        second = waited()
        self.assertGreaterEqual(second - first, 0.5 * (time.monotonic() - started),
                                f"{first} then {second}")
        print(f"[ figures ] held back {second:.2f} s in all, {second - first:.2f} s of the last "
              f"{time.monotonic() - started:.2f} s", flush=True)

    def test_a_drain_that_runs_out_of_time_announces_what_it_lost(self):
        """SIGTERM behind a subscriber that reads nothing: when the drain deadline passes, the
        relay publishes a drain_deadline notice whose count is what it reports lost at exit, and
        the notice reaches a subscriber even though the stalled one (subscribed to everything,
        with nodrop) has no room for it."""
        self.start(self.config(workers=0,
                               egress={"bind": [self.out_endpoint], "sndhwm": 10},
                               shutdown={"drain_timeout_ms": 1000}))
        notices = self.sub([b"$zrelay/drops"])
        self.await_subscriptions(1)
        daemon = self.daemons[-1]
        # Held in variables: a socket collected by Python would unstall the relay.
        stalled_sub, push, stalled = stall_relay(self.ctx, self.in_port, self.out_port)
        self.sockets += [stalled_sub, push]
        self.assertTrue(stalled, "the relay never pushed back")
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(15), EXIT_DRAIN_INCOMPLETE, daemon.stderr_text())
        lost = re.search(r"were not published lost=(\d+)", daemon.stderr_text())
        self.assertIsNotNone(lost, daemon.stderr_text())
        frames = receive(notices, 5)
        self.assertIsNotNone(frames, "no drain_deadline notice")
        notice = json.loads(parse(frames[1]).content)
        self.assertEqual(notice, {"reason": "drain_deadline", "count": int(lost.group(1)),
                                  "total": int(lost.group(1))})
        self.assertGreater(notice["count"], 0)

    def test_drop_notices_can_be_turned_off(self):
        self.start(self.config(egress={"bind": [self.out_endpoint], "drop_notices": False}))
        everything = self.sub()
        self.await_subscriptions(1)
        push = self.push()
        push.send(b"\xff" * 4)
        push.send(v1_message(topic="after"))
        topic, _ = self.receive_relayed(everything)
        self.assertEqual(topic, b"after")
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            'zrelay_messages_invalid_total{reason="malformed"}') == 1, 10))
        self.assertIsNone(receive(everything, 1.5), "a notice went out though turned off")
        self.assertEqual(scrape(self.metrics_port).get("zrelay_drop_notices_total"), 0)


if __name__ == "__main__":
    unittest.main()
