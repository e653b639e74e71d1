#!/usr/bin/python3
"""`zrelayd healthcheck` (daemon/ops/healthcheck.*) against the real zrelayd.

The healthcheck must prove the data path, not just that a process is up: a canary goes in at the
ingress and must come back at the egress. So it passes on a working relay, fails when none runs,
fails while a subscriber with nodrop holds the relay up, passes again once it reads, and never
shows its canaries to a subscriber of another prefix. Run by CTest like relay_test.py.
"""
import os
import subprocess
import time
import unittest

import zmq

from relay_test import (Daemon, ZRELAYD, free_tcp_ports, receive, scrape, stall_relay, to_yaml,
                        v1_pb2, wait_for)


class HealthcheckTest(unittest.TestCase):

    def setUp(self):
        self.in_port, self.out_port = free_tcp_ports(2)
        self.ctx = zmq.Context()
        self.daemons = []
        # Wildcard binds, as in the container: the healthcheck must reach them over loopback.
        self.config = {
            "ingress": {"bind": [f"tcp://*:{self.in_port}"]},
            "egress": {"bind": [f"tcp://0.0.0.0:{self.out_port}"], "sndhwm": 10},
            "metrics": {"listen": ""},
        }
        self.daemon = None

    def tearDown(self):
        self.ctx.destroy(linger=0)
        for d in self.daemons:
            d.stop()

    def start(self):
        d = Daemon(self.config)
        self.daemons.append(d)
        self.assertTrue(d.wait_ready(), d.stderr_text())
        return d

    def healthcheck(self, timeout_ms=2000):
        path = os.path.join(self.daemons[0].dir if self.daemons else "/tmp", "check.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(to_yaml(self.config) + "\n")
        started = time.monotonic()
        result = subprocess.run([ZRELAYD, "healthcheck", "--config", path,
                                 "--timeout-ms", str(timeout_ms)],
                                capture_output=True, text=True, timeout=30, check=False)
        return result, time.monotonic() - started

    def test_passes_on_a_working_relay_and_spares_other_subscribers(self):
        self.start()
        other = self.ctx.socket(zmq.SUB)
        other.setsockopt(zmq.SUBSCRIBE, b"t")
        other.connect(f"tcp://127.0.0.1:{self.out_port}")
        result, _ = self.healthcheck()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("ok: a canary went tcp://127.0.0.1:"),
                        result.stdout)
        self.assertIsNone(receive(other, 0.3), "a canary reached a subscriber of another prefix")

    def test_canaries_use_up_none_of_the_relays_topic_bounds(self):
        """Each canary has a topic of its own: they must not fill the relay's tracked topics
        (egress.max_topics) or its per-topic metric labels, or a relay under a container
        healthcheck would stop tracking real topics after some days."""
        (metrics_port,) = free_tcp_ports(1)
        self.config["egress"]["max_topics"] = 2
        self.config["metrics"] = {"listen": f"127.0.0.1:{metrics_port}", "max_topic_labels": 2}
        self.start()
        for _ in range(3):
            result, _ = self.healthcheck()
            self.assertEqual(result.returncode, 0, result.stderr)
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"real")
        sub.connect(f"tcp://127.0.0.1:{self.out_port}")
        push = self.ctx.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{self.in_port}")
        got = {}
        def both_tracked():
            for topic in ("real-a", "real-b"):
                push.send(v1_pb2.DataMessage(topic=topic).SerializeToString())
            frames = receive(sub, 0.2)
            while frames is not None:
                got[frames[0]] = v1_pb2.DataMessage.FromString(frames[1]).relay_sequence
                frames = receive(sub, 0.05)
            return len(got) == 2
        self.assertTrue(wait_for(both_tracked, 10))
        self.assertTrue(all(sequence > 0 for sequence in got.values()),
                        f"canaries used up the tracked topics: {got}")
        labels = {name for name in scrape(metrics_port) if name.startswith("zrelay_topic_")}
        self.assertEqual(labels, {'zrelay_topic_messages_total{topic="real-a"}',
                                  'zrelay_topic_messages_total{topic="real-b"}',
                                  'zrelay_topic_messages_total{topic="_other"}'})
        self.assertGreaterEqual(scrape(metrics_port)['zrelay_topic_messages_total{topic="_other"}'], 3)

    def test_fails_when_no_relay_runs(self):
        # subprocess.run's timeout bounds a healthcheck that never gives up; the message says it
        # gave up on the --timeout-ms it was given (how fast is not asserted: load stretches it).
        result, _ = self.healthcheck(timeout_ms=500)
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith("unhealthy: no canary came back"), result.stderr)
        self.assertIn(" within 500 ms", result.stderr)

    def test_fails_while_the_data_path_is_held_up_and_recovers(self):
        self.start()
        # Fill the relay and the kernel buffers behind the subscriber that reads nothing, until
        # the relay pushes back on us (nodrop).
        stalled, _, blocked = stall_relay(self.ctx, self.in_port, self.out_port)
        self.assertTrue(blocked, "the relay never pushed back")

        result, _ = self.healthcheck(timeout_ms=1000)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("unhealthy", result.stderr)

        # The subscriber reads everything queued (canaries included): the path is free again.
        def drained():
            while receive(stalled, 0.2) is not None:
                pass
            return True
        wait_for(drained, 30)
        result, _ = self.healthcheck()
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
