"""The client examples (examples/) against the real zrelayd, one test per language.

Each test starts the example subscriber on a topic of its own and waits for its "ready" line,
printed once its subscription is in effect at the relay: the slow-joiner handling under test (the
subscription goes through a proxy that delays it, so that saying "ready" too early is caught).
Then it sends a message at once and runs the example producer, and checks that the subscriber
prints both as "TOPIC: CONTENT" and that the producer sent a DataMessage whose timestamp is
nanoseconds since the Unix epoch (read by the test's own subscriber). A language whose toolchain
is missing here is skipped, naming what is missing; nothing passes without having run.

Run once by CTest (tests/CMakeLists.txt), which sets, besides ZRELAYD and PYTHONPATH (as for
relay_test.py; the Python examples import the generated zrelay/v1/data_message_pb2 from it):
    ZRELAY_EXAMPLES_BIN     the build tree's examples/ (cpp/producer, cpp/subscriber; node/ is
                            where `npm ci` installs the Node.js example's packages)
    ZRELAY_EXAMPLES_C_DIR   the C examples' directory, empty when protobuf-c was not found
"""

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest
import uuid

from relay_test import RelayFixture, _die_with_parent, receive, v1_pb2

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
EXAMPLES_BIN = os.environ.get("ZRELAY_EXAMPLES_BIN", "")
EXAMPLES_C_DIR = os.environ.get("ZRELAY_EXAMPLES_C_DIR", "")

READY_DEADLINE = 60.0    # seconds for a subscriber to say ready (node starts slowly on a busy box)
MESSAGE_DEADLINE = 30.0  # seconds for the produced message to be printed
NPM_DEADLINE = 300.0     # seconds for `npm ci` (a download on a slow network)
# npm's words for a registry it cannot reach: only then is the Node.js example skipped.
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT",
                  "ENETUNREACH", "EHOSTUNREACH", "network")


class SlowUpstream:
    """A TCP proxy to `target` (host, port) that holds each chunk a client sends for `delay`
    seconds before passing it on (what comes back passes at once). A subscriber behind it has its
    subscription reach the relay long after its connect() returned, so one that said "ready"
    before its subscription was in effect misses what is sent next, every time rather than now
    and then."""

    def __init__(self, target, delay=0.5):
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            self.connections += [client, upstream]
            threading.Thread(target=self.pump, args=(client, upstream, self.delay),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, 0), daemon=True).start()

    @staticmethod
    def pump(source, sink, delay):
        try:
            while chunk := source.recv(65536):
                time.sleep(delay)  # the point of the proxy, not a wait for a condition
                sink.sendall(chunk)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.listener.close()
        for s in self.connections:
            s.close()


class ExamplesTest(RelayFixture):
    """Each language's producer and subscriber against one real relay."""

    def setUp(self):
        super().setUp()
        self.start(self.config())
        proxy = SlowUpstream(("127.0.0.1", self.out_port))
        self.addCleanup(proxy.close)
        self.env = {**os.environ, "ZRELAY_INGRESS": self.in_endpoint,
                    "ZRELAY_EGRESS": f"tcp://127.0.0.1:{proxy.port}"}

    def spawn_subscriber(self, command, topic):
        """Starts an example subscriber on `topic`; returns (process, queue of its stdout lines,
        path of its stderr). tearDown-time cleanup kills it."""
        err_path = os.path.join(self.make_temp_dir(), "stderr.log")
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(command + [topic], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=err, env=self.env, text=True,
                                    preexec_fn=_die_with_parent)
        lines = queue.Queue()

        def read():
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)  # end of output: the subscriber exited

        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def stop():
            proc.kill()
            proc.wait()
            reader.join(10)  # at the end of the output now
            proc.stdout.close()

        self.addCleanup(stop)
        return proc, lines, err_path

    def next_line(self, lines, deadline, what, err_path):
        """The subscriber's next stdout line; fails if none comes by `deadline` (monotonic)."""
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            with open(err_path, encoding="utf-8", errors="replace") as f:
                self.fail(f"the subscriber printed no {what} in time, or exited; its stderr:\n"
                          + f.read())
        return line

    def check_example(self, subscriber, producer):
        """Runs one language's pair (commands without their arguments) through the relay."""
        topic = f"examples/{self.id().rsplit('.', 1)[-1]}"
        content = f"hello {uuid.uuid4().hex}"
        # The test's own subscriber, to read what the producer sent; in effect at the relay before
        # the example's (the relay counts it), so that it cannot miss the message either.
        watcher = self.sub([topic.encode()])
        self.await_subscriptions(1)
        push = self.push()

        proc, lines, err_path = self.spawn_subscriber(subscriber, topic)
        self.assertEqual(self.next_line(lines, time.monotonic() + READY_DEADLINE, '"ready"',
                                        err_path), "ready")
        # Messages sent only after "ready", which the subscriber must not miss: the test's own at
        # once, over a connection already up (a subscriber that said "ready" before its
        # subscription reached the relay, held up by SlowUpstream, loses it), then the example
        # producer's.
        early = f"early {uuid.uuid4().hex}"
        push.send(v1_pb2.DataMessage(topic=topic, content=early).SerializeToString())
        produced = subprocess.run(producer + [topic, content], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, env=self.env,
                                  timeout=MESSAGE_DEADLINE, check=False)
        self.assertEqual(produced.returncode, 0, f"the producer failed:\n{produced.stderr}")
        deadline = time.monotonic() + MESSAGE_DEADLINE
        printed = {self.next_line(lines, deadline, "message", err_path) for _ in range(2)}
        # Two producers: the relay keeps each one's order, not an order between them.
        self.assertEqual(printed, {f"{topic}: {early}", f"{topic}: {content}"})
        self.assertIsNone(proc.poll(), "the subscriber exited after the messages")

        messages = []
        for _ in range(2):
            frames = receive(watcher, MESSAGE_DEADLINE)
            self.assertIsNotNone(frames, "the test's subscriber did not get both messages")
            self.assertEqual(frames[0], topic.encode())
            messages.append(v1_pb2.DataMessage.FromString(frames[1]))
        message = next((m for m in messages if m.content == content), None)
        self.assertIsNotNone(message, f"the producer's message is not among {messages!r}")
        self.assertEqual((message.topic, message.content), (topic, content))
        # Nanoseconds since the epoch: within a minute of now (in micro- or milliseconds it would
        # be 1000 times off, and a minute leaves room for any load, or a clock being corrected).
        self.assertLess(abs(message.timestamp - time.time_ns()), 60 * 10**9,
                        f"timestamp {message.timestamp} is not nanoseconds since the epoch")

    def test_python(self):
        run = [sys.executable]
        self.check_example(run + [os.path.join(EXAMPLES, "python", "subscriber.py")],
                           run + [os.path.join(EXAMPLES, "python", "producer.py")])

    def test_cpp(self):
        self.check_example([os.path.join(EXAMPLES_BIN, "cpp", "subscriber")],
                           [os.path.join(EXAMPLES_BIN, "cpp", "producer")])

    def test_c(self):
        if not EXAMPLES_C_DIR:
            self.skipTest("the C examples were not built: protoc-c or libprotobuf-c was missing "
                          "when the build was configured (tools/install-deps.sh installs "
                          "protobuf-c-compiler and libprotobuf-c-dev)")
        self.check_example([os.path.join(EXAMPLES_C_DIR, "subscriber")],
                           [os.path.join(EXAMPLES_C_DIR, "producer")])

    def test_node(self):
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            self.skipTest("Node.js example: no `node` or `npm` on PATH")
        # The packages go into the build tree, found by the examples through NODE_PATH, so that
        # the source tree gets no node_modules. --ignore-scripts: zeromq ships its addon prebuilt
        # (its install script would compile one only where none fits, needing cmake and vcpkg).
        work = os.path.join(EXAMPLES_BIN, "node")
        os.makedirs(work, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(EXAMPLES, "node", name), work)
        installed = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                                   cwd=work, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=NPM_DEADLINE, check=False)
        if installed.returncode != 0:
            if any(word in installed.stderr for word in NETWORK_ERRORS):
                self.skipTest("Node.js example: `npm ci` cannot reach the npm registry: "
                              + " / ".join(installed.stderr.strip().splitlines()[:4]))
            self.fail(f"`npm ci` failed:\n{installed.stderr}")
        self.env["NODE_PATH"] = os.path.join(work, "node_modules")
        loads = subprocess.run([node, "-e", "require('zeromq')"], env=self.env,
                               capture_output=True, text=True, timeout=60, check=False)
        if loads.returncode != 0:
            self.skipTest("Node.js example: the zeromq package has no prebuilt addon for this "
                          "platform (building one needs cmake and vcpkg):\n" + loads.stderr)
        self.check_example([node, os.path.join(EXAMPLES, "node", "subscriber.js")],
                           [node, os.path.join(EXAMPLES, "node", "producer.js")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
