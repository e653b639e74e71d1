#!/usr/bin/python3
"""Measures what endless continuation frames cost: RSS of zrelayd, and of a bare libzmq PULL
socket (pyzmq, same libzmq) for comparison, while a raw ZMTP client sends GIB gibibytes of
MORE-flagged frames. Each time the relay drops the connection the client reconnects and goes
on, so the relay is under attack for the whole volume. Prints figures; asserts nothing.

    cmake --workflow --preset release && tools/multiframe_rss.py [--gib 1] [--frame 65536]
    tools/multiframe_rss.py --gib 0.0625 --frame 0   # empty frames: ~64 bytes each in libzmq
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from zmtp_client import rss_bytes, zmtp_null_push  # noqa: E402  (the tests' own client)


def attack(port, total, frame):
    """Sends `total` bytes of `frame`s, reconnecting whenever dropped; returns (connections,
    drops, seconds)."""
    sent, connections, drops = 0, 0, 0
    started = time.monotonic()
    while sent < total:
        try:
            sock = zmtp_null_push(port)
        except (ConnectionError, OSError):
            time.sleep(0.01)
            continue
        connections += 1
        try:
            while sent < total:
                sock.sendall(frame)
                sent += len(frame)  # `frame` is many frames when they are small
        except (ConnectionResetError, BrokenPipeError):
            drops += 1
        finally:
            sock.close()
    return connections, drops, time.monotonic() - started


class Peak:
    """Samples a process's RSS every 20 ms in the background; .peak after stop()."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--frame", type=int, default=65536, help="frame body bytes")
    parser.add_argument("--zrelayd", default=os.path.join(HERE, "..", "build", "release",
                                                          "daemon", "zrelayd"))
    args = parser.parse_args()
    total = int(args.gib * (1 << 30))
    body = b"\xab" * args.frame
    frame = (b"\x03" + len(body).to_bytes(8, "big") if len(body) > 255
             else b"\x01" + bytes([len(body)])) + body
    frame *= max(1, 65536 // len(frame))  # one sendall per ~64 KiB, whatever the frame size

    # zrelayd, defaults but for the ports.
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        in_port, out_port = a.getsockname()[1], b.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "zrelay.yaml")
        with open(config, "w", encoding="ascii") as f:
            f.write(f"ingress: {{bind: tcp://127.0.0.1:{in_port}}}\n"
                    f"egress: {{bind: tcp://127.0.0.1:{out_port}}}\nmetrics: {{listen: \"\"}}\n")
        relay = subprocess.Popen([args.zrelayd, "--config", config], stderr=subprocess.PIPE,
                                 text=True)
        try:
            time.sleep(0.5)
            before = rss_bytes(relay.pid)
            peak = Peak(relay.pid)
            connections, drops, took = attack(in_port, total, frame)
            top = peak.stop()
            after = rss_bytes(relay.pid)
        finally:
            relay.terminate()
            relay.wait(10)
    print(f"zrelayd: {args.gib} GiB of {args.frame}-byte MORE frames over {connections} "
          f"connections, {drops} dropped, in {took:.1f} s; RSS before {mib(before)}, peak "
          f"{mib(top)}, after {mib(after)}")

    # A bare PULL socket in a child process, same libzmq, no guard.
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import zmq, sys, time\n"
         "ctx = zmq.Context(); s = ctx.socket(zmq.PULL)\n"
         "print(s.bind_to_random_port('tcp://127.0.0.1'), flush=True)\n"
         "time.sleep(3600)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        before = rss_bytes(child.pid)
        peak = Peak(child.pid)
        connections, drops, took = attack(port, total, frame)
        time.sleep(0.5)  # let the io thread take in what the kernel buffered
        top = peak.stop()
    finally:
        child.kill()
        child.wait()
    print(f"bare libzmq PULL: {args.gib} GiB over {connections} connections, {drops} dropped, "
          f"in {took:.1f} s; RSS before {mib(before)}, peak {mib(top)}")


if __name__ == "__main__":
    main()
