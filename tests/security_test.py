#!/usr/bin/python3
"""CURVE, the allow-lists and the limits against abuse (daemon/net/security.*, authenticator.*,
keys.*), against the real zrelayd over real sockets.

A relay runs CURVE on both sides with allow-lists made by `zrelayd keygen`. An allowed producer
and subscriber exchange messages; a client with an unknown key, one with no security (NULL), one
with PLAIN, and a raw TCP client sending a ZMTP greeting and then garbage all deliver nothing,
and the allowed pair keeps working after every attack. Every refused handshake counts once in
zrelay_auth_failures_total{side,reason} (NULL, PLAIN, the wrong server key, an unknown key, junk,
ZMTP 2.0, a client that leaves) with a log line naming side and reason, at most one a second. SIGHUP re-reads the allow-list. Idle half-open
connections to a CURVE side are closed after security.handshake_timeout_ms; an oversized subscription frame
costs its subscriber the connection; ipc socket files get security.ipc_mode, and a user who is
not allowed by it is refused by the kernel. Run by CTest like relay_test.py.
"""
import os
import pwd
import random
import re
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import zmq
import zmq.utils.monitor

from zmtp_client import rss_bytes, send_until_cut, zmtp_null_push
from relay_test import (Daemon, EXIT_CONFIG, ZRELAYD, free_tcp_ports, receive, scrape,
                        to_yaml, unstamped, v1_message, wait_for)


def keygen(prefix):
    """Runs `zrelayd keygen --out prefix`; returns (public, secret) Z85 keys as bytes."""
    subprocess.run([ZRELAYD, "keygen", "--out", prefix], check=True, capture_output=True,
                   timeout=10)
    def key_of(path):
        with open(path, encoding="ascii") as f:
            return next(line.strip() for line in f if not line.startswith("#")).encode()
    return key_of(prefix + ".pub"), key_of(prefix + ".key")


REFUSAL_REASONS = ("unknown_key", "mechanism", "cryptographic", "malformed", "incomplete")


def auth_failures(metrics_port, side, reason="unknown_key"):
    return scrape(metrics_port).get(
        f'zrelay_auth_failures_total{{side="{side}",reason="{reason}"}}')


def refusals(metrics_port):
    """zrelay_auth_failures_total as {(side, reason): count}; None for a missing series."""
    samples = scrape(metrics_port)
    return {(side, reason): samples.get(
                f'zrelay_auth_failures_total{{side="{side}",reason="{reason}"}}')
            for side in ("ingress", "egress") for reason in REFUSAL_REASONS}


def junk():
    """Random bytes, the first not 0xFF: no ZMTP greeting (libzmq reads ZMTP 1.0 into it)."""
    return bytes([random.randrange(0xFF)]) + os.urandom(63)


# A ZMTP 2.0 greeting (libzmq 3.x/4.0, JeroMQ 0.3) as a PUSH, with its empty identity.
ZMTP2_PUSH_GREETING = b"\xff" + (1).to_bytes(8, "big") + b"\x7f\x01\x08\x00\x00"


class CurveTest(unittest.TestCase):

    def setUp(self):
        self.ctx = zmq.Context()
        self.daemons = []
        self.in_port, self.out_port, self.metrics_port = free_tcp_ports(3)
        self.keydir = tempfile.mkdtemp(prefix="zrelay-keys-")
        os.chmod(self.keydir, 0o700)
        self.server_in = keygen(os.path.join(self.keydir, "ingress"))
        self.server_out = keygen(os.path.join(self.keydir, "egress"))
        self.producer = keygen(os.path.join(self.keydir, "producer"))
        self.subscriber = keygen(os.path.join(self.keydir, "subscriber"))
        self.stranger = keygen(os.path.join(self.keydir, "stranger"))
        # Ingress: a directory of allowed keys; egress: one file.
        self.producers = os.path.join(self.keydir, "producers")
        os.mkdir(self.producers)
        os.rename(os.path.join(self.keydir, "producer.pub"),
                  os.path.join(self.producers, "producer.pub"))
        self.subscribers = os.path.join(self.keydir, "subscribers.txt")
        with open(self.subscribers, "w", encoding="ascii") as f:
            f.write("# who may subscribe\n" + self.subscriber[0].decode() + "  # the test\n")
        self.config = {
            "ingress": {"bind": [f"tcp://127.0.0.1:{self.in_port}"]},
            "egress": {"bind": [f"tcp://127.0.0.1:{self.out_port}"]},
            "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"},
            "security": {"curve": {
                "ingress": {"secret_key_file": os.path.join(self.keydir, "ingress.key"),
                            "allow": self.producers},
                "egress": {"secret_key_file": os.path.join(self.keydir, "egress.key"),
                           "allow": self.subscribers}}},
        }

    def tearDown(self):
        self.ctx.destroy(linger=0)
        for d in self.daemons:
            d.stop()
        subprocess.run(["rm", "-rf", self.keydir], check=False)

    def start(self):
        d = Daemon(self.config)
        self.daemons.append(d)
        self.assertTrue(d.wait_ready(), d.stderr_text())
        return d

    def curve_socket(self, kind, server, client):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_serverkey = server[0]
        s.curve_publickey = client[0]
        s.curve_secretkey = client[1]
        return s

    def allowed_pair(self, topic=b"ok"):
        sub = self.curve_socket(zmq.SUB, self.server_out, self.subscriber)
        sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(f"tcp://127.0.0.1:{self.out_port}")
        push = self.curve_socket(zmq.PUSH, self.server_in, self.producer)
        push.setsockopt(zmq.SNDTIMEO, 2000)
        push.connect(f"tcp://127.0.0.1:{self.in_port}")
        return push, sub

    def assert_delivers(self, push, sub, topic=b"ok"):
        """A message pushed now arrives (re-sent until the subscription has reached the relay)."""
        wanted = v1_message(topic=topic.decode(), content=f"{time.monotonic()}")
        def arrived():
            push.send(wanted)
            got = receive(sub, 0.1)
            return got is not None and unstamped(got[1]) == wanted
        self.assertTrue(wait_for(arrived, 10), "an allowed producer could not reach an "
                        "allowed subscriber")

    def test_allowed_clients_deliver_and_strangers_do_not(self):
        self.start()
        push, sub = self.allowed_pair()
        self.assert_delivers(push, sub)
        self.assertEqual(set(refusals(self.metrics_port).values()), {0})

        # Everyone else, each tried while the allowed pair keeps going.
        watcher = self.curve_socket(zmq.SUB, self.server_out, self.subscriber)
        watcher.setsockopt(zmq.SUBSCRIBE, b"bad")
        watcher.connect(f"tcp://127.0.0.1:{self.out_port}")
        self.assert_delivers(push, watcher, b"bad")  # the watcher is subscribed from here on

        def attack_with(push_socket):
            push_socket.setsockopt(zmq.LINGER, 0)
            push_socket.setsockopt(zmq.SNDTIMEO, 0)
            push_socket.connect(f"tcp://127.0.0.1:{self.in_port}")
            for _ in range(20):
                try:
                    push_socket.send(v1_message(topic="bad", content="must not pass"))
                except zmq.Again:
                    pass
            return push_socket

        stranger = attack_with(self.curve_socket(zmq.PUSH, self.server_in, self.stranger))
        self.assertTrue(wait_for(lambda: auth_failures(self.metrics_port, "ingress") >= 1, 10),
                        "the unknown key was not counted")
        plain_null = attack_with(self.ctx.socket(zmq.PUSH))
        plain = self.ctx.socket(zmq.PUSH)
        plain.plain_username = b"admin"
        plain.plain_password = b"admin"
        attack_with(plain)
        # A raw client: a ZMTP 3.0 greeting asking for NULL, then bytes that are no handshake.
        raw = socket.create_connection(("127.0.0.1", self.in_port), timeout=5)
        raw.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
                    + b"\x00" + b"\x00" * 31)
        raw.sendall(b"\x00\x10" + os.urandom(16) + b"\x02\x00" * 64)
        # A subscriber with an unknown key is refused on the egress side.
        spy = self.curve_socket(zmq.SUB, self.server_out, self.stranger)
        spy.setsockopt(zmq.SUBSCRIBE, b"")
        spy.connect(f"tcp://127.0.0.1:{self.out_port}")
        self.assertTrue(wait_for(lambda: auth_failures(self.metrics_port, "egress") >= 1, 10),
                        "the unknown subscriber was not counted")

        # The allowed pair still works; nothing the others sent came out, nor reached the spy.
        self.assert_delivers(push, sub)
        self.assertIsNone(receive(watcher, 0.5), "a refused producer's message was relayed")
        self.assertIsNone(receive(spy, 0.2), "a refused subscriber received a message")
        metrics = scrape(self.metrics_port)
        self.assertEqual(metrics["zrelay_messages_invalid_total{reason=\"malformed\"}"], 0)
        stderr = self.daemons[0].stderr_text()
        self.assertIn("refused clients check=auth side=ingress reason=unknown_key", stderr)
        self.assertIn('detail="public key not in the allow-list"', stderr)
        raw.close()
        plain_null.close()
        stranger.close()

    def connections_to(self, port):
        """Established TCP connections to the relay's `port`, as the kernel sees them."""
        out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, check=True).stdout
        return len(out.splitlines())

    def test_who_may_not_subscribe_may_not_replay(self):
        from zrelay.v1 import replay_pb2
        d = self.start()
        push, sub = self.allowed_pair(b"r")
        self.assert_delivers(push, sub, b"r")
        request = replay_pb2.ReplayRequest(request_id=3)
        request.range.topic = "r"
        request.range.from_sequence = 1

        def replay_as(client):
            dealer = self.curve_socket(zmq.DEALER, self.server_out, client)
            dealer.connect(d.replay_endpoint)
            dealer.send(request.SerializeToString())
            frames = [] if dealer.poll(2000 if client is self.stranger else 20000) == 0 \
                else dealer.recv_multipart()
            dealer.close()
            return frames

        # The egress allow-list's subscriber gets the message back, then the end.
        frames = replay_as(self.subscriber)
        self.assertEqual(len(frames), 2, frames)
        self.assertEqual(frames[0], b"r")
        # A key the egress allow-list lacks (here a stranger) is refused at the handshake, and
        # counted on the egress side.
        before = auth_failures(self.metrics_port, "egress")
        self.assertEqual(replay_as(self.stranger), [])
        self.assertTrue(wait_for(lambda: auth_failures(self.metrics_port, "egress") > before, 10))
        # Without CURVE at all: no handshake, no reply.
        plain = self.ctx.socket(zmq.DEALER)
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(d.replay_endpoint)
        plain.send(request.SerializeToString())
        self.assertEqual(plain.poll(1000), 0)
        plain.close()

    def test_idle_half_open_connections_are_closed_and_good_clients_go_on(self):
        """The handshake deadline applies where CURVE is on (zmtp2_test.py: without CURVE there
        is none, and ZMTP 2.0 clients are never cut)."""
        self.config["security"]["handshake_timeout_ms"] = 8000
        self.start()
        idle = [socket.create_connection(("127.0.0.1", self.in_port)) for _ in range(300)]
        self.assertTrue(wait_for(lambda: self.connections_to(self.in_port) >= 300, 5),
                        f"only {self.connections_to(self.in_port)} connections were accepted")
        push, sub = self.allowed_pair()
        self.assert_delivers(push, sub)
        # Served while the idle ones were all still there, the good client's making 301.
        self.assertGreaterEqual(self.connections_to(self.in_port), 301)
        # The relay closes each idle connection once its handshake time is up: past the
        # relay's own greeting, the client reads end-of-file (or a reset). A connection still
        # open after 10 s times out the read and fails the test.
        for s in idle:
            s.settimeout(10)
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        self.assertTrue(wait_for(lambda: self.connections_to(self.in_port) == 1, 10),
                        f"{self.connections_to(self.in_port)} connections left")
        self.assertTrue(wait_for(
            lambda: refusals(self.metrics_port)[("ingress", "incomplete")] == 300, 10),
            refusals(self.metrics_port))
        self.assert_delivers(push, sub)
        for s in idle:
            s.close()

    def one_shot(self, kind, port, server=None, client=None, plain=False):
        """A zmq client that tries its handshake once (no reconnection), left open."""
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RECONNECT_IVL, -1)
        if server is not None:
            s.curve_serverkey = server[0]
            s.curve_publickey = client[0]
            s.curve_secretkey = client[1]
        if plain:
            s.plain_username = b"admin"
            s.plain_password = b"admin"
        if kind == zmq.SUB:
            s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(f"tcp://127.0.0.1:{port}")
        return s

    @staticmethod
    def raw(port, data):
        """A TCP client that sends `data` and stays, or with no data leaves at once."""
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if data:
            s.sendall(data)
        else:
            s.close()
        return s

    @staticmethod
    def refusal_lines(daemon, side, reason):
        """The counts of the refusal log lines naming `side` and `reason`."""
        return re.findall(rf"refused clients check=\w+ side={side} reason={reason} count=(\d+)",
                          daemon.stderr_text())

    def test_every_refused_handshake_is_counted_once_by_side_and_reason(self):
        d = self.start()
        expected = {key: 0 for key in refusals(self.metrics_port)}
        self.assertEqual(refusals(self.metrics_port), expected, "a series is missing")
        wrong_server = zmq.curve_keypair()
        attacks = [
            ("ingress", "mechanism", "a NULL client",
             lambda: self.one_shot(zmq.PUSH, self.in_port)),
            ("ingress", "mechanism", "a PLAIN client",
             lambda: self.one_shot(zmq.PUSH, self.in_port, plain=True)),
            ("ingress", "cryptographic", "a client with the wrong server key",
             lambda: self.one_shot(zmq.PUSH, self.in_port, wrong_server, self.producer)),
            ("ingress", "unknown_key", "a client with an unknown key",
             lambda: self.one_shot(zmq.PUSH, self.in_port, self.server_in, self.stranger)),
            ("ingress", "malformed", "a junk TCP client", lambda: self.raw(self.in_port, junk())),
            ("ingress", "malformed", "a ZMTP 2.0 client",
             lambda: self.raw(self.in_port, ZMTP2_PUSH_GREETING)),
            ("ingress", "incomplete", "a client that leaves before its greeting",
             lambda: self.raw(self.in_port, b"")),
            ("egress", "mechanism", "a NULL subscriber",
             lambda: self.one_shot(zmq.SUB, self.out_port)),
            ("egress", "cryptographic", "a subscriber with the wrong server key",
             lambda: self.one_shot(zmq.SUB, self.out_port, wrong_server, self.subscriber)),
            ("egress", "unknown_key", "a subscriber with an unknown key",
             lambda: self.one_shot(zmq.SUB, self.out_port, self.server_out, self.stranger)),
            ("egress", "malformed", "a junk TCP client", lambda: self.raw(self.out_port, junk())),
        ]
        kept = []
        last_line = time.monotonic() - 10
        for side, reason, what, attack in attacks:
            # Each log line must get through the once-a-second limit: wait out the last one.
            time.sleep(max(0.0, last_line + 1.1 - time.monotonic()))
            lines = len(self.refusal_lines(d, side, reason))
            kept.append(attack())
            expected[(side, reason)] += 1
            self.assertTrue(wait_for(lambda: refusals(self.metrics_port) == expected, 10),
                            f"{what}: {refusals(self.metrics_port)}, expected {expected}")
            self.assertTrue(wait_for(
                lambda: len(self.refusal_lines(d, side, reason)) == lines + 1, 10),
                f"{what}: no log line naming {side} and {reason}:\n{d.stderr_text()}")
            last_line = time.monotonic()
        # Nothing came after: no refusal counted twice, by a second reporter or a retry.
        time.sleep(1.1)
        self.assertEqual(refusals(self.metrics_port), expected)
        # A Z85 key may hold '=', and is then quoted.
        self.assertRegex(d.stderr_text(), "refused clients check=auth side=ingress "
                         "reason=unknown_key count=1 address=127.0.0.1 "
                         f'key=("?){re.escape(self.stranger[0].decode())}\\1 ')
        for k in kept:
            k.close()

    def test_a_burst_of_refusals_is_counted_whole_and_logged_once_a_second(self):
        d = self.start()
        burst = 200
        started = time.monotonic()
        kept = [self.raw(self.in_port, junk()) for _ in range(burst)]
        self.assertTrue(wait_for(
            lambda: refusals(self.metrics_port)[("ingress", "malformed")] == burst, 30),
            refusals(self.metrics_port))
        # What the limit held back is told once the burst is over, without waiting for more:
        # the lines' counts add up to the metric.
        self.assertTrue(wait_for(
            lambda: sum(int(n) for n in self.refusal_lines(d, "ingress", "malformed")) == burst,
            10), self.refusal_lines(d, "ingress", "malformed"))
        lines = self.refusal_lines(d, "ingress", "malformed")
        elapsed = time.monotonic() - started
        self.assertLessEqual(len(lines), elapsed + 1, f"{len(lines)} lines in {elapsed:.1f} s")
        self.assertEqual(refusals(self.metrics_port)[("ingress", "malformed")], burst)
        for k in kept:
            k.close()

    def test_sighup_rereads_the_allow_list(self):
        d = self.start()
        stranger_push = self.curve_socket(zmq.PUSH, self.server_in, self.stranger)
        stranger_push.connect(f"tcp://127.0.0.1:{self.in_port}")
        push, sub = self.allowed_pair()
        self.assert_delivers(push, sub)
        self.assertTrue(wait_for(lambda: auth_failures(self.metrics_port, "ingress") >= 1, 10))
        stranger_push.close()

        # Let the stranger in: a new file in the directory, then SIGHUP.
        with open(os.path.join(self.producers, "stranger.pub"), "w", encoding="ascii") as f:
            f.write(self.stranger[0].decode() + "\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "allow-lists re-read (2 ingress" in d.stderr_text(), 10),
                        d.stderr_text())
        newcomer = self.curve_socket(zmq.PUSH, self.server_in, self.stranger)
        newcomer.setsockopt(zmq.SNDTIMEO, 2000)
        newcomer.connect(f"tcp://127.0.0.1:{self.in_port}")
        self.assert_delivers(newcomer, sub)
        newcomer.close()

        # And out again: a broken list is rejected whole and the running one stays.
        with open(os.path.join(self.producers, "broken.pub"), "w", encoding="ascii") as f:
            f.write("not a key\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload rejected" in d.stderr_text(), 10))
        self.assertIn("broken.pub:1: expected a CURVE key", d.stderr_text())
        os.remove(os.path.join(self.producers, "broken.pub"))
        os.remove(os.path.join(self.producers, "stranger.pub"))
        d.signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "allow-lists re-read (1 ingress" in d.stderr_text(), 10))
        before = auth_failures(self.metrics_port, "ingress")
        late = self.curve_socket(zmq.PUSH, self.server_in, self.stranger)
        late.connect(f"tcp://127.0.0.1:{self.in_port}")
        self.assertTrue(wait_for(lambda: auth_failures(self.metrics_port, "ingress") > before,
                                 10), "a key taken off the list still got in")
        late.close()
        self.assert_delivers(push, sub)

    def test_healthcheck_passes_through_curve(self):
        d = self.start()
        path = os.path.join(d.dir, "check.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(to_yaml(self.config) + "\n")
        result = subprocess.run([ZRELAYD, "healthcheck", "--config", path], capture_output=True,
                                text=True, timeout=30, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(set(refusals(self.metrics_port).values()), {0})

    def test_a_secret_key_open_to_others_is_refused_at_start(self):
        key = os.path.join(self.keydir, "ingress.key")
        os.chmod(key, 0o640)
        d = Daemon(self.config)
        self.daemons.append(d)
        self.assertEqual(d.wait_exit(10), EXIT_CONFIG)
        self.assertIn(f"secret key file '{key}' is open to its group or others (mode 0640)",
                      d.stderr_text())
        check = subprocess.run([ZRELAYD, "--check-config", "--config", d.config_path],
                               capture_output=True, text=True, timeout=10, check=False)
        self.assertEqual(check.returncode, EXIT_CONFIG)
        self.assertIn("chmod 600", check.stderr)

    def test_keygen_writes_a_private_secret_and_never_overwrites(self):
        prefix = os.path.join(self.keydir, "fresh")
        public, secret = keygen(prefix)
        self.assertEqual(stat.S_IMODE(os.stat(prefix + ".key").st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(prefix + ".pub").st_mode), 0o644)
        self.assertEqual(zmq.curve_public(secret), public)
        again = subprocess.run([ZRELAYD, "keygen", "--out", prefix], capture_output=True,
                               text=True, timeout=10, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("File exists", again.stderr)
        printed = subprocess.run([ZRELAYD, "keygen"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout
        keys = [line for line in printed.splitlines() if line and not line.startswith("#")]
        self.assertEqual(len(keys), 2)
        self.assertEqual(zmq.curve_public(keys[1].encode()), keys[0].encode())


class LimitsTest(unittest.TestCase):

    def setUp(self):
        self.ctx = zmq.Context()
        self.daemons = []
        self.in_port, self.out_port, self.metrics_port = free_tcp_ports(3)

    def tearDown(self):
        self.ctx.destroy(linger=0)
        for d in self.daemons:
            d.stop()

    def start(self, config):
        d = Daemon(config)
        self.daemons.append(d)
        self.assertTrue(d.wait_ready(), d.stderr_text())
        return d

    def base_config(self, **security):
        return {
            "ingress": {"bind": [f"tcp://127.0.0.1:{self.in_port}"]},
            "egress": {"bind": [f"tcp://127.0.0.1:{self.out_port}"]},
            "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"},
            "security": security,
        }

    def good_pair(self, content):
        """An ordinary producer and subscriber; returns a check that a message goes through."""
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{self.out_port}")
        push = self.ctx.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{self.in_port}")
        message = v1_message(topic="t", content=content)
        def delivered():
            push.send(message)
            got = receive(sub, 0.1)
            return got is not None and unstamped(got[1]) == message
        return delivered

    def test_endless_continuation_frames_cost_the_sender_its_connection(self):
        """libzmq holds every frame of a message until its last: the relay drops a sender whose
        message passes twice max_message_bytes (here 2 x 1 MiB) or 64 frames, so its memory
        stays bounded, and goes on serving everyone else."""
        d = self.start(self.base_config())
        pid = d.proc.pid
        delivered = self.good_pair("still here")
        self.assertTrue(wait_for(delivered, 10))
        before = rss_bytes(pid)

        # 64 KiB frames, all flagged MORE: 256 MiB would be held whole without the guard.
        big = zmtp_null_push(self.in_port)
        body = b"\xab" * 65536
        sent, cut = send_until_cut(big, b"\x03" + len(body).to_bytes(8, "big") + body,
                                   256 * 1024 * 1024)
        self.assertTrue(cut, f"the relay took {sent >> 20} MiB of one message")
        self.assertLess(sent, 64 * 1024 * 1024)  # 2 MiB, plus what the kernels buffered
        grown = rss_bytes(pid) - before
        self.assertLess(grown, 32 * 1024 * 1024, f"RSS grew by {grown >> 20} MiB")

        # Empty frames, the costliest per byte sent: cut at the 65th.
        tiny = zmtp_null_push(self.in_port)
        sent, cut = send_until_cut(tiny, b"\x01\x00" * 1024, 64 * 1024 * 1024)
        self.assertTrue(cut, f"the relay took {sent} bytes of empty frames")
        self.assertTrue(wait_for(
            lambda: scrape(self.metrics_port).get("zrelay_connections_dropped_total") == 2, 10),
            scrape(self.metrics_port).get("zrelay_connections_dropped_total"))
        self.assertIn("dropped a connection", d.stderr_text())

        # A short multi-part message is still only refused and counted, not a dropped sender.
        few = zmtp_null_push(self.in_port)
        few.sendall(b"\x01\x01a" * 3 + b"\x00\x01b")
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            'zrelay_messages_invalid_total{reason="multipart"}') == 1, 10),
            {k: v for k, v in scrape(self.metrics_port).items() if "invalid" in k or "recei" in k})
        self.assertTrue(wait_for(delivered, 10), "the good producer stopped being served")
        self.assertEqual(scrape(self.metrics_port)["zrelay_connections_dropped_total"], 2)
        for s in (big, tiny, few):
            s.close()

    def test_an_oversized_subscription_costs_the_subscriber_its_connection(self):
        self.start(self.base_config())
        monitor_events = []
        hog = self.ctx.socket(zmq.SUB)
        monitor = hog.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECTED)
        hog.setsockopt(zmq.SUBSCRIBE, b"x" * 5000)
        hog.connect(f"tcp://127.0.0.1:{self.out_port}")
        def disconnected():
            if monitor.poll(100):
                event = zmq.utils.monitor.recv_monitor_message(monitor)
                monitor_events.append(event["event"])
            return zmq.EVENT_DISCONNECTED in monitor_events
        self.assertTrue(wait_for(disconnected, 10),
                        "the relay kept a subscriber that sent a 5001-byte subscription")
        self.assertEqual(scrape(self.metrics_port)["zrelay_subscriptions"], 0)
        self.assertTrue(wait_for(self.good_pair("fine"), 10))

    def test_ipc_socket_files_get_the_configured_mode_and_the_kernel_enforces_it(self):
        run = tempfile.mkdtemp(prefix="zrelay-run-")
        os.chmod(run, 0o755)
        try:
            path = os.path.join(run, "in.sock")
            config = self.base_config(ipc_mode="0600")
            config["ingress"]["bind"] = [f"ipc://{path}"]
            self.start(config)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
            if os.geteuid() != 0:
                self.skipTest("needs root to try the socket as a second user")
            nobody = pwd.getpwnam("nobody")
            probe = ("import socket, sys\n"
                     "s = socket.socket(socket.AF_UNIX)\n"
                     "try:\n"
                     f"    s.connect({path!r})\n"
                     "except PermissionError:\n"
                     "    sys.exit(13)\n")
            def as_user(uid, gid):
                def demote():
                    os.setgid(gid)
                    os.setuid(uid)
                return subprocess.run(["/usr/bin/python3", "-c", probe], preexec_fn=demote,
                                      timeout=10, check=False).returncode
            self.assertEqual(as_user(nobody.pw_uid, nobody.pw_gid), 13,
                             "another user could connect to a 0600 ipc socket")
            os.chmod(path, 0o666)  # the same probe passes when the mode allows it
            self.assertEqual(as_user(nobody.pw_uid, nobody.pw_gid), 0)
        finally:
            subprocess.run(["rm", "-rf", run], check=False)

    def test_the_default_ipc_mode_is_0660(self):
        run = tempfile.mkdtemp(prefix="zrelay-run-")
        try:
            path = os.path.join(run, "out.sock")
            config = self.base_config()
            config["egress"]["bind"] = [f"ipc://{path}"]
            old = os.umask(0)  # the relay's mode must not depend on the umask it inherits
            try:
                self.start(config)
            finally:
                os.umask(old)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)
        finally:
            subprocess.run(["rm", "-rf", run], check=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
