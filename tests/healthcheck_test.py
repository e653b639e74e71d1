#!/usr/bin/python3
"""`zrelayd healthcheck` (daemon/ops/healthcheck.*) against the real zrelayd.

The healthcheck must prove the data path, not just that a process is up: a canary goes in at the
ingress and must come back at the egress. So it passes on a working relay, fails when none runs,
fails while a subscriber with nodrop holds the relay up, passes again once it reads, and never
shows its canaries to a subscriber of another prefix. Run by CTest like relay_test.py.

Without --config the healthcheck probes the zrelayd recorded in its runtime directory
(daemon/ops/run_state.*): what that process bound, checked against its pid and relay instance, so
that neither a file it does not run on, a stale record, nor another relay on the same ports
passes for it; and ZRELAY_CONFIG names the file when --config is absent, so arguments add to it.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import zmq

from relay_test import (EXIT_DEADLINE, READY_TIMEOUT, Daemon, ZRELAYD, _die_with_parent,
                        free_tcp_ports, receive, scrape, stall_relay, to_yaml, v1_pb2, wait_for)

EXIT_CANNOT_CREATE = 73


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


def healthcheck(*args, env=None, timeout_ms=2000):
    """Runs `zrelayd healthcheck ARGS`; returns the CompletedProcess."""
    return subprocess.run([ZRELAYD, "healthcheck", "--timeout-ms", str(timeout_ms), *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **(env or {})})


def ready_instance(daemon):
    """The relay instance zrelayd's ready line names."""
    match = re.search(r" ready: .*instance ([0-9a-f]{16})", daemon.stderr_text())
    return match.group(1) if match else None


class RunningRelayHealthcheckTest(unittest.TestCase):

    def setUp(self):
        self.runtime_dir = tempfile.mkdtemp(prefix="zrelay-run-")
        self.state_path = os.path.join(self.runtime_dir, "zrelayd.state")
        self.ctx = zmq.Context()
        self.daemons = []
        self.procs = []

    def tearDown(self):
        self.ctx.destroy(linger=0)
        for d in self.daemons:
            d.stop()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def start(self, config, env=None):
        d = Daemon(config, env={"ZRELAY_RUNTIME_DIR": self.runtime_dir, **(env or {})})
        self.daemons.append(d)
        self.assertTrue(d.wait_ready(), d.stderr_text())
        return d

    def state(self):
        with open(self.state_path, encoding="utf-8") as f:
            return dict(line.split("=", 1) for line in f.read().splitlines()
                        if line and not line.startswith("#"))

    def test_probes_what_the_running_process_bound(self):
        # Ports zmq picks at bind: no configuration file could tell a probe where they are.
        d = self.start({"ingress": {"bind": ["tcp://127.0.0.1:*"]},
                        "egress": {"bind": ["tcp://*:*"]}, "metrics": {"listen": ""}})
        state = self.state()
        self.assertEqual(int(state["pid"]), d.proc.pid)
        self.assertEqual(state["instance"], ready_instance(d))
        self.assertRegex(state["ingress"], r"^tcp://127\.0\.0\.1:\d+$")
        self.assertRegex(state["egress"], r"^tcp://(\[::\]|0\.0\.0\.0):\d+$")  # "*": dual stack

        result = healthcheck("--runtime-dir", self.runtime_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"(relay instance {state['instance']})", result.stdout)
        self.assertIn(f"[zrelayd pid {d.proc.pid}]", result.stdout)
        # The environment names it as well as --runtime-dir does.
        result = healthcheck(env={"ZRELAY_RUNTIME_DIR": self.runtime_dir})
        self.assertEqual(result.returncode, 0, result.stderr)

        # Stopped, it takes its record with it: the healthcheck then says nothing runs.
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(EXIT_DEADLINE), 0, d.stderr_text())
        self.assertFalse(os.path.exists(self.state_path))
        result = healthcheck("--runtime-dir", self.runtime_dir)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"no running zrelayd recorded in {self.runtime_dir}", result.stderr)

    def test_a_record_of_a_dead_process_is_unhealthy(self):
        d = self.start({"metrics": {"listen": ""},
                        "ingress": {"bind": ["tcp://127.0.0.1:*"]},
                        "egress": {"bind": ["tcp://*:*"]}})
        d.proc.kill()  # no chance to remove its record
        d.proc.wait()
        self.assertTrue(os.path.exists(self.state_path))
        result = healthcheck("--runtime-dir", self.runtime_dir, timeout_ms=500)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"zrelayd pid {d.proc.pid} recorded in {self.state_path} is not running",
                      result.stderr)

    def test_a_relay_that_binds_no_ingress_cannot_be_probed(self):
        """A relay that only connects its ingress (to an upstream) records none: the healthcheck
        says so rather than probing an empty endpoint."""
        with open(self.state_path, "w", encoding="utf-8") as f:
            f.write(f"pid={os.getpid()}\ninstance=00000000000000ab\ningress=\n"
                    "egress=tcp://127.0.0.1:1\n")
        result = healthcheck("--runtime-dir", self.runtime_dir, timeout_ms=500)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"zrelayd pid {os.getpid()} binds no ingress or no egress endpoint",
                      result.stderr)

    def test_another_relay_on_the_recorded_ports_does_not_pass_for_it(self):
        """A record whose process lives but whose endpoints are served by another relay (the
        recorded one lost them, or the record is not its own) is unhealthy: the canary must come
        back stamped with the recorded instance."""
        d = self.start({"metrics": {"listen": ""},
                        "ingress": {"bind": ["tcp://127.0.0.1:*"]},
                        "egress": {"bind": ["tcp://*:*"]}})
        with open(self.state_path, encoding="utf-8") as f:
            text = f.read()
        real = self.state()["instance"]
        other = f"{(int(real, 16) ^ 1):016x}"
        with open(self.state_path, "w", encoding="utf-8") as f:
            f.write(text.replace(f"instance={real}", f"instance={other}"))
        result = healthcheck("--runtime-dir", self.runtime_dir)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn(f"came back through relay instance {real}, not {other}", result.stderr)
        self.assertIsNone(d.proc.poll())

    def test_an_unwritable_runtime_directory_stops_the_start(self):
        missing = os.path.join(self.runtime_dir, "missing")
        d = Daemon({"metrics": {"listen": ""}, "ingress": {"bind": ["tcp://127.0.0.1:*"]},
                    "egress": {"bind": ["tcp://*:*"]}},
                   env={"ZRELAY_RUNTIME_DIR": missing})
        self.daemons.append(d)
        self.assertEqual(d.wait_exit(EXIT_DEADLINE), EXIT_CANNOT_CREATE, d.stderr_text())
        self.assertIn(f"{missing}/zrelayd.state", d.stderr_text())

    def test_arguments_add_to_the_file_zrelay_config_names(self):
        """The container case: the image names its file in ZRELAY_CONFIG and `run IMAGE
        --log-level debug` passes only arguments. zrelayd must still run on that file (not the
        embedded default on 127.0.0.1:5555), and the healthcheck, which inherits ZRELAY_CONFIG
        too, must probe the running process."""
        in_port, out_port, replay_port = free_tcp_ports(3)
        config = os.path.join(self.runtime_dir, "zrelay.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(to_yaml({"ingress": {"bind": [f"tcp://*:{in_port}"]},
                             "egress": {"bind": [f"tcp://*:{out_port}"]},
                             "replay": {"bind": [f"tcp://127.0.0.1:{replay_port}"]},
                             "metrics": {"listen": ""}}) + "\n")
        env = {**os.environ, "ZRELAY_CONFIG": config, "ZRELAY_RUNTIME_DIR": self.runtime_dir}
        err_path = os.path.join(self.runtime_dir, "stderr.log")
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([ZRELAYD, "--log-level", "debug"], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, env=env,
                                    preexec_fn=_die_with_parent)
        self.procs.append(proc)
        def log():
            with open(err_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        wait_for(lambda: " ready: " in log() or proc.poll() is not None, READY_TIMEOUT)
        self.assertIn(" ready: ", log())
        self.assertRegex(log(), rf" ready: ingress tcp://\S+:{in_port}, egress tcp://\S+:{out_port},")

        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"t")
        sub.connect(f"tcp://127.0.0.1:{out_port}")
        push = self.ctx.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{in_port}")
        def relayed():
            push.send(v1_pb2.DataMessage(topic="t").SerializeToString())
            return receive(sub, 0.2) is not None
        self.assertTrue(wait_for(relayed, 10), "nothing relayed on the file's endpoints")

        result = healthcheck(env={"ZRELAY_CONFIG": config, "ZRELAY_RUNTIME_DIR": self.runtime_dir})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"[zrelayd pid {proc.pid}]", result.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
