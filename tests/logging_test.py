#!/usr/bin/python3
"""zrelayd's log as journald and log collectors read it, from the real binary over real sockets.

daemon/ops/logging.* (journald detected from JOURNAL_STREAM) and log_format.* (text or JSON,
fields, the config's level names), and the exact account of dropped messages that
common/log_tally.hpp keeps through relay/invalid_log.*: the counts in the log add up to the
metrics, per reason. Run by CTest like relay_test.py (ZRELAYD, PYTHONPATH).
"""
import json
import re
import signal
import time
import unittest

from relay_test import (EXIT_DEADLINE, EXIT_OK, TEST_WORKERS, RelayFixture, invalid_metric,
                        scrape, wait_for)

MALFORMED = b"\xff" * 12          # not a DataMessage
BAD_UTF8 = b"\x0a\x02\xff\xfe"     # a DataMessage whose content is not UTF-8
LEVELS = {"trace", "debug", "info", "warn", "error", "critical"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
DROP_LINE = re.compile(r"dropped invalid messages reason=(\w+) count=(\d+) bytes=(\d+)")


def text_drops(log):
    """{reason: [count, bytes]} summed over a text log's drop lines."""
    sums = {}
    for reason, count, size in DROP_LINE.findall(log):
        entry = sums.setdefault(reason, [0, 0])
        entry[0] += int(count)
        entry[1] += int(size)
    return sums


class LoggingTest(RelayFixture):

    def counted(self, reason):
        return scrape(self.metrics_port).get(invalid_metric(reason), 0)

    def send_bad(self, malformed, bad_utf8):
        """Sends `malformed` garbage frames with `bad_utf8` bad-UTF-8 messages spread among them."""
        push = self.push()
        every = max(1, malformed // max(1, bad_utf8))
        sent_utf8 = 0
        for i in range(malformed):
            push.send(MALFORMED)
            if i % every == 0 and sent_utf8 < bad_utf8:
                push.send(BAD_UTF8)
                sent_utf8 += 1
        for _ in range(bad_utf8 - sent_utf8):
            push.send(BAD_UTF8)

    def stop(self, daemon):
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(EXIT_DEADLINE), EXIT_OK, daemon.stderr_text()[-3000:])

    def test_drop_lines_in_json_add_up_to_the_metrics_per_reason(self):
        """20,000 malformed and 300 bad-UTF-8 frames: the JSON drop lines' counts and bytes sum
        to exactly what the metrics count, per reason, at a line a second per reason at most."""
        daemon = self.start(self.config(log={"format": "json"}))
        started = time.monotonic()
        self.send_bad(20_000, 300)
        self.assertTrue(wait_for(lambda: self.counted("malformed") == 20_000
                                 and self.counted("bad_utf8") == 300, 60),
                        scrape(self.metrics_port))
        metrics = {reason: self.counted(reason) for reason in ("malformed", "bad_utf8")}
        self.stop(daemon)
        elapsed = time.monotonic() - started

        events = []
        for line in daemon.stderr_text().splitlines():
            event = json.loads(line)  # every line is one JSON object
            self.assertEqual(set(event) & {"time", "level", "thread", "msg"},
                             {"time", "level", "thread", "msg"}, line)
            self.assertIn(event["level"], LEVELS, line)
            self.assertIsInstance(event["thread"], int, line)
            events.append(event)
        drops = [e for e in events if e["msg"] == "dropped invalid messages"]
        logged = {}
        for e in drops:
            self.assertEqual(e["level"], "warn")
            self.assertIsInstance(e["count"], int)  # a number, not text
            entry = logged.setdefault(e["reason"], [0, 0, 0])
            entry[0] += e["count"]
            entry[1] += e["bytes"]
            entry[2] += 1
        print(f"[ figures ] 20,300 bad frames in {elapsed:.1f} s: "
              f"{ {r: n[2] for r, n in logged.items()} } drop lines", flush=True)
        self.assertEqual({r: n[0] for r, n in logged.items()}, metrics)
        self.assertEqual(logged["malformed"][1], 20_000 * len(MALFORMED))
        self.assertEqual(logged["bad_utf8"][1], 300 * len(BAD_UTF8))
        # Each thread that refuses writes a line per reason per second at most, plus its last.
        threads = 1 + TEST_WORKERS
        for reason, (_, _, lines) in logged.items():
            self.assertLessEqual(lines, threads * (elapsed + 2), f"{reason}: {lines} lines")
        # The totals line carries numbers too.
        drained = [e for e in events if e["msg"] == "drained"]
        self.assertEqual(len(drained), 1, events[-3:])
        self.assertEqual(drained[0]["invalid"], 20_300)

    def test_a_bursts_tail_is_logged_while_the_relay_runs(self):
        """What the limit held back is told once the burst is over, not at the next bad frame
        or at shutdown: the text log's counts reach the metric while the relay idles."""
        daemon = self.start(self.config())
        self.send_bad(2_000, 0)
        self.assertTrue(wait_for(lambda: self.counted("malformed") == 2_000, 30))
        self.assertTrue(wait_for(
            lambda: text_drops(daemon.stderr_text()).get("malformed", [0])[0] == 2_000, 10),
            daemon.stderr_text()[-2000:])
        self.assertEqual(text_drops(daemon.stderr_text())["malformed"][1], 2_000 * len(MALFORMED))
        self.assertIsNone(daemon.proc.poll())

    def test_under_journald_lines_carry_priorities_and_no_timestamp(self):
        daemon = self.start(self.config(), journal=True)
        self.push().send(MALFORMED)
        self.assertTrue(wait_for(lambda: "<4>warn" in daemon.stderr_text(), 10),
                        daemon.stderr_text())
        self.stop(daemon)
        lines = daemon.stderr_text().splitlines()
        for line in lines:
            self.assertRegex(line, r"^<[2-7]>(debug|info|warn|error|critical) \[\d+\] ")
            self.assertNotRegex(line, TIMESTAMP)
        self.assertTrue(any(re.match(r"<6>info \[\d+\] zrelayd \S+ ready: ", l) for l in lines),
                        lines)
        self.assertIn("dropped invalid messages reason=malformed count=1 bytes=12",
                      "\n".join(l for l in lines if l.startswith("<4>warn")))

    def test_json_under_journald_has_the_prefix_and_no_time(self):
        daemon = self.start(self.config(log={"format": "json"}), journal=True)
        self.push().send(BAD_UTF8)
        self.assertTrue(wait_for(lambda: "bad_utf8" in daemon.stderr_text(), 10))
        self.stop(daemon)
        for line in daemon.stderr_text().splitlines():
            prefix = re.match(r"^<([2-7])>", line)
            self.assertIsNotNone(prefix, line)
            event = json.loads(line[prefix.end():])
            self.assertNotIn("time", event)
            expected = {"debug": "7", "info": "6", "warn": "4", "error": "3", "critical": "2"}
            self.assertEqual(prefix.group(1), expected[event["level"]], line)

    def test_a_journal_stream_inherited_but_not_ours_is_ignored(self):
        """JOURNAL_STREAM names journald's stream; a process whose stderr was redirected (as
        here, to a file) still inherits it and must keep its timestamps."""
        daemon = self.start(self.config(), env={"JOURNAL_STREAM": "1:1"})
        first = daemon.stderr_text().splitlines()[0]
        self.assertRegex(first, r"^" + TIMESTAMP.pattern + r"\S* info \[\d+\] ")


if __name__ == "__main__":
    unittest.main()
