#!/usr/bin/python3
"""The configuration file at its edges, against the real zrelayd: at most 1 MiB and a regular
file, refused at once and in little memory otherwise (exit 78, the reason on stderr), at start,
by --check-config and on reload (SIGHUP), where the relay keeps running on its old configuration
(daemon/config/regular_file.*, config_reader.cpp's load_config_file); every error of a file on a line
of its own; and the shipped config/zrelay.yaml is what `zrelayd config-reference` prints.

Run by CTest (tests/CMakeLists.txt), which sets ZRELAYD and PYTHONPATH (the generated protobuf
modules and tests/, for relay_test's helpers).
"""
import os
import signal
import subprocess
import tempfile
import time
import unittest

from relay_test import (EXIT_CONFIG, EXIT_OK, ZRELAYD, RelayFixture, _die_with_parent, http_get,
                        v1_message, v1_pb2, wait_for)

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config", "zrelay.yaml")
MIB = 1024 * 1024
BIG_BYTES = 50 * MIB
RUN_DEADLINE = 20.0  # seconds before a zrelayd that should have stopped at once is killed


def write_big_yaml(path):
    """A 50 MB YAML file that parses (one long flow sequence), what a wrong --config or a
    generated file gone wrong could be: zrelayd used to load it whole, 2.3 GiB and 19 s."""
    chunk = "0, " * (MIB // 3)
    with open(path, "w", encoding="ascii") as f:
        f.write("padding: [")
        while f.tell() < BIG_BYTES:
            f.write(chunk)
        f.write("0]\n")


def run_zrelayd(*args):
    """Runs zrelayd to its end (killing it after RUN_DEADLINE); returns (exit code or None if
    killed, stdout, stderr, seconds, peak RSS in bytes). The peak is the child's own (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen([ZRELAYD, *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, preexec_fn=_die_with_parent)
        code = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - started > RUN_DEADLINE:
                proc.kill()
                _, _, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.monotonic() - started
        proc.returncode = code if code is not None else -signal.SIGKILL  # reaped above
        out.seek(0)
        err.seek(0)
        return (code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                seconds, usage.ru_maxrss * 1024)


def peak_rss(pid):
    """VmHWM of a running process, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


class ConfigFileTest(RelayFixture):

    def small_file(self):
        path = os.path.join(self.make_temp_dir(), "small.yaml")
        with open(path, "w", encoding="ascii") as f:
            f.write("workers: 1\n")
        return path

    def test_a_50_mb_file_is_refused_at_once_in_little_memory(self):
        """Refused, by --check-config and at start, in 64 MiB more than checking a one-line file
        takes (the same binary, so a sanitizer's own cost cancels): it is never loaded whole."""
        big = os.path.join(self.make_temp_dir(), "big.yaml")
        write_big_yaml(big)
        base_code, _, base_err, base_seconds, base_rss = run_zrelayd(
            "--check-config", "--config", self.small_file())
        self.assertEqual(base_code, EXIT_OK, base_err)
        for args in (("--check-config", "--config", big), ("--config", big)):
            with self.subTest(args=args):
                code, out, err, seconds, rss = run_zrelayd(*args)
                print(f"[ figures ] zrelayd {' '.join(args[:-1])} on a 50 MB file: exit {code} in "
                      f"{seconds * 1000:.0f} ms, peak RSS {rss / MIB:.1f} MiB (a one-line file: "
                      f"{base_seconds * 1000:.0f} ms, {base_rss / MIB:.1f} MiB)", flush=True)
                self.assertEqual(code, EXIT_CONFIG, err)
                self.assertEqual(out, "")
                self.assertIn(f"cannot read configuration file '{big}': {os.path.getsize(big)} "
                              "bytes, more than the 1 MiB (1048576 bytes) limit", err)
                self.assertLess(rss - base_rss, 64 * MIB)

    def test_only_regular_files_are_read(self):
        """/dev/zero (endless), a FIFO with no writer (a read would wait for ever) and a
        directory: refused at once with exit 78, the reason on stderr, nothing on stdout."""
        directory = self.make_temp_dir()
        fifo = os.path.join(directory, "zrelay.fifo")
        os.mkfifo(fifo)
        only_regular = "not a regular file (only regular files are read)"
        for path, reason in (("/dev/zero", f"a character device, {only_regular}"),
                             (fifo, f"a FIFO, {only_regular}"),
                             (directory, "Is a directory")):
            for args in (("--check-config", "--config", path), ("--config", path)):
                with self.subTest(args=args):
                    code, out, err, seconds, _ = run_zrelayd(*args)
                    self.assertEqual(code, EXIT_CONFIG, f"after {seconds:.1f} s: {err}")
                    self.assertEqual(out, "")
                    self.assertEqual(err, "zrelayd: configuration error: cannot read "
                                          f"configuration file '{path}': {reason}\n")

    def test_sighup_refuses_what_start_refuses_and_the_relay_runs_on(self):
        """A reload of a 50 MB file, a FIFO, /dev/zero and a directory: each is rejected with
        the reason logged, in little memory, and the relay relays on its old configuration."""
        daemon = self.start(self.config(log={"level": "info"}))
        sub, push = self.sub([b"r"]), self.push()
        self.await_subscriptions(1)
        directory = self.make_temp_dir()
        big = os.path.join(directory, "big.yaml")
        write_big_yaml(big)
        fifo = os.path.join(directory, "zrelay.fifo")
        os.mkfifo(fifo)
        zero = os.path.join(directory, "zero")
        os.symlink("/dev/zero", zero)
        big_bytes = os.path.getsize(big)
        rss_before = peak_rss(daemon.proc.pid)

        def rejections():
            return [line for line in daemon.stderr_text().splitlines()
                    if "reload rejected" in line]
        for i, (replacement, reason) in enumerate((
                (big, f"{big_bytes} bytes, more than the 1 MiB (1048576 bytes) limit"),
                (fifo, "a FIFO, not a regular file"),
                (zero, "a character device, not a regular file"),
                (None, "Is a directory"))):
            with self.subTest(reason=reason):
                if replacement is None:
                    os.remove(daemon.config_path)
                    os.mkdir(daemon.config_path)
                else:
                    os.replace(replacement, daemon.config_path)
                daemon.signal(signal.SIGHUP)
                self.assertTrue(wait_for(lambda: len(rejections()) > i, 10),
                                f"no rejection logged:\n{daemon.stderr_text()}")
                self.assertIn(f"cannot read configuration file '{daemon.config_path}': {reason}",
                              rejections()[-1])
                push.send(v1_message(topic="r", timestamp=i))
                _, body = self.receive_relayed(sub)
                self.assertEqual(v1_pb2.DataMessage.FromString(body).timestamp, i)
        self.assertEqual(http_get(self.metrics_port, "/healthz")[0], 200)
        rss_after = peak_rss(daemon.proc.pid)
        print(f"[ figures ] relay peak RSS {rss_before / MIB:.1f} MiB before the reloads, "
              f"{rss_after / MIB:.1f} MiB after", flush=True)
        self.assertLess(rss_after - rss_before, 64 * MIB)
        # Still the old configuration: info lines are still written, as text.
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(10), EXIT_OK)
        self.assertRegex(daemon.stderr_text(), r"info \[\d+\] SIGTERM received: draining")

    def test_the_shipped_example_is_the_reference(self):
        """config/zrelay.yaml is exactly what `zrelayd config-reference` prints (regenerate it
        with `zrelayd config-reference > config/zrelay.yaml`), and zrelayd accepts it."""
        result = subprocess.run([ZRELAYD, "config-reference"], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=10, check=False)
        self.assertEqual((result.returncode, result.stderr), (EXIT_OK, ""))
        with open(EXAMPLE, encoding="utf-8") as f:
            self.assertEqual(f.read(), result.stdout,
                             "config/zrelay.yaml differs from `zrelayd config-reference`")
        check = self.check_config(result.stdout)
        self.assertEqual(check.returncode, EXIT_OK, check.stderr)

    THREE_ERRORS = "ingress:\n  rcvhwm: lots\negress:\n  sndhmw: 10\nlog: {level: loud}\n"
    THREE_ERRORS_SAY = [
        ":2:11: ingress.rcvhwm: expected an integer in [0, 2147483647], got \"lots\"",
        ":4:3: egress.sndhmw: unknown key; did you mean 'sndhwm'?",
        ":5:14: log.level: expected one of trace, debug, info, warn, error, critical, off, got "
        "\"loud\""]

    def test_every_error_is_printed_on_a_line_of_its_own(self):
        """--check-config exits 78 with one line per error, each a whole message."""
        result = self.check_config(self.THREE_ERRORS)
        self.assertEqual(result.returncode, EXIT_CONFIG, result.stderr)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 3, result.stderr)
        for line, says in zip(lines, self.THREE_ERRORS_SAY):
            self.assertRegex(line, r"^zrelayd: configuration error: /\S+/zrelay\.yaml")
            self.assertTrue(line.endswith(says), f"{line!r} does not end with {says!r}")

    def test_a_rejected_reload_logs_every_error(self):
        """SIGHUP with a three-error file: three "reload rejected" lines, one per error, and the
        relay relays on."""
        daemon = self.start(self.config())
        sub, push = self.sub([b"r"]), self.push()
        self.await_subscriptions(1)
        with open(daemon.config_path, "w", encoding="utf-8") as f:
            f.write(self.THREE_ERRORS)
        daemon.signal(signal.SIGHUP)

        def rejections():
            return [line for line in daemon.stderr_text().splitlines()
                    if "reload rejected, running configuration unchanged: " in line]
        self.assertTrue(wait_for(lambda: len(rejections()) >= 3, 10), daemon.stderr_text())
        for line, says in zip(rejections(), self.THREE_ERRORS_SAY):
            self.assertTrue(line.endswith(daemon.config_path + says), line)
        push.send(v1_message(topic="r", timestamp=1))
        _, body = self.receive_relayed(sub)
        self.assertEqual(v1_pb2.DataMessage.FromString(body).timestamp, 1)


if __name__ == "__main__":
    unittest.main()
