#!/usr/bin/python3
"""The metrics server (daemon/ops/metrics_server.*) against a hostile network, over real sockets.

Each test starts the real zrelayd with a metrics listen port and attacks it the way issue 15 did:
idle and slowloris connections while a probe asks /healthz, an endless stream of header lines,
a Range header asking for the body thousands of times; plus what the server answers to requests
it does not serve, and what /metrics says beyond the relay's counters (issue 19): the process_*
series of the Prometheus client libraries, zrelay_build_info, the renamed byte counters and the
pipeline gauges only where there is a pipeline. Run by CTest like relay_test.py (ZRELAYD,
PYTHONPATH).
"""
import os
import re
import select
import socket
import subprocess
import threading
import time
import unittest

from relay_test import (ZRELAYD, RelayFixture, free_tcp_ports, receive, scrape, v1_message,
                        wait_for)
from zmtp_client import rss_bytes

MIB = 1024 * 1024
PROBE_LIMIT = 1.0  # seconds /healthz may take under attack (issue 15: "answers within 1 s")


def http(port, request, host="127.0.0.1", timeout=5.0):
    """Sends `request` (bytes, a whole HTTP/1.1 request that asks the server to close) and reads
    until the server closes. Returns (status, {lower-case header: value}, body bytes, seconds),
    or None if no complete status line came before `timeout`."""
    started = time.monotonic()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    data = b""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect((host, port))
            s.sendall(request)
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        pass  # a reset after the answer still leaves the answer; no answer is None below
    elapsed = time.monotonic() - started
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body, elapsed


def request(method, path, *extra_headers):
    """A request asking the server to close the connection after its answer."""
    lines = [f"{method} {path} HTTP/1.1", "Host: test", "Connection: close", *extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Attack:
    """`idle` connections that send nothing and `slow` ones that send a request one header byte
    every `interval` seconds (slowloris), held open from a thread until stop(). A connection the
    server closes is opened again at once, so the server never has fewer attackers than that."""

    SLOWLORIS = b"GET /metrics HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 1_000_000

    def __init__(self, port, idle=100, slow=100, interval=0.3):
        self.port = port
        self.interval = interval
        self.reopened = 0
        self._idle = [self._open() for _ in range(idle)]
        self._slow = [[self._open(), 0] for _ in range(slow)]  # socket, bytes sent
        self.connected = self._await_connected(10.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))  # a refusal shows as closed below, then retried
        return s

    def _await_connected(self, timeout):
        """How many of the first connections are established (writable) within `timeout`: the
        attack is in place before the probes start, not still knocking."""
        pending = {s.fileno(): s for s in self._idle + [s for s, _ in self._slow]}
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLOUT)
        deadline = time.monotonic() + timeout
        connected = 0
        while pending and time.monotonic() < deadline:
            for fd, events in poller.poll(100):
                poller.unregister(fd)
                s = pending.pop(fd)
                connected += events == select.POLLOUT and s.getsockopt(
                    socket.SOL_SOCKET, socket.SO_ERROR) == 0
        return connected

    @staticmethod
    def _closed(s):
        """Whether the server closed `s` or answered on it (and so is about to)."""
        try:
            s.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError:
            pass
        return True

    def _reopen(self, s):
        s.close()
        self.reopened += 1
        return self._open()

    def _run(self):
        while not self._stop.wait(self.interval):
            for i, s in enumerate(self._idle):
                if self._closed(s):
                    self._idle[i] = self._reopen(s)
            for entry in self._slow:
                s, sent = entry
                try:
                    sent += s.send(self.SLOWLORIS[sent:sent + 1])
                except BlockingIOError:
                    pass
                except OSError:
                    sent = -1
                if sent < 0 or self._closed(s):
                    entry[:] = [self._reopen(s), 0]
                else:
                    entry[1] = sent

    def stop(self):
        self._stop.set()
        self._thread.join()
        for s in self._idle + [s for s, _ in self._slow]:
            s.close()


class MetricsServerTest(RelayFixture):

    def setUp(self):
        super().setUp()
        self.daemon = self.start(self.config())

    def get(self, path, *extra_headers, timeout=5.0):
        return http(self.metrics_port, request("GET", path, *extra_headers), timeout=timeout)

    def assert_answers(self, path, status=200):
        answer = self.get(path)
        self.assertIsNotNone(answer, f"{path} did not answer")
        self.assertEqual(answer[0], status, answer)
        return answer

    # --- what it serves and what not -------------------------------------------------------

    def test_serves_get_and_head_on_its_two_paths_only(self):
        metrics = self.assert_answers("/metrics")
        self.assertTrue(metrics[1]["content-type"].startswith("text/plain; version=0.0.4"),
                        metrics[1])
        self.assertIn(b"zrelay_messages_received_total 0\n", metrics[2])
        self.assertEqual(self.assert_answers("/healthz")[2], b"ok\n")

        head = http(self.metrics_port, request("HEAD", "/healthz"))
        self.assertEqual(head[0], 200, head)
        self.assertEqual(head[2], b"", "HEAD answered with a body")
        self.assertEqual(head[1].get("content-length"), "3", head[1])

        for path in ("/", "/nope", "/metrics/x", "/healthzz"):
            with self.subTest(path=path):
                self.assert_answers(path, 404)
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE", "BREW"):
            with self.subTest(method=method):
                answer = http(self.metrics_port,
                              request(method, "/metrics", "Content-Length: 0"))
                self.assertIsNotNone(answer, method)
                self.assertEqual(answer[0], 405, answer)
                self.assertEqual(answer[1].get("allow"), "GET, HEAD", answer[1])

    def test_refuses_a_request_body_without_reading_it(self):
        """A body announced with any request is refused at once (413) and the connection
        closed: nothing waits for, or holds, 100 MB that never comes."""
        for method in ("GET", "POST"):
            with self.subTest(method=method):
                answer = http(self.metrics_port,
                              request(method, "/healthz", "Content-Length: 100000000"),
                              timeout=5.0)
                self.assertIsNotNone(answer, "no answer within 5 s")
                self.assertIn(answer[0], (405, 413) if method == "POST" else (413,), answer)
        chunked = http(self.metrics_port,
                       request("GET", "/healthz", "Transfer-Encoding: chunked"), timeout=5.0)
        self.assertIsNotNone(chunked, "no answer within 5 s")
        self.assertEqual(chunked[0], 413, chunked)

    def test_refuses_too_many_headers(self):
        answer = self.get("/healthz", *(f"X-H{i}: v" for i in range(100)))
        self.assertIsNotNone(answer, "no answer")
        self.assertEqual(answer[0], 431, answer)
        self.assert_answers("/healthz")

    def test_ignores_range_so_nothing_is_amplified(self):
        """An 8 KB Range header of overlapping whole-body ranges once made the server return
        the body 906 times over (7.4 MB): the answer must be the plain body, once."""
        plain = self.assert_answers("/metrics")[2]
        ranges = "bytes=" + ",".join(["0-"] * 2660)
        self.assertGreater(len(ranges), 7900)
        answer = self.get("/metrics", f"Range: {ranges}", timeout=10.0)
        self.assertIsNotNone(answer, "no answer")
        status, headers, body, _ = answer
        self.assertEqual(status, 200, headers)
        self.assertNotIn("multipart", headers.get("content-type", ""), headers)
        self.assertNotIn("content-range", headers)
        self.assertLessEqual(len(body), max(len(plain), len(self.assert_answers("/metrics")[2])),
                             f"a Range request got {len(body)} bytes for a {len(plain)}-byte body")

    def test_listens_on_ipv6(self):
        (port,) = free_tcp_ports(1)
        self.daemon.stop()  # frees the ingress and egress ports for the next one
        self.start(self.config(metrics={"listen": f"[::1]:{port}"}))
        answer = http(port, request("GET", "/healthz"), host="::1")
        self.assertIsNotNone(answer, "no answer on [::1]")
        self.assertEqual(answer[0], 200, answer)

    # --- what /metrics says ---------------------------------------------------------------

    def scrape_until(self, condition, what, timeout=30.0):
        """Scrapes until condition(samples) holds; returns those samples (fails if never)."""
        found = wait_for(lambda: (lambda s: s if s and condition(s) else None)(
            scrape(self.metrics_port)), timeout)
        self.assertTrue(found, f"{what}: not within {timeout:.0f} s; last scrape: "
                               f"{sorted(scrape(self.metrics_port).items())}")
        return found

    def relay_messages(self, count, sub, push, size=200):
        """Pushes `count` messages through the relay to `sub` (subscribed to everything) and
        waits until the relay has published them all; returns the bytes pushed."""
        start = scrape(self.metrics_port).get("zrelay_messages_published_total", 0)
        pushed = 0
        for i in range(count):
            message = v1_message(topic="m", content=f"{i:0{size}d}")
            push.send(message)
            pushed += len(message)
        for i in range(count):
            self.assertIsNotNone(receive(sub), f"message {i} of {count} never arrived")
        self.scrape_until(
            lambda s: s.get("zrelay_messages_published_total", 0) >= start + count,
            f"{count} messages published")
        return pushed

    def test_process_metrics_describe_the_relay_process(self):
        """The process_* series the Prometheus client libraries export, about zrelayd itself:
        compared with what /proc says of its pid."""
        pid = self.daemon.proc.pid
        spawned_at = time.time() - (time.monotonic() - self.daemon.started)
        samples = scrape(self.metrics_port)
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                     "process_start_time_seconds", "process_threads"):
            self.assertIn(name, samples)
        # Started when the test spawned it: not before (a second of btime rounding and a clock
        # tick allowed), not in the future.
        start = samples["process_start_time_seconds"]
        self.assertGreaterEqual(start, spawned_at - 2.0)
        self.assertLessEqual(start, time.time() + 1.0)
        self.assertGreater(samples["process_resident_memory_bytes"], 0)
        rss = rss_bytes(pid)
        self.assertLess(abs(samples["process_resident_memory_bytes"] - rss), rss / 2,
                        f"RSS {samples['process_resident_memory_bytes']:.0f} against /proc's {rss}")
        self.assertGreaterEqual(samples["process_virtual_memory_bytes"],
                                samples["process_resident_memory_bytes"])
        self.assertGreater(samples["process_open_fds"], 0)
        self.assertLessEqual(samples["process_open_fds"], samples["process_max_fds"])
        with open(f"/proc/{pid}/limits", encoding="ascii") as f:
            soft = next(line.split()[3] for line in f if line.startswith("Max open files"))
        self.assertEqual(samples["process_max_fds"], float(soft))
        self.assertEqual(samples["process_threads"], len(os.listdir(f"/proc/{pid}/task")))

    def test_process_cpu_seconds_grow_while_the_relay_works(self):
        sub, push = self.sub(), self.push()
        self.await_subscriptions(1)
        before = scrape(self.metrics_port)["process_cpu_seconds_total"]
        # Batches until the kernel has charged the relay another clock tick, however idle the
        # machine lets it be: polled, with a deadline, not timed.
        grown = wait_for(lambda: self.relay_messages(500, sub, push) and scrape(
            self.metrics_port)["process_cpu_seconds_total"] > before, 120.0, interval=0)
        self.assertTrue(grown, f"process_cpu_seconds_total stayed at {before}")

    def test_build_info_names_the_version_zrelayd_prints(self):
        printed = subprocess.run([ZRELAYD, "--version"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.split()
        self.assertEqual(printed[0], "zrelayd", printed)
        info = [(name, value) for name, value in scrape(self.metrics_port).items()
                if name.startswith("zrelay_build_info")]
        self.assertEqual(len(info), 1, info)
        name, value = info[0]
        self.assertEqual(value, 1)
        match = re.fullmatch(r'zrelay_build_info\{version="([^"]*)",commit="([^"]*)"\}', name)
        self.assertIsNotNone(match, name)
        self.assertEqual(match[1], printed[1])
        # git describe --always --dirty (a tag, a hash or both, maybe -dirty), or "unknown".
        self.assertRegex(match[2], r"^[\w.+-]+$")

    def test_byte_counters_under_their_new_and_old_names(self):
        """zrelay_received_bytes_total and zrelay_published_bytes_total, and for one release
        their old names (zrelay_bytes_*_total), deprecated in their help, with the same values."""
        sub, push = self.sub(), self.push()
        self.await_subscriptions(1)
        pushed = self.relay_messages(50, sub, push)
        samples = scrape(self.metrics_port)
        self.assertEqual(samples["zrelay_received_bytes_total"], pushed)
        self.assertEqual(samples["zrelay_bytes_received_total"], pushed)
        self.assertGreater(samples["zrelay_published_bytes_total"], pushed)  # stamped
        self.assertEqual(samples["zrelay_bytes_published_total"],
                         samples["zrelay_published_bytes_total"])
        body = self.assert_answers("/metrics")[2].decode()
        for old, new in (("zrelay_bytes_received_total", "zrelay_received_bytes_total"),
                         ("zrelay_bytes_published_total", "zrelay_published_bytes_total")):
            self.assertIn(f"# HELP {old} Deprecated: use {new}; removed in the next release.\n",
                          body)
            self.assertIn(f"# TYPE {new} counter\n", body)

    def test_inflight_gauges_only_with_a_pipeline(self):
        """The credits bound what the pipeline (workers > 0) holds; the direct path (workers: 0)
        has none, so it exports neither gauge rather than a constant 0."""
        for workers in (0, 2):
            with self.subTest(workers=workers):
                self.daemon.stop()
                self.daemon = self.start(self.config(workers=workers,
                                                     pipeline={"max_inflight": 777}))
                samples = scrape(self.metrics_port)
                self.assertIn("zrelay_messages_received_total", samples)
                if workers == 0:
                    self.assertNotIn("zrelay_inflight", samples)
                    self.assertNotIn("zrelay_inflight_max", samples)
                else:
                    self.assertEqual(samples["zrelay_inflight_max"], 777)
                    self.assertEqual(samples["zrelay_inflight"], 0)

    # --- attacks ----------------------------------------------------------------------------

    def test_healthz_answers_within_1s_under_idle_and_slowloris_connections(self):
        """100 idle and 100 slowloris connections once starved every /healthz and /metrics for
        as long as they stayed: a liveness probe would have restarted a healthy relay."""
        attack = Attack(self.metrics_port)
        try:
            self.assertEqual(attack.connected, 200,
                             f"only {attack.connected} of 200 attacking connections got in")
            latencies = []
            deadline = time.monotonic() + 6.0
            while time.monotonic() < deadline:
                for path in ("/healthz", "/metrics"):
                    answer = self.get(path, timeout=PROBE_LIMIT + 2.0)
                    self.assertIsNotNone(answer, f"{path} unanswered under attack, after "
                                                 f"{len(latencies)} answers: {latencies}")
                    self.assertEqual(answer[0], 200, answer[:2])
                    latencies.append(round(answer[3], 3))
                time.sleep(0.25)
            self.assertLess(max(latencies), PROBE_LIMIT, latencies)
        finally:
            attack.stop()
        print(f"\n  under 200 attacking sockets ({attack.reopened} reopened): {len(latencies)} "
              f"answers, slowest {max(latencies) * 1000:.1f} ms")

    def test_cuts_a_request_that_trickles_in(self):
        """A request sent a byte at a time never goes idle, so only a deadline on the whole
        request frees its connection (the idle timeout alone would keep it forever)."""
        s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=2.0)
        started = time.monotonic()
        trickle = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 1000
        cut = False
        with s:
            for byte in trickle:
                readable, _, _ = select.select([s], [], [], 0.2)
                if readable:
                    cut = True
                    break
                try:
                    s.send(bytes([byte]))
                except OSError:
                    cut = True
                    break
                if time.monotonic() - started > 15.0:
                    break
        self.assertTrue(cut, "a trickling request was still open after 15 s")
        print(f"\n  a trickling request was cut after {time.monotonic() - started:.1f} s")

    def test_memory_stays_bounded_under_an_endless_stream_of_headers(self):
        """200 MiB of header lines once took the relay's RSS from 14.6 to 314.5 MiB, never
        given back. The stream goes as fast as the server takes it, until it closes the
        connection or all went out; RSS may grow by less than 16 MiB."""
        pid = self.daemon.proc.pid
        self.assert_answers("/metrics")
        base = rss_bytes(pid)
        peak = base
        line = b"X-Filler: " + b"a" * 90 + b"\r\n"
        chunk = line * 640  # 64 KiB
        sent = chunks = 0
        s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=10.0)
        with s:
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: test\r\n")
                while sent < 200 * MIB:
                    s.sendall(chunk)
                    sent += len(chunk)
                    chunks += 1
                    if chunks % 16 == 0:  # about every MiB
                        peak = max(peak, rss_bytes(pid))
                        if peak - base >= 16 * MIB:
                            break  # already failed; no need to push the relay further
            except OSError:
                pass  # the server closed the connection (or stopped reading for 10 s)
        peak = max(peak, rss_bytes(pid))
        print(f"\n  {sent / MIB:.1f} MiB of headers taken; RSS {base / MIB:.1f} -> peak "
              f"{peak / MIB:.1f} MiB")
        self.assertLess(peak - base, 16 * MIB,
                        f"RSS grew from {base / MIB:.1f} to {peak / MIB:.1f} MiB after "
                        f"{sent / MIB:.1f} MiB of headers")
        self.assertTrue(wait_for(lambda: self.get("/healthz", timeout=2.0), 10),
                        "/healthz unanswered after the stream")
        self.assert_answers("/healthz")


if __name__ == "__main__":
    unittest.main(verbosity=2)
