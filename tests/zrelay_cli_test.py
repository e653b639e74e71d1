#!/usr/bin/python3
"""`zrelay` as handy as the nats and mosquitto command lines (issue 20): endpoints from the
environment (else the local relay's defaults), --version, unknown subcommands named, `sub --raw`,
`--timestamps`, `--idle-timeout` and `--show-internal`, `send --file` and `--header`, and help
that fits 80 columns with examples.

Against the real zrelayd on ports of the test's own: the tool's default endpoints are the ones
any relay on this host would use, so a test never lets the tool fall back on them except to
read (a scrape of the default metrics URL); it points the environment variables at its relay.
Nothing sleeps and hopes: every wait polls a condition against a deadline.

Run by CTest (tests/CMakeLists.txt), which sets ZRELAY (the tool), ZRELAYD and PYTHONPATH.
"""
import calendar
import json
import os
import re
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import zmq

from relay_test import (Daemon, ZRELAYD, free_tcp_ports, receive, scrape, v1_message, v1_pb2,
                        wait_for, _die_with_parent)

ZRELAY = os.environ.get("ZRELAY")

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_UNAVAILABLE = 69

WAIT = 10.0  # seconds for anything the test waits on: output, a subscription, an exit

ENV_VARS = ("ZRELAY_INGRESS", "ZRELAY_EGRESS", "ZRELAY_REPLAY", "ZRELAY_METRICS")
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def environment(**variables):
    """This process's environment without the tool's variables, plus `variables`: what the
    test runs in must not choose an endpoint for it."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(variables)
    return env


def run(*args, env=None, timeout=60):
    """Runs zrelay to completion; returns the CompletedProcess (bytes)."""
    return subprocess.run([ZRELAY, *args], capture_output=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL, env=env or environment(),
                          preexec_fn=_die_with_parent)


def start(*args, env=None):
    """Starts zrelay, its output piped (bytes), for communicate()."""
    return subprocess.Popen([ZRELAY, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or environment(),
                            preexec_fn=_die_with_parent)


def reference_default(key):
    """A key's default as `zrelayd config-reference` prints it: `bind: [tcp://...]` under its
    section, or `listen: 127.0.0.1:9464`."""
    section, name = key.split(".")
    text = subprocess.run([ZRELAYD, "config-reference"], capture_output=True, text=True,
                          check=True).stdout
    block = re.search(rf"^{section}:\n((?:[ #].*\n|\n)*)", text, re.M)
    value = re.search(rf"^  {name}: (.+)$", block.group(1), re.M).group(1)
    return value.strip("[]\"")


class CliTestCase(unittest.TestCase):

    def setUp(self):
        self.assertTrue(ZRELAY and os.access(ZRELAY, os.X_OK),
                        f"ZRELAY must name the zrelay binary, got {ZRELAY!r}")
        self.assertTrue(ZRELAYD and os.access(ZRELAYD, os.X_OK),
                        f"ZRELAYD must name the zrelayd binary, got {ZRELAYD!r}")
        self.procs = []

    def tearDown(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()

    def start(self, *args, env=None):
        proc = start(*args, env=env)
        self.procs.append(proc)
        return proc

    def finish(self, proc):
        """(exit code, stdout, stderr) once `proc` exits by itself within WAIT."""
        try:
            out, err = proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail(f"zrelay did not exit; stdout {out!r}, stderr {err!r}")
        return proc.returncode, out, err


# --------------------------------------------------------------------------------------------
# Against a relay
# --------------------------------------------------------------------------------------------

class RelayCliTest(CliTestCase):

    def setUp(self):
        super().setUp()
        in_port, out_port, replay_port, self.metrics_port = free_tcp_ports(4)
        self.ingress = f"tcp://127.0.0.1:{in_port}"
        self.egress = f"tcp://127.0.0.1:{out_port}"
        self.replay = f"tcp://127.0.0.1:{replay_port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.daemon = Daemon({"ingress": {"bind": [self.ingress]},
                              "egress": {"bind": [self.egress]},
                              "replay": {"bind": [self.replay]},
                              "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"}})
        self.assertTrue(self.daemon.wait_ready(), self.daemon.stderr_text())
        self.ctx = zmq.Context()
        # What the tool finds in the environment: this test's relay.
        self.env = environment(ZRELAY_INGRESS=self.ingress, ZRELAY_EGRESS=self.egress,
                               ZRELAY_REPLAY=self.replay, ZRELAY_METRICS=self.metrics_url)

    def tearDown(self):
        try:
            super().tearDown()
            self.ctx.destroy(linger=0)
        finally:
            self.daemon.stop()

    def await_subscriptions(self, count):
        """Until the relay has exactly `count` distinct subscribed prefixes."""
        self.assertTrue(wait_for(
            lambda: scrape(self.metrics_port).get("zrelay_subscriptions") == count, WAIT),
            f"the relay never had {count} subscriptions")

    def push(self, *messages):
        """Pushes serialized DataMessages into the relay, in order, over one connection."""
        push = self.ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, int(WAIT * 1000))
        push.connect(self.ingress)
        for message in messages:
            push.send(message)
        push.close()

    def subscribe(self):
        sub = self.ctx.socket(zmq.SUB)
        self.addCleanup(sub.close, 0)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.egress)
        self.await_subscriptions(1)
        return sub

    # --- endpoints from the environment ---

    def test_the_environment_names_every_endpoint(self):
        sub = self.start("sub", "--json", "--count", "1", env=self.env)
        self.await_subscriptions(1)
        result = run("send", "--topic", "env", "hello", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertIn(f"to {self.ingress} ".encode(), result.stderr)
        # Its rate is what the relay's socket took, which it says, not what was delivered.
        self.assertIn(b" msg/s taken by the relay's socket (not delivery to subscribers: see "
                      b"zrelay bench)\n", result.stderr)
        code, out, err = self.finish(sub)
        self.assertEqual(code, EXIT_OK, err)
        self.assertIn(b'"topic":"env","content":"hello"', out)

        result = run("stats", "--once", "--interval", "0.1", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertEqual(result.stdout.splitlines()[0],
                         f"zrelay stats: {self.metrics_url}".encode())
        self.assertRegex(result.stdout, rb"(?m)^zrelay_messages_received_total +1 ")

    def test_replay_endpoint_from_the_environment(self):
        self.push(v1_message(topic="last", content="kept"))
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            "zrelay_messages_received_total") == 1, WAIT))
        # --snapshot asks the replay endpoint: only $ZRELAY_REPLAY names this relay's.
        code, out, err = self.finish(self.start("sub", "--snapshot", "--topic", "last",
                                                "--count", "1", env=self.env))
        self.assertEqual((code, out), (EXIT_OK, b"last #1 kept\n"), err)

    def test_the_option_beats_the_environment(self):
        port, = free_tcp_ports(1)
        nowhere = f"tcp://127.0.0.1:{port}"
        wrong = environment(ZRELAY_INGRESS=nowhere, ZRELAY_EGRESS=nowhere,
                            ZRELAY_METRICS=f"http://127.0.0.1:{port}/metrics")
        sub = self.start("sub", "--from", self.egress, "--count", "1", env=wrong)
        self.await_subscriptions(1)
        result = run("send", "--to", self.ingress, "--topic", "opt", "--timeout", "2000",
                     "given", env=wrong)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        code, out, err = self.finish(sub)
        self.assertEqual((code, out), (EXIT_OK, b"opt #1 given\n"), err)
        result = run("stats", "--metrics", self.metrics_url, "--once", "--interval", "0.1",
                     env=wrong)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        # Even a variable the tool would refuse is not read when the option is given.
        result = run("send", "--to", self.ingress, "hi",
                     env=environment(ZRELAY_INGRESS="udp://nowhere"))
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)

    # --- sub ---

    def test_raw_prints_each_content_alone_exactly(self):
        sub = self.start("sub", "--raw", "--count", "4", env=self.env)
        self.await_subscriptions(1)
        self.push(v1_message(topic="t", content="plain"),
                  v1_message(topic="t", content="tab\there \\ back ✓", payload=b"\x00\x01"),
                  v1_message(topic="u", content="two\nlines"),
                  v1_message(topic="t", content=""))
        code, out, err = self.finish(sub)
        self.assertEqual(code, EXIT_OK, err)
        self.assertEqual(out, "plain\ntab\there \\ back ✓\ntwo\nlines\n\n".encode())
        self.assertIn(b"zrelay sub: received 4,", err)  # the summary stays on stderr

    def test_timestamps_lead_each_line_in_iso_8601_utc_with_milliseconds(self):
        sub = self.start("sub", "--timestamps", "--count", "3", env=self.env)
        self.await_subscriptions(1)
        before = time.time_ns()
        self.push(v1_message(topic="ts", content="leap", timestamp=1709251199_999_999_999),
                  v1_message(topic="ts", content="none"),
                  v1_message(topic="ts", content="before 1970", timestamp=-1))
        code, out, err = self.finish(sub)
        after = time.time_ns()
        self.assertEqual(code, EXIT_OK, err)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 3, out)
        pattern = re.compile(rf"^(\S+) ({ISO_MS}) (ts #\d+ .*)$")
        parsed = [pattern.match(line) for line in lines]
        self.assertTrue(all(parsed), lines)
        # The producer's timestamp, rounded down to the millisecond; '-' when it set none.
        self.assertEqual([(m.group(1), m.group(3)) for m in parsed],
                         [("2024-02-29T23:59:59.999Z", "ts #1 leap"), ("-", "ts #2 none"),
                          ("1969-12-31T23:59:59.999Z", "ts #3 before 1970")])
        # The relay's receive time: while the test was sending, to the millisecond.
        for m in parsed:
            ms = calendar_ms(m.group(2))
            self.assertLessEqual(before // 1_000_000, ms, lines)
            self.assertLessEqual(ms, after // 1_000_000, lines)

    def test_idle_timeout_exits_0_once_no_message_came_for_that_long(self):
        started = time.monotonic()
        code, out, err = self.finish(self.start("sub", "--idle-timeout", "0.5", env=self.env))
        self.assertEqual((code, out), (EXIT_OK, b""), err)
        # It cannot stop before the timeout has passed since it started.
        self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.assertIn(b"zrelay sub: no message for 0.5 s; stopping\n", err)
        self.assertTrue(err.endswith(b"zrelay sub: received 0, topics 0, gaps 0, missing 0, "
                                     b"restarts 0, duplicates 0, undecodable 0, untracked 0\n"),
                        err)

        self.await_subscriptions(0)
        sub = self.start("sub", "--idle-timeout", "1", env=self.env)
        self.await_subscriptions(1)
        self.push(v1_message(topic="i", content="one"))
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            "zrelay_messages_published_total") == 1, WAIT))
        last_sent = time.monotonic()
        self.push(v1_message(topic="i", content="two"))
        code, out, err = self.finish(sub)
        self.assertEqual((code, out), (EXIT_OK, b"i #1 one\ni #2 two\n"), err)
        # The clock restarts at each message: not before a second after the last one.
        self.assertGreaterEqual(time.monotonic() - last_sent, 1.0)
        self.assertIn(b"zrelay sub: received 2,", err)

    def test_the_relays_own_topics_show_only_when_asked_for(self):
        internal = v1_message(topic="$zrelay/health/cli-test", content="canary")
        visible = v1_message(topic="visible", content="message")
        # Sequence numbers aside (#N): each round publishes on "visible" again.
        for args, prefixes, expected in (
                ((), 1, "visible #N message\n"),
                (("--topic", ""), 1, "visible #N message\n"),
                (("--show-internal",), 1,
                 "$zrelay/health/cli-test #N canary\nvisible #N message\n"),
                (("--topic", "$zrelay/health/"), 1, "$zrelay/health/cli-test #N canary\n"),
                (("--topic", "$zrelay/", "--topic", "vis"), 2,
                 "$zrelay/health/cli-test #N canary\nvisible #N message\n")):
            with self.subTest(args=args):
                count = str(expected.count("\n"))
                sub = self.start("sub", *args, "--count", count, env=self.env)
                self.await_subscriptions(prefixes)
                # The internal one first: hidden, it must not count towards --count either.
                self.push(internal, visible)
                code, out, err = self.finish(sub)
                self.assertEqual((code, re.sub(r"#\d+", "#N", out.decode())),
                                 (EXIT_OK, expected), err)
                self.assertIn(f"zrelay sub: received {count},".encode(), err)
                self.await_subscriptions(0)

    # --- send ---

    def test_file_is_sent_byte_for_byte_with_headers(self):
        data = bytes(range(256)) * 64 + b"\x00\xff\xfe not UTF-8 \xc3"
        with tempfile.NamedTemporaryFile(prefix="zrelay-cli-") as f:
            f.write(data)
            f.flush()
            sub = self.subscribe()
            result = run("send", "--topic", "bin", "--file", f.name, "-H", "type=image/png",
                         "--header", "eq=a=b", "-H", "empty=", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        frames = receive(sub, WAIT)
        self.assertIsNotNone(frames, "the file never arrived")
        message = v1_pb2.DataMessage.FromString(frames[1])
        self.assertEqual((frames[0], message.topic, message.content), (b"bin", "bin", ""))
        self.assertEqual(message.payload, data)
        self.assertEqual(dict(message.headers), {"type": "image/png", "eq": "a=b", "empty": ""})

    def test_file_with_texts_is_every_messages_payload(self):
        with tempfile.NamedTemporaryFile(prefix="zrelay-cli-") as f:
            f.write(b"\x01\x02")
            f.flush()
            sub = self.subscribe()
            result = run("send", "--file", f.name, "--count", "2", "a", "b", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        messages = [v1_pb2.DataMessage.FromString(receive(sub, WAIT)[1]) for _ in range(4)]
        self.assertEqual([(m.content, m.payload) for m in messages],
                         [(c, b"\x01\x02") for c in ("a", "b", "a", "b")])

    def test_a_message_a_default_relay_would_drop_is_warned_about_once(self):
        # The relay drops a frame over ingress.max_message_bytes (1 MiB by default) and counts it
        # as oversize; the sender cannot see that, so it says so before it sends.
        limit = 1024 * 1024
        with tempfile.NamedTemporaryFile(prefix="zrelay-cli-") as f:
            f.write(b"\x07" * limit)  # with the field's tag and length: over the limit
            f.flush()
            result = run("send", "--file", f.name, "--count", "2", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        warnings = re.findall(rb"warning: a message of (\d+) bytes is over the (\d+) bytes",
                              result.stderr)
        self.assertEqual(len(warnings), 1, result.stderr)
        size, bound = (int(x) for x in warnings[0])
        self.assertEqual(bound, limit)
        self.assertGreater(size, limit)
        self.assertTrue(wait_for(lambda: scrape(self.metrics_port).get(
            'zrelay_messages_invalid_total{reason="oversize"}', 0) == 2, WAIT),
            "the relay did not drop both as oversize, as the warning said it would")
        small = run("send", "--size", str(limit - 64), env=self.env)
        self.assertEqual(small.returncode, EXIT_OK, small.stderr)
        self.assertNotIn(b"warning", small.stderr)

    # --- bench ---

    def test_bench_delivers_every_message_and_reports_plausible_figures(self):
        result = run("bench", "--pub", "2", "--sub", "2", "--count", "2000", "--size", "64",
                     "--json", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        summary = json.loads(result.stdout)
        self.assertEqual((summary["to"], summary["from"]), (self.ingress, self.egress))
        self.assertEqual((summary["publishers"], summary["subscribers"], summary["payload_bytes"],
                          summary["message_bytes"]), (2, 2, 64, 64 + 7 + 2))  # topic "bench"
        self.assertEqual(summary["offered"]["messages"], 4000)
        self.assertEqual([p["messages"] for p in summary["offered"]["per_publisher"]],
                         [2000, 2000])
        self.assertEqual(summary["delivered"]["messages"], 8000)
        for s in summary["delivered"]["per_subscriber"]:
            self.assertEqual((s["messages"], s["expected"], s["lost"], s["duplicated"],
                              s["reordered"], s["timed_out"]), (4000, 4000, 0, 0, 0, False), s)
            self.assertGreater(s["msgs_per_s"], 0)
        self.assertEqual((summary["lost"], summary["duplicated"], summary["reordered"],
                          summary["ok"]), (0, 0, 0, True))
        latency = summary["latency_us"]
        order = [latency[k] for k in ("p50", "p90", "p99", "p99_9", "max")]
        self.assertGreater(order[0], 0, latency)
        self.assertEqual(order, sorted(order), latency)
        # The relay published them all (and the warm-ups, which were not counted).
        self.assertGreaterEqual(scrape(self.metrics_port).get("zrelay_messages_received_total"),
                                4000)

        result = run("bench", "--count", "100", env=self.env)
        self.assertEqual(result.returncode, EXIT_OK, result.stderr)
        self.assertIn(b"result: all 100 messages delivered, once each, in order\n", result.stdout)
        self.assertRegex(result.stdout, rb"latency \(send to receive, us\): p50 [\d.]+ p90 ")

    def test_bench_reports_exactly_what_was_lost_duplicated_or_reordered_and_exits_1(self):
        link = LossyLink(self.ingress, drop={(0, 3), (1, 7)}, duplicate={(0, 10)},
                         hold={(1, 5)})
        self.addCleanup(link.stop)
        result = run("bench", "--to", link.endpoint, "--pub", "2", "--sub", "2", "--count", "50",
                     "--json", env=self.env)
        self.assertEqual(result.returncode, 1, result.stderr)
        summary = json.loads(result.stdout)
        for s in summary["delivered"]["per_subscriber"]:
            # Every publisher's last message came: the subscribers knew the rest was lost.
            self.assertEqual((s["expected"], s["messages"], s["lost"], s["duplicated"],
                              s["reordered"], s["timed_out"]), (100, 98, 2, 1, 1, False), s)
        self.assertEqual((summary["lost"], summary["duplicated"], summary["reordered"],
                          summary["ok"]), (4, 2, 2, False))

        result = run("bench", "--to", link.endpoint, "--pub", "2", "--count", "50", env=self.env)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(b"result: FAILED: 2 of 100 messages lost, 1 duplicated, 1 reordered\n",
                      result.stdout)

    def test_bench_counts_a_lost_last_message_after_the_timeout(self):
        link = LossyLink(self.ingress, drop={(0, 19)})
        self.addCleanup(link.stop)
        result = run("bench", "--to", link.endpoint, "--count", "20", "--timeout", "1000",
                     "--json", env=self.env)
        self.assertEqual(result.returncode, 1, result.stderr)
        summary = json.loads(result.stdout)
        s, = summary["delivered"]["per_subscriber"]
        self.assertEqual((s["messages"], s["lost"], s["timed_out"]), (19, 1, True), s)


# `zrelay bench`'s stamp at the start of its payload (tools/bench_message.hpp), in the
# host's byte order: run, publisher, kind (1 warm-up, 2 measured), sequence, send time.
BENCH_STAMP = struct.Struct("=IHHQq")
BENCH_MEASURED = 2


class LossyLink:
    """Between zrelay bench's publishers and the relay's ingress: forwards every message, except
    that it drops, duplicates or holds back (until its publisher's next one is forwarded) the
    measured messages named by (publisher, sequence). Loss the test chooses, so exact, where a
    relay's own drops depend on timing. A thread with its own sockets."""

    def __init__(self, ingress, drop=(), duplicate=(), hold=()):
        self.drop, self.duplicate, self.hold = set(drop), set(duplicate), set(hold)
        self.ingress = ingress
        self.endpoint = None
        self.bound = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        if not self.bound.wait(WAIT) or self.endpoint is None:
            raise AssertionError("the lossy link did not bind")

    def run(self):
        # Its own context and sockets, in this thread alone.
        with zmq.Context() as ctx, ctx.socket(zmq.PULL) as pull, ctx.socket(zmq.PUSH) as push:
            pull.setsockopt(zmq.LINGER, 0)
            push.setsockopt(zmq.LINGER, 0)
            self.endpoint = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
            push.connect(self.ingress)
            self.bound.set()
            held = {}  # publisher: messages held back
            while not self.stopping.is_set():
                if not pull.poll(50):
                    continue
                body = pull.recv()
                payload = v1_pb2.DataMessage.FromString(body).payload
                _, publisher, kind, sequence, _ = BENCH_STAMP.unpack(payload[:BENCH_STAMP.size])
                key = (publisher, sequence) if kind == BENCH_MEASURED else None
                if key in self.drop:
                    continue
                if key in self.hold:
                    held.setdefault(publisher, []).append(body)
                    continue
                push.send(body)
                if key in self.duplicate:
                    push.send(body)
                if key is not None:  # after the next one of its publisher
                    for late in held.pop(publisher, []):
                        push.send(late)

    def stop(self):
        self.stopping.set()
        self.thread.join()


def calendar_ms(text):
    """'2024-02-29T23:59:59.999Z' as milliseconds since the epoch."""
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int(text[20:23])


# --------------------------------------------------------------------------------------------
# No relay needed
# --------------------------------------------------------------------------------------------

class CommandLineTest(CliTestCase):

    def test_version_is_the_projects_as_zrelayd_prints_it(self):
        daemon = subprocess.run([ZRELAYD, "--version"], capture_output=True, text=True,
                                check=True).stdout
        version = re.fullmatch(r"zrelayd (\d+\.\d+\.\d+\S*)\n", daemon).group(1)
        for flag in ("--version", "-V"):
            with self.subTest(flag=flag):
                result = run(flag)
                self.assertEqual((result.returncode, result.stdout, result.stderr),
                                 (EXIT_OK, f"zrelay {version}\n".encode(), b""))

    def test_an_unknown_subcommand_is_named(self):
        for word in ("publish", "pub"):
            with self.subTest(word=word):
                result = run(word, "--to", "tcp://127.0.0.1:1")
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertEqual(result.stderr.decode().splitlines()[0],
                                 f"zrelay: unknown subcommand '{word}' (expected send, sub, "
                                 "stats or bench)")
                self.assertEqual(result.stdout, b"")

    def test_no_subcommand_prints_the_help_and_exits_64(self):
        result = run()
        self.assertEqual(result.returncode, EXIT_USAGE)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(result.stderr, run("--help").stdout)
        self.assertIn(b"Usage: zrelay", result.stderr)

    def test_help_fits_80_columns_names_defaults_and_has_examples(self):
        ingress = reference_default("ingress.bind")
        egress = reference_default("egress.bind")
        replay = reference_default("replay.bind")
        metrics = f"http://{reference_default('metrics.listen')}/metrics"
        for command, names in (((), ()),
                               (("send",), ("$ZRELAY_INGRESS", ingress)),
                               (("sub",), ("$ZRELAY_EGRESS", egress, "$ZRELAY_REPLAY", replay)),
                               (("stats",), ("$ZRELAY_METRICS", metrics)),
                               (("bench",), ("$ZRELAY_INGRESS", ingress, "$ZRELAY_EGRESS",
                                             egress))):
            with self.subTest(command=command):
                result = run(*command, "--help")
                self.assertEqual(result.returncode, EXIT_OK, result.stderr)
                text = result.stdout.decode()
                self.assertEqual([line for line in text.splitlines() if len(line) > 80], [])
                # The defaults are zrelayd's own, as config-reference prints them; a name may
                # be broken across lines only at a space, which they have none of.
                flat = " ".join(text.split())
                for name in names:
                    self.assertIn(name, flat)
                if command:
                    examples = text.split("\nExamples:\n", 1)
                    self.assertEqual(len(examples), 2, f"{command} --help has no Examples:")
                    lines = examples[1].splitlines()
                    self.assertGreaterEqual(len(lines), 2, text)
                    self.assertTrue(all(line.startswith("  ") and f"zrelay {command[0]}" in line
                                        for line in lines), lines)

    def test_the_default_metrics_url_is_the_local_relays(self):
        """Only a scrape, so safe whatever runs on this host: either the default URL answers
        or the tool says it cannot reach it, naming it."""
        url = f"http://{reference_default('metrics.listen')}/metrics"
        result = run("stats", "--once", "--interval", "0.01")
        self.assertIn(result.returncode, (EXIT_OK, EXIT_UNAVAILABLE), result.stderr)
        self.assertIn(url.encode(), result.stdout + result.stderr)

    def test_a_bad_environment_value_is_named_as_such(self):
        for args, variable, value in ((("send", "hi"), "ZRELAY_INGRESS", "udp://x"),
                                      (("sub",), "ZRELAY_EGRESS", "tcp://[::1:5556"),
                                      (("sub", "--recover"), "ZRELAY_REPLAY", "ipc://relative"),
                                      (("stats",), "ZRELAY_METRICS", "ftp://x/")):
            with self.subTest(variable=variable):
                port, = free_tcp_ports(1)
                env = environment(ZRELAY_EGRESS=f"tcp://127.0.0.1:{port}")
                env[variable] = value
                result = run(*args, env=env)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(f"${variable}".encode(), result.stderr)
                self.assertIn(value.encode(), result.stderr)

    def test_a_malformed_header_exits_64_naming_it(self):
        port, = free_tcp_ports(1)
        for header, reason in (("novalue", "expected KEY=VALUE with a KEY that is not empty"),
                               ("=value", "expected KEY=VALUE with a KEY that is not empty"),
                               ("", "expected KEY=VALUE with a KEY that is not empty")):
            with self.subTest(header=header):
                result = run("send", "--to", f"tcp://127.0.0.1:{port}", "--timeout", "200",
                             "-H", "good=1", "-H", header, "hi")
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(f"send: --header '{header}': {reason}".encode(), result.stderr)
        result = run("send", "--to", f"tcp://127.0.0.1:{port}", "-H", "k=1", "-H", "k=2", "hi")
        self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
        self.assertIn(b"send: --header 'k=2': KEY 'k' given twice", result.stderr)

    def test_an_unreadable_file_exits_64_naming_it(self):
        port, = free_tcp_ports(1)
        with tempfile.TemporaryDirectory() as directory:
            missing = os.path.join(directory, "missing.bin")
            for path, reason in ((missing, "No such file or directory"),
                                 (directory, "Is a directory")):
                with self.subTest(path=path):
                    result = run("send", "--to", f"tcp://127.0.0.1:{port}", "--file", path)
                    self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                    self.assertIn(f"send: --file {path}: {reason}".encode(), result.stderr)
        result = run("send", "--to", f"tcp://127.0.0.1:{port}", "--file", "/dev/null",
                     "--size", "3")
        self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)

    def test_bench_with_no_relay_exits_69_naming_the_endpoint(self):
        to_port, from_port = free_tcp_ports(2)
        to, from_ = f"tcp://127.0.0.1:{to_port}", f"tcp://127.0.0.1:{from_port}"
        result = run("bench", "--to", to, "--from", from_, "--timeout", "500")
        self.assertEqual(result.returncode, EXIT_UNAVAILABLE, result.stderr)
        self.assertEqual(result.stdout, b"")
        self.assertIn(f"zrelay bench: no relay at {to} (--to): no publisher could hand it a "
                      "message within 500 ms".encode(), result.stderr)

    def test_bench_refuses_what_it_cannot_measure(self):
        port, = free_tcp_ports(1)
        nowhere = f"tcp://127.0.0.1:{port}"
        for args in (("--size", "23"), ("--pub", "0"), ("--count", "0"),
                     ("--topic", "$zrelay/drops"), ("--timeout", "0"), ("--rate", "-1")):
            with self.subTest(args=args):
                result = run("bench", "--to", nowhere, "--from", nowhere, *args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(args[0].encode(), result.stderr)

    def test_output_modes_that_contradict_each_other_are_refused(self):
        port, = free_tcp_ports(1)
        for flags in (("--raw", "--json"), ("--timestamps", "--json"), ("--raw", "--timestamps")):
            with self.subTest(flags=flags):
                result = run("sub", "--from", f"tcp://127.0.0.1:{port}", *flags)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
        for value in ("0", "-1", "nan"):
            with self.subTest(idle_timeout=value):
                result = run("sub", "--from", f"tcp://127.0.0.1:{port}", "--idle-timeout", value)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)

    def test_a_number_that_is_not_finite_or_out_of_bounds_is_named(self):
        # nan passed CLI11's range checks (every comparison with it is false): `send --rate nan`
        # hung, `stats --interval nan` scraped with no pause.
        port, = free_tcp_ports(1)
        cases = [("send", "--to", f"tcp://127.0.0.1:{port}", "--rate", value, "x")
                 for value in ("nan", "inf", "-1")]
        cases += [("bench", "--to", f"tcp://127.0.0.1:{port}", "--from",
                   f"tcp://127.0.0.1:{port}", "--rate", value) for value in ("nan", "-1")]
        cases += [("stats", "--metrics", f"http://127.0.0.1:{port}/metrics", "--once",
                   "--interval", value) for value in ("nan", "inf", "0.001", "1e9")]
        for args in cases:
            with self.subTest(args=args):
                result = run(*args, timeout=WAIT)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                option = "--interval" if args[0] == "stats" else "--rate"
                self.assertIn(f"{option}: ".encode(), result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
