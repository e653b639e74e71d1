"""Integration tests for zrelayd, driven from Python with pyzmq.

Each test starts the real zrelayd binary on its own temporary configuration and free ports,
talks to it over real ZeroMQ sockets and HTTP, and kills it in tearDown whatever happened.
Nothing sleeps and hopes: every wait polls a condition (a log line, a metric, a socket, the
process's exit) against a deadline and fails the test when the deadline passes.

Run by CTest (tests/CMakeLists.txt), which sets:
    ZRELAYD     the zrelayd binary under test
    PYTHONPATH  the protoc-generated modules: zrelay/v1/data_message_pb2.py (zrelay's envelope)
                and message_pb2.py (the seed's own DataMessage, tests/seed/message.proto)
    ZRELAY_TEST_WORKERS  the composition every relay runs as unless a test names its own
                `workers`: 0 the direct path, 2 the pipeline. CTest runs each Python suite
                once with each, so no behaviour can depend on the composition.

By hand, from a configured and built tree:
    ZRELAYD=build/h-py/daemon/zrelayd PYTHONPATH=build/h-py/tests/python \\
        /usr/bin/python3 tests/relay_test.py -v

Only the standard library, pyzmq and google.protobuf are used (Debian's python3-zmq and
python3-protobuf).
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import zmq

from zmtp_client import zmtp_null_push

try:
    import message_pb2 as seed_pb2  # the seed's `message DataMessage`, no package
    from zrelay.v1 import data_message_pb2 as v1_pb2
except ImportError as error:  # pragma: no cover - a set-up problem, not a test failure
    sys.exit(f"relay_test.py: cannot import the generated protobuf modules ({error}); "
             "set PYTHONPATH to the build tree's tests/python directory")

ZRELAYD = os.environ.get("ZRELAYD")
# The composition under test (see above); unset: the pipeline, as before the variable existed.
TEST_WORKERS = int(os.environ.get("ZRELAY_TEST_WORKERS", "2"))

# Exit codes (sysexits.h), as daemon/common/errors.hpp maps them.
EXIT_OK = 0
EXIT_UNAVAILABLE = 69
EXIT_CONFIG = 78

READY_TIMEOUT = 30.0    # seconds for zrelayd to log its ready line (a failure bound: an
                        # ASan build on a loaded 2-core machine has taken over 10)
RECEIVE_TIMEOUT = 10.0  # seconds for one relayed message to arrive
EXIT_DEADLINE = 30.0    # seconds for a zrelayd that must stop to exit (a failure bound only)
POLL_INTERVAL = 0.005   # seconds between two checks of a condition


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_handed_out_ports = set()


def free_tcp_ports(count, dual_stack=False):
    """Returns `count` loopback TCP ports that nothing listens on right now, none of them
    returned before by this process.

    Each is found by binding to port 0. All sockets stay open until the call returns, so the
    kernel cannot offer the same port twice within one call. Across calls it may offer a closed
    port again (a test that took its relay's ports and then one more for a dead-letter endpoint
    once got the same port twice), so a port already handed out is skipped.

    dual_stack: for endpoints on [::1] or *, ports found by binding [::]:0 with IPv4 mapped in,
    so that each is free on IPv6 and IPv4 alike.
    """
    sockets, ports = [], []
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET6 if dual_stack else socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(s)
            if dual_stack:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0) if dual_stack else ("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port not in _handed_out_ports:
                _handed_out_ports.add(port)
                ports.append(port)
        return ports
    finally:
        for s in sockets:
            s.close()


def wait_for(condition, timeout, interval=POLL_INTERVAL):
    """Polls `condition()` until it returns a truthy value or `timeout` seconds pass.

    Returns the last value `condition()` returned (falsy on timeout).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def to_yaml(mapping, indent=0):
    """Renders nested dicts as block YAML; leaves are JSON literals, which YAML accepts."""
    lines = []
    pad = " " * indent
    for key, value in mapping.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(value, indent + 2))
        else:
            lines.append(f"{pad}{key}: {json.dumps(value)}")
    return "\n".join(lines)


def http_get(port, path, timeout=2.0):
    """GETs http://127.0.0.1:`port``path`; returns (status, body text), or None if unanswered."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError):
        return None


def scrape(port):
    """Reads /metrics into {sample name with its labels: value}; {} if the scrape failed."""
    answer = http_get(port, "/metrics")
    if answer is None or answer[0] != 200:
        return {}
    samples = {}
    for line in answer[1].splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def invalid_metric(reason):
    """The sample name of the invalid-message counter for `reason`."""
    return f'zrelay_messages_invalid_total{{reason="{reason}"}}'


def v1_message(topic="", content="", timestamp=0, payload=b"", headers=None):
    """A serialized zrelay.v1.DataMessage."""
    message = v1_pb2.DataMessage(topic=topic, content=content, timestamp=timestamp,
                                 payload=payload)
    message.headers.update(headers or {})
    return message.SerializeToString()


def unstamped(body):
    """The producer's bytes of a relayed DataMessage: `body` without the stamp the relay appends
    (fields 100-102, in that order), after checking that the stamp is there, at the end. For
    tracked topics (sequence > 0), where every stamp field is non-zero and so written."""
    message = v1_pb2.DataMessage.FromString(body)
    stamp = v1_pb2.DataMessage(relay_sequence=message.relay_sequence,
                               relay_received_ns=message.relay_received_ns,
                               relay_instance=message.relay_instance).SerializeToString()
    if message.relay_sequence == 0 or not body.endswith(stamp):
        raise AssertionError(f"not stamped as the relay stamps: {body!r}")
    return body[:-len(stamp)]


def receive(sub, timeout=RECEIVE_TIMEOUT):
    """Receives one message from `sub` as a list of frames; None if none came in time."""
    if not sub.poll(int(timeout * 1000), zmq.POLLIN):
        return None
    return sub.recv_multipart()


def stall_relay(ctx, in_port, out_port, message_bytes=4096, limit=100_000, settle=1.0):
    """Makes a relay (sndhwm small, nodrop) push back: connects a SUB that reads nothing and a
    PUSH, waits until a probe reaches the SUB (so its subscription is in the relay), then sends
    until sends have timed out for `settle` seconds in a row. Returns (stalled SUB, PUSH, whether
    the relay pushed back)."""
    stalled = ctx.socket(zmq.SUB)
    stalled.setsockopt(zmq.RCVHWM, 10)
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    stalled.connect(f"tcp://127.0.0.1:{out_port}")
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDTIMEO, 50)
    push.connect(f"tcp://127.0.0.1:{in_port}")
    probe = v1_message(topic="probe")

    def probe_arrives():
        push.send(probe)
        return receive(stalled, 0.1) is not None
    if not wait_for(probe_arrives, 10):
        return stalled, push, False
    filler = v1_message(topic="t", payload=b"x" * message_bytes)
    # One send timing out is not yet a stall: on a loaded machine the relay may only be slow, and
    # loopback buffers grow. It is held up once no send has gone through for `settle` seconds.
    last_progress = None
    for _ in range(limit):
        try:
            push.send(filler)
            last_progress = None
        except zmq.Again:
            now = time.monotonic()
            if last_progress is None:
                last_progress = now
            elif now - last_progress >= settle:
                return stalled, push, True
    return stalled, push, False


def _die_with_parent():
    """In the child before exec: a test run that dies takes its daemons with it."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class Daemon:
    """One zrelayd process, started on `config` (a dict rendered to YAML) or raw YAML text.

    stdout and stderr go to files in a private temporary directory (a pipe nobody reads would
    block the daemon once full); stop() kills it if still running and removes the directory.
    """

    def __init__(self, config, env=None, journal=False):
        self.dir = tempfile.mkdtemp(prefix="zrelay-py-")
        self.config_path = os.path.join(self.dir, "zrelay.yaml")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        # The default replay endpoint (127.0.0.1:5557) would collide between tests run side by
        # side: a config that does not place it gets a free port of its own.
        self.replay_endpoint = f"tcp://127.0.0.1:{free_tcp_ports(1)[0]}"
        self.config_text = self.rendered(config)
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.config_text)
        with open(self.stderr_path, "wb") as err, \
                open(os.path.join(self.dir, "stdout.log"), "wb") as out:
            env = {**os.environ, **(env or {})}
            if journal:  # stderr poses as journald's stream, as systemd would say it is
                st = os.fstat(err.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            self.started = time.monotonic()
            self.proc = subprocess.Popen([ZRELAYD, "--config", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env,
                                         preexec_fn=_die_with_parent)

    def rendered(self, config):
        """`config` as the YAML this daemon runs: a dict gets the test's worker count and the
        daemon's replay endpoint unless it gives its own; text gets the endpoint when it is a
        plain mapping of sections without a replay section."""
        if isinstance(config, str):
            if re.match(r"^(#.*\n|\s*\n)*[a-z_]+:", config) and not re.search(r"^replay:", config,
                                                                            re.M):
                config = config.rstrip("\n") + f"\nreplay:\n  bind: [\"{self.replay_endpoint}\"]\n"
            return config
        config = dict(config)
        config.setdefault("workers", TEST_WORKERS)
        config.setdefault("replay", {"bind": [self.replay_endpoint]})
        return to_yaml(config) + "\n"

    def stderr_text(self):
        """Everything zrelayd has written to stderr so far."""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def wait_ready(self, timeout=READY_TIMEOUT):
        """True once the ready line is logged; False if zrelayd exits or `timeout` passes."""
        wait_for(lambda: " ready: " in self.stderr_text() or self.proc.poll() is not None,
                 timeout)
        return self.proc.poll() is None and " ready: " in self.stderr_text()

    def wait_exit(self, timeout):
        """The exit code (-N if killed by signal N), or None if still running after `timeout`."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        """Sends `sig` to zrelayd."""
        self.proc.send_signal(sig)

    def stop(self):
        """Kills zrelayd unless it has exited, reaps it and removes its directory."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

class RelayFixture(unittest.TestCase):
    """A test's free ports, a zmq context, and zrelayd processes and sockets it cleans up; other
    test files derive from it too (it holds no tests of its own)."""

    def setUp(self):
        self.assertTrue(ZRELAYD and os.access(ZRELAYD, os.X_OK),
                        f"ZRELAYD must name the zrelayd binary, got {ZRELAYD!r}")
        self.ctx = zmq.Context()
        self.sockets = []
        self.daemons = []
        self.temp_dirs = []
        self.in_port, self.out_port, self.metrics_port = free_tcp_ports(3)

    def tearDown(self):
        # Sockets first (linger 0: nothing may keep the test waiting), then the daemons, always.
        try:
            for sock in self.sockets:
                sock.close(linger=0)
            self.ctx.destroy(linger=0)
        finally:
            for daemon in self.daemons:
                daemon.stop()
            for path in self.temp_dirs:
                shutil.rmtree(path, ignore_errors=True)

    # --- set-up helpers ----------------------------------------------------------------------

    @property
    def in_endpoint(self):
        return f"tcp://127.0.0.1:{self.in_port}"

    @property
    def out_endpoint(self):
        return f"tcp://127.0.0.1:{self.out_port}"

    def make_temp_dir(self):
        """A temporary directory removed in tearDown."""
        path = tempfile.mkdtemp(prefix="zrelay-py-")
        self.temp_dirs.append(path)
        return path

    def config(self, **sections):
        """The test's ports as a config dict; keyword arguments add or replace sections."""
        config = {
            "ingress": {"bind": [self.in_endpoint]},
            "egress": {"bind": [self.out_endpoint]},
            "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"},
            "workers": TEST_WORKERS,
        }
        config.update(sections)
        return config

    def spawn(self, config, **options):
        """Starts zrelayd without waiting for it (`options`: Daemon's); tearDown stops it."""
        daemon = Daemon(config, **options)
        self.daemons.append(daemon)
        return daemon

    def start(self, config, **options):
        """Starts zrelayd and waits for its ready line."""
        daemon = self.spawn(config, **options)
        self.assertTrue(daemon.wait_ready(),
                        "zrelayd did not become ready:\n" + daemon.stderr_text())
        return daemon

    def check_config(self, yaml_text):
        """Runs `zrelayd --check-config` on `yaml_text`; returns the CompletedProcess."""
        path = os.path.join(self.make_temp_dir(), "zrelay.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(yaml_text)
        return subprocess.run([ZRELAYD, "--check-config", "--config", path],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=10, check=False)

    def rewrite_config(self, daemon, config):
        """Replaces the daemon's configuration file (as an operator editing it would), keeping
        the replay endpoint the daemon was given."""
        with open(daemon.config_path, "w", encoding="utf-8") as f:
            f.write(daemon.rendered(config))

    def socket(self, kind):
        """A zmq socket that tearDown closes."""
        sock = self.ctx.socket(kind)
        self.sockets.append(sock)
        return sock

    def sub(self, topics=(b"",), endpoint=None, rcvhwm=1000):
        """A SUB socket connected to the egress, subscribed to each of `topics`."""
        sock = self.socket(zmq.SUB)
        sock.setsockopt(zmq.RCVHWM, rcvhwm)
        for topic in topics:
            sock.setsockopt(zmq.SUBSCRIBE, topic)
        sock.connect(endpoint or self.out_endpoint)
        return sock

    def push(self, endpoint=None):
        """A PUSH socket connected to an ingress endpoint."""
        sock = self.socket(zmq.PUSH)
        sock.setsockopt(zmq.SNDTIMEO, 20000)
        sock.connect(endpoint or self.in_endpoint)
        return sock

    def await_subscriptions(self, count):
        """Waits until the relay counts `count` subscribed prefixes.

        Publishing before a subscription has reached the XPUB loses the message (the PUB/SUB
        slow joiner); the relay's zrelay_subscriptions gauge says when they have.
        """
        reached = wait_for(
            lambda: scrape(self.metrics_port).get("zrelay_subscriptions", 0) >= count, 10)
        self.assertTrue(reached, f"the relay never saw {count} subscription(s)")

    def await_received(self, count):
        """Waits until zrelay_messages_received_total reaches `count`; returns the samples."""
        def reached():
            samples = scrape(self.metrics_port)
            return samples if samples.get("zrelay_messages_received_total", 0) >= count else None

        samples = wait_for(reached, 10)
        self.assertTrue(samples, f"the relay never counted {count} received messages")
        return samples

    def receive_relayed(self, sub, timeout=RECEIVE_TIMEOUT, stamped=False):
        """One relayed message as (topic, body), checking it is exactly two frames and stamped;
        body is the producer's bytes, or with stamped=True the frame as published."""
        frames = receive(sub, timeout)
        self.assertIsNotNone(frames, "nothing was relayed in time")
        self.assertEqual(len(frames), 2, f"expected [topic][message], got {frames!r}")
        return frames[0], frames[1] if stamped else unstamped(frames[1])


class RelayTest(RelayFixture):
    """zrelayd end to end: relaying, validation, shutdown, configuration and start-up errors."""

    # --- relaying ----------------------------------------------------------------------------

    def test_seed_message_is_relayed_unchanged_over_tcp_and_ipc(self):
        """A message built with the seed's own class arrives byte for byte over tcp and ipc.

        With routing.default_topic set, a seed message (which has no topic) is published under
        that topic, and the seed's class parses what the subscriber receives.
        """
        ipc_endpoint = "ipc://" + os.path.join(self.make_temp_dir(), "in.sock")
        config = self.config(routing={"default_topic": "seed"})
        config["ingress"] = {"bind": [self.in_endpoint, ipc_endpoint]}
        self.start(config)
        sub = self.sub()
        self.await_subscriptions(1)

        for endpoint, content, timestamp in ((self.in_endpoint, "hello over tcp", 42),
                                             (ipc_endpoint, "hello over ipc", -7)):
            with self.subTest(endpoint=endpoint):
                sent = seed_pb2.DataMessage(content=content,
                                            timestamp=timestamp).SerializeToString()
                self.push(endpoint).send(sent)
                topic, body = self.receive_relayed(sub, stamped=True)
                self.assertEqual(topic, b"seed")
                self.assertEqual(unstamped(body), sent,
                                 "the relay must forward the producer's bytes")
                # The seed's readers skip the stamp's fields they do not know.
                seed = seed_pb2.DataMessage.FromString(body)
                self.assertEqual(seed.content, content)
                self.assertEqual(seed.timestamp, timestamp)

    def test_v1_message_round_trips_and_seed_reader_still_parses_it(self):
        """A zrelay.v1 message with topic, binary payload and headers round trips unchanged.

        Its own topic wins over routing.default_topic and is frame 1; frame 2 is the sent bytes,
        which zrelay.v1 parses back to the same fields and the seed's class (a reader that knows
        only content and timestamp) still parses.
        """
        self.start(self.config(routing={"default_topic": "fallback"}))
        sub = self.sub()
        self.await_subscriptions(1)

        payload = bytes(range(256)) + b"\xff\xff\x00\xff"
        headers = {"content-type": "application/octet-stream", "unicode": "caf\u00e9 \u2713",
                   "empty": ""}
        sent = v1_message(topic="sensors.temperature", content="21.5 C",
                          timestamp=1_700_000_000_123, payload=payload, headers=headers)
        self.push().send(sent)

        topic, body = self.receive_relayed(sub, stamped=True)
        self.assertEqual(topic, b"sensors.temperature")
        self.assertEqual(unstamped(body), sent)
        message = v1_pb2.DataMessage.FromString(body)
        self.assertEqual(message.topic, "sensors.temperature")
        self.assertEqual(message.content, "21.5 C")
        self.assertEqual(message.timestamp, 1_700_000_000_123)
        self.assertEqual(message.payload, payload)
        self.assertEqual(dict(message.headers), headers)
        seed = seed_pb2.DataMessage.FromString(body)
        self.assertEqual(seed.content, "21.5 C")
        self.assertEqual(seed.timestamp, 1_700_000_000_123)

    def test_subscribers_get_only_their_topic_prefixes(self):
        """pyzmq SUBs filter on the topic frame by prefix, each getting only its topics."""
        self.start(self.config())
        sensors = self.sub([b"sensors.", b"end"])
        logs = self.sub([b"logs", b"end"])
        everything = self.sub([b""])
        self.await_subscriptions(4)  # distinct prefixes: "sensors.", "logs", "end", ""

        topics = ["sensors.a", "logs.x", "other", "sensors.b", "logsy", ""]
        producer = self.push()
        for i in range(60):
            producer.send(v1_message(topic=topics[i % len(topics)], timestamp=i))
        producer.send(v1_message(topic="end"))

        def collect(sub):
            seen = {}
            while True:
                topic, _ = self.receive_relayed(sub)
                if topic == b"end":
                    return seen
                seen[topic] = seen.get(topic, 0) + 1

        self.assertEqual(collect(sensors), {b"sensors.a": 10, b"sensors.b": 10})
        self.assertEqual(collect(logs), {b"logs.x": 10, b"logsy": 10})
        # The empty topic (no default_topic configured) is an empty first frame.
        self.assertEqual(collect(everything),
                         {b"sensors.a": 10, b"logs.x": 10, b"other": 10, b"sensors.b": 10,
                          b"logsy": 10, b"": 10})

    def test_prefixes_of_246_to_255_bytes_work_from_libzmq_4_3_4_subscribers(self):
        """libzmq 4.3.4 (pyzmq's, here) writes a SUBSCRIBE or CANCEL of 246-255 bytes of prefix
        without its long flag (libzmq #4367); the relay repairs the header, so each such
        subscriber gets its topic, its unsubscription is seen, and the gauge counts exactly what
        is subscribed (a bare libzmq 4.3.4 XPUB sees stray frames and a cancel of "")."""
        self.start(self.config())
        lengths = (245, 246, 250, 255, 256)
        topics = [bytes([ord("a") + i]) * n for i, n in enumerate(lengths)]
        subs = [self.sub([t]) for t in topics]
        self.await_subscriptions(len(topics))
        producer = self.push()
        for t in topics:
            producer.send(v1_message(topic=t.decode(), content="for " + str(len(t))))
        for t, sub in zip(topics, subs):
            topic, _ = self.receive_relayed(sub)
            self.assertEqual(len(topic), len(t))
            self.assertEqual(topic, t)
        self.assertEqual(scrape(self.metrics_port)["zrelay_subscriptions"], len(topics))

        for t, sub in zip(topics, subs):
            if len(t) in (250, 255):  # CANCEL past 255 bytes: mis-encoded from 249 on
                sub.setsockopt(zmq.UNSUBSCRIBE, t)
        self.assertTrue(wait_for(
            lambda: scrape(self.metrics_port).get("zrelay_subscriptions") == len(topics) - 2, 10),
            scrape(self.metrics_port).get("zrelay_subscriptions"))
        self.assertEqual(scrape(self.metrics_port)["zrelay_connections_dropped_total"], 0)

    def test_an_unsubscription_from_a_prefix_never_subscribed_leaves_the_gauge_alone(self):
        """XPUB passes up a cancel of a prefix it never had; the gauge must not go below zero.
        A raw ZMTP 3.0 SUB sends what a SUB's library would not: cancels of nothing."""
        self.start(self.config())
        sub = zmtp_null_push(self.out_port, socket_type=b"SUB")
        for message in (b"\x00ghost", b"\x00", b"\x01real"):  # in this order, one connection
            sub.sendall(bytes([0, len(message)]) + message)
        self.await_subscriptions(1)
        self.assertEqual(scrape(self.metrics_port)["zrelay_subscriptions"], 1)

    # --- validation --------------------------------------------------------------------------

    def test_invalid_input_is_counted_by_reason_and_valid_input_flows_in_order(self):
        """Invalid frames interleaved with valid ones are dropped and counted by reason.

        Garbage, a truncated message, a multi-frame message, an oversize frame, bad UTF-8
        in content and in a header value, and messages on the relay's reserved topic are each
        counted under exactly their reason and announced on $zrelay/drops; every valid message
        arrives, in order; libprotobuf's own "invalid UTF-8" complaint stays out of the log at
        the default level.
        """
        config = self.config(ingress={"bind": [self.in_endpoint], "max_message_bytes": 1024})
        daemon = self.start(config)
        sub = self.sub([b"valid"])
        notices = self.sub([b"$zrelay/drops"])
        self.await_subscriptions(2)

        whole = v1_message(topic="t", content="x" * 30, timestamp=5)
        # Field 1 comes first: 0x0a, length 30, then the 30 bytes; cut inside them.
        self.assertEqual(whole[:2], b"\x0a\x1e")
        truncated = whole[:10]
        header_entry = b"\x0a\x01k" + b"\x12\x02\xff\xfe"  # map entry {key "k", value ff fe}
        invalid = [
            # (reason, frames)
            ("malformed", [b"\xff" * 12]),                  # a varint tag that never ends
            ("malformed", [b"\x00\x01\x02\x03"]),           # field number 0
            ("malformed", [truncated]),
            ("multipart", [v1_message(topic="t"), v1_message(topic="t")]),
            ("oversize", [v1_message(topic="t", payload=b"\xab" * 2000)]),
            ("bad_utf8", [b"\x0a\x02\xff\xfe"]),              # content = ff fe
            ("bad_utf8", [b"\x2a" + bytes([len(header_entry)]) + header_entry]),
            # Only the relay publishes there: no forged notice, nothing slipped into their stream.
            ("reserved_topic", [v1_message(topic="$zrelay/drops", content="forged")]),
            ("reserved_topic", [v1_message(topic="$zrelay/dropsy")]),
        ]
        rounds = 3
        producer = self.push()
        sent_valid = 0
        expected = {"malformed": 0, "bad_utf8": 0, "oversize": 0, "multipart": 0,
                    "reserved_topic": 0}
        for _ in range(rounds):
            for reason, frames in invalid:
                producer.send(v1_message(topic="valid", timestamp=sent_valid))
                sent_valid += 1
                producer.send_multipart(frames)
                expected[reason] += 1
        producer.send(v1_message(topic="valid", timestamp=sent_valid))
        sent_valid += 1

        for i in range(sent_valid):
            topic, body = self.receive_relayed(sub)
            self.assertEqual(topic, b"valid")
            self.assertEqual(v1_pb2.DataMessage.FromString(body).timestamp, i, "out of order")
        self.assertIsNone(receive(sub, 0.2), "an invalid message was published")

        # The drops were announced on $zrelay/drops: per reason, notices whose counts add up to
        # the total they report, at most one a second (by the relay's own clock, its stamp).
        seen = {}  # reason -> [(count, total, relay_received_ns)]
        def announced():
            frames = receive(notices, 0.2)
            if frames is not None:
                self.assertEqual(frames[0], b"$zrelay/drops")
                notice = v1_pb2.DataMessage.FromString(frames[1])
                self.assertEqual(notice.topic, "$zrelay/drops")
                fields = json.loads(notice.content)
                seen.setdefault(fields["reason"], []).append(
                    (fields["count"], fields["total"], notice.relay_received_ns))
            return all(seen.get(r, [(0, -1, 0)])[-1][1] == n for r, n in expected.items())
        self.assertTrue(wait_for(announced, 10), f"notices {seen}, drops {expected}")
        for reason, list_ in seen.items():
            self.assertEqual(sum(count for count, _, _ in list_), list_[-1][1], reason)
            times = [ns for _, _, ns in list_]
            self.assertTrue(all(b - a >= 1_000_000_000 for a, b in zip(times, times[1:])),
                            f"{reason}: notices less than a second apart: {times}")

        samples = self.await_received(sent_valid + sum(expected.values()))
        counted = {reason: samples.get(invalid_metric(reason)) for reason in expected}
        self.assertEqual(counted, {reason: float(n) for reason, n in expected.items()})
        self.assertEqual(samples["zrelay_messages_received_total"],
                         sent_valid + sum(expected.values()))
        self.assertEqual(samples["zrelay_messages_published_total"], sent_valid)

        log = daemon.stderr_text()
        self.assertNotIn("invalid UTF-8", log, "libprotobuf's complaint reached the log")
        self.assertIn("dropped invalid messages reason=", log)

    def test_bad_utf8_is_reported_by_the_relay_alone_even_at_debug(self):
        """Bad UTF-8 yields the relay's own rate-limited line and nothing from libprotobuf.

        The relay validates with protobuf's wire reader, not its generated parser, so libprotobuf
        has no "String field ... contains invalid UTF-8" ERROR to print, at any level; the
        control is the relay's own line, which names the reason.
        """
        bad_content = b"\x0a\x02\xff\xfe"
        daemon = self.start(self.config(log={"level": "debug"}))
        self.push().send(bad_content)
        wait_for(lambda: scrape(self.metrics_port).get(invalid_metric("bad_utf8")), 10)
        self.assertEqual(scrape(self.metrics_port).get(invalid_metric("bad_utf8")), 1)
        # Stop it, so that every line it would write is written.
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(10), EXIT_OK)
        log = daemon.stderr_text()
        self.assertIn("dropped invalid messages reason=bad_utf8 count=1 bytes=4", log)
        self.assertNotIn("libprotobuf", log)
        self.assertNotIn("invalid UTF-8", log)

    # --- reload (SIGHUP) ----------------------------------------------------------------------

    def relays_one(self, sub, push, timestamp):
        push.send(v1_message(topic="r", timestamp=timestamp))
        _, body = self.receive_relayed(sub)
        self.assertEqual(v1_pb2.DataMessage.FromString(body).timestamp, timestamp)

    def test_sighup_applies_log_settings_and_names_keys_that_need_a_restart(self):
        daemon = self.start(self.config())
        sub, push = self.sub(), self.push()
        self.await_subscriptions(1)
        self.relays_one(sub, push, 1)

        # JSON logs and a new level apply at once; workers and sndhwm wait for a restart.
        self.rewrite_config(daemon, self.config(workers=3, log={"level": "warn", "format": "json"},
                                                egress={"bind": [self.out_endpoint],
                                                        "sndhwm": 5}))
        daemon.signal(signal.SIGHUP)
        line = wait_for(lambda: next((l for l in daemon.stderr_text().splitlines()
                                      if "take effect only on restart" in l), None), 10)
        self.assertIsNotNone(line, daemon.stderr_text())
        event = json.loads(line)  # the log is JSON from the reload on
        self.assertEqual(event["level"], "warn")  # as the config spells it
        self.assertIn("egress.sndhwm, workers changed", event["msg"])
        # level warn: the info line saying it reloaded is not written; the relay still runs on
        # its old settings, so messages still flow.
        self.assertNotIn("reloaded", daemon.stderr_text())
        self.relays_one(sub, push, 2)

        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(10), EXIT_OK)
        self.assertNotIn("draining", daemon.stderr_text(), "info lines after level warn")

    def test_sighup_with_a_broken_file_changes_nothing(self):
        daemon = self.start(self.config())
        sub, push = self.sub(), self.push()
        self.await_subscriptions(1)
        self.rewrite_config(daemon, "workers: 2\nlog:\n  level: loud\n")
        daemon.signal(signal.SIGHUP)
        rejected = wait_for(lambda: "reload rejected" in daemon.stderr_text(), 10)
        self.assertTrue(rejected, daemon.stderr_text())
        self.assertIn("zrelay.yaml:3:10: log.level:", daemon.stderr_text())
        self.relays_one(sub, push, 7)
        # Still text at info: the next info line is as before.
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(10), EXIT_OK)
        self.assertRegex(daemon.stderr_text(), r"info \[\d+\] SIGTERM received: draining")

    def test_sighup_when_the_file_is_gone_keeps_running(self):
        daemon = self.start(self.config())
        os.remove(daemon.config_path)  # gone: a reload must fail cleanly, not stop the relay
        daemon.signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload rejected" in daemon.stderr_text(), 10),
                        daemon.stderr_text())
        self.assertIsNone(daemon.proc.poll())
        self.assertEqual(http_get(self.metrics_port, "/healthz")[0], 200)

    def test_invalid_message_warnings_are_rate_limited(self):
        """2000 garbage frames are all counted but cost only a few warning lines."""
        count = 2000
        daemon = self.start(self.config())
        producer = self.push()
        for _ in range(count):
            producer.send(b"\xff" * 12)
        self.await_received(count)
        # Workers count what they refuse just after the receiver counts it in.
        wait_for(lambda: scrape(self.metrics_port).get(invalid_metric("malformed")) == count, 10)
        self.assertEqual(scrape(self.metrics_port).get(invalid_metric("malformed")), count)

        warnings = [line for line in daemon.stderr_text().splitlines()
                    if "dropped invalid messages" in line]
        print(f"[ figures ] {count} garbage frames: {len(warnings)} warning line(s)", flush=True)
        self.assertGreaterEqual(len(warnings), 1, "invalid messages must be logged at all")
        self.assertLess(len(warnings), 20, "invalid-message warnings are not rate limited")

    # --- shutdown ----------------------------------------------------------------------------

    def test_sigterm_right_after_a_burst_drains_everything_received(self):
        """SIGTERM straight after a 20000-message burst: exit 0, received == published.

        Everything the relay took in before the signal is published, in order, and the
        subscriber gets exactly what the drained line says was published.
        """
        count = 20000
        drain_timeout = 5.0
        daemon = self.start(self.config(shutdown={"drain_timeout_ms": int(drain_timeout * 1000)}))
        sub = self.sub()
        self.await_subscriptions(1)

        received = []
        stop = threading.Event()

        def subscriber():
            # Reads until told to stop and then finds nothing more for a moment.
            while True:
                if sub.poll(100, zmq.POLLIN):
                    received.append(sub.recv_multipart())
                elif stop.is_set():
                    return

        reader = threading.Thread(target=subscriber, name="subscriber", daemon=True)
        messages = [v1_message(topic="burst", timestamp=i) for i in range(count)]
        producer = self.push()
        reader.start()
        try:
            for message in messages:
                producer.send(message)
            daemon.signal(signal.SIGTERM)
            signalled = time.monotonic()

            code = daemon.wait_exit(drain_timeout + 5)
            exit_seconds = time.monotonic() - signalled
            self.assertIsNotNone(code, "zrelayd did not exit after SIGTERM")
            log = daemon.stderr_text()
            self.assertEqual(code, EXIT_OK, log)
            drained = re.search(r"drained received=(\d+) published=(\d+) invalid=(\d+)", log)
            self.assertIsNotNone(drained, log)
            taken, published, invalid = (int(n) for n in drained.groups())
            # The relay has exited: what it published is already in this process's buffers.
            wait_for(lambda: len(received) >= published, 20)
        finally:
            # Stop the reader before tearDown closes its socket, whatever happened above.
            stop.set()
            reader.join(10)
        self.assertFalse(reader.is_alive())
        print(f"[ figures ] SIGTERM after a burst of {count}: received {taken}, published "
              f"{published}, subscriber got {len(received)}, exit {code} "
              f"{exit_seconds * 1000:.0f} ms after SIGTERM (drain_timeout {drain_timeout:.0f} s)",
              flush=True)
        self.assertEqual(invalid, 0)
        self.assertEqual(taken, published)
        self.assertGreater(published, 0)
        self.assertLessEqual(published, count)
        self.assertEqual(len(received), published)
        timestamps = [v1_pb2.DataMessage.FromString(frames[1]).timestamp for frames in received]
        self.assertEqual(timestamps, list(range(published)), "lost or reordered")
        self.assertTrue(all(frames[0] == b"burst" and len(frames) == 2 for frames in received))

    # --- configuration and start-up ----------------------------------------------------------

    def test_check_config_names_the_key_and_line_of_an_error(self):
        """--check-config exits 78 naming key and line for a bad value and an unknown key.

        A good file exits 0, so the 78s come from the errors and nothing else.
        """
        good = self.check_config("egress:\n  sndhwm: 500\n")
        self.assertEqual(good.returncode, EXIT_OK, good.stderr)

        bad_value = self.check_config("egress:\n  sndhwm: lots\n")
        self.assertEqual(bad_value.returncode, EXIT_CONFIG, bad_value.stderr)
        self.assertIn("egress.sndhwm", bad_value.stderr)
        self.assertIn(":2:", bad_value.stderr)

        unknown = self.check_config("ingress:\n  rcvhwm: 10\n  colour: blue\n")
        self.assertEqual(unknown.returncode, EXIT_CONFIG, unknown.stderr)
        self.assertIn("ingress.colour", unknown.stderr)
        self.assertIn(":3:", unknown.stderr)

    def test_inproc_endpoint_is_refused(self):
        """An inproc:// endpoint, which no other process can reach, is a config error (78)."""
        for section in ("ingress", "egress"):
            with self.subTest(section=section):
                result = self.check_config(f'{section}:\n  bind: ["inproc://relay"]\n')
                self.assertEqual(result.returncode, EXIT_CONFIG, result.stderr)
                self.assertIn("inproc://", result.stderr)
                self.assertIn(f"{section}.bind", result.stderr)

    def test_port_in_use_exits_69_naming_it(self):
        """A port already taken makes zrelayd exit 69 naming the endpoint/port, never ready.

        Checked for each of the ingress, egress and metrics ports. The wait is a failure bound
        only (a relay that retried would never exit); how fast it exits is not asserted.
        """
        for which in ("ingress", "egress", "metrics"):
            with self.subTest(port=which):
                self.in_port, self.out_port, self.metrics_port = free_tcp_ports(3)
                taken = {"ingress": self.in_port, "egress": self.out_port,
                         "metrics": self.metrics_port}[which]
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
                    listener.bind(("127.0.0.1", taken))
                    listener.listen()
                    daemon = self.spawn(self.config())
                    code = daemon.wait_exit(EXIT_DEADLINE)
                log = daemon.stderr_text()
                self.assertIsNotNone(code, f"still running after {EXIT_DEADLINE:.0f} s:\n" + log)
                self.assertEqual(code, EXIT_UNAVAILABLE, log)
                self.assertIn(f"127.0.0.1:{taken}", log)
                self.assertNotIn(" ready: ", log)

    def test_healthz_is_200_while_running(self):
        """/healthz answers 200 while the relay runs, and /metrics serves every family."""
        self.start(self.config())
        answer = http_get(self.metrics_port, "/healthz")
        self.assertIsNotNone(answer, "/healthz did not answer")
        self.assertEqual(answer[0], 200, answer[1])

        samples = scrape(self.metrics_port)
        for name in ("zrelay_messages_received_total", "zrelay_messages_published_total",
                     "zrelay_subscriptions", "zrelay_received_bytes_total",
                     "zrelay_published_bytes_total", "process_cpu_seconds_total",
                     *(invalid_metric(r)
                       for r in ("malformed", "bad_utf8", "oversize", "multipart"))):
            self.assertIn(name, samples)
        self.assertTrue(any(n.startswith("zrelay_build_info{") for n in samples), sorted(samples))
        # The pipeline's credits only where there is a pipeline (metrics_server_test.py).
        self.assertEqual("zrelay_inflight" in samples, TEST_WORKERS > 0, sorted(samples))


if __name__ == "__main__":
    unittest.main(verbosity=2)
