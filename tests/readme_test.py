#!/usr/bin/python3
"""The README and docs/ against what they describe, so that they cannot drift:

- every relative link in README.md, docs/ and examples/README.md names a file that exists, and
  every #anchor a heading in it;
- the README's Python producer, as printed, delivers its message through a real zrelayd (only
  its endpoint is replaced by the test's own port);
- the README's configuration example passes `zrelayd --check-config`;
- docs/monitoring/README.md's table names every metric a relay exports (with workers, retention,
  a forward and a subscribe link, so that every family shows), and only names the daemon has;
- every option the command lines in the README and docs/ give `zrelay SUBCOMMAND` or `zrelayd`
  is one that command's --help lists.

The quick start itself (three commands, a release build and the default ports) is run verbatim
by tests/quickstart_test.sh, in CI.

Run by CTest (tests/CMakeLists.txt), which sets ZRELAYD, ZRELAY and PYTHONPATH.
"""
import os
import re
import subprocess
import sys
import unittest

import zmq

from relay_test import (RelayFixture, ZRELAYD, free_tcp_ports, receive, scrape, v1_pb2,
                        wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZRELAY = os.environ.get("ZRELAY")
README = os.path.join(ROOT, "README.md")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def code_blocks(text, language):
    """The bodies of the fenced code blocks in `text` whose info string is `language`."""
    return re.findall(r"^```" + re.escape(language) + r"\n(.*?)^```", text, re.M | re.S)


def documents():
    """The Markdown files users read: the README, docs/ (recursively), examples/README.md."""
    paths = [README, os.path.join(ROOT, "examples", "README.md")]
    for directory, _, files in os.walk(os.path.join(ROOT, "docs")):
        paths += [os.path.join(directory, f) for f in sorted(files) if f.endswith(".md")]
    return paths


def anchors(markdown):
    """GitHub's anchors for the headings of `markdown`: lower case, punctuation but - and _
    removed, spaces as -, a repeated one suffixed -1, -2, ..."""
    seen = {}
    result = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


class LinksTest(unittest.TestCase):

    def test_every_relative_link_resolves(self):
        broken = []
        for doc in documents():
            text = read(doc)
            # Links outside code: fenced blocks may hold anything that looks like one.
            prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
            for target in re.findall(r"\]\(([^)\s]+)\)", prose):
                if re.match(r"[a-z]+:", target):
                    continue  # https:, mailto: ...: not ours to check offline
                path, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(doc), path)) \
                    if path else doc
                where = f"{os.path.relpath(doc, ROOT)}: ({target})"
                if not os.path.exists(resolved):
                    broken.append(f"{where}: no such file")
                elif anchor:
                    if os.path.isdir(resolved):
                        resolved = os.path.join(resolved, "README.md")
                    if anchor not in anchors(read(resolved)):
                        broken.append(f"{where}: no heading #{anchor}")
        self.assertEqual(broken, [])

    def test_the_readme_stays_a_page_for_users(self):
        # The bound: what a user reads; internals and benchmarks live in docs/.
        lines = read(README).count("\n")
        self.assertLessEqual(lines, 250, f"README.md has {lines} lines")


class ReadmeCodeTest(RelayFixture):

    def test_the_python_producer_delivers_its_message(self):
        blocks = code_blocks(read(README), "python")
        self.assertEqual(len(blocks), 1, "the README should hold one Python example")
        source = blocks[0]
        self.assertIn('"tcp://127.0.0.1:5555"', source)  # the relay's default, as printed
        self.start(self.config())
        sub = self.sub([b"greetings"])
        self.await_subscriptions(1)
        program = source.replace('"tcp://127.0.0.1:5555"', repr(self.in_endpoint))
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                              timeout=60, check=False, stdin=subprocess.DEVNULL)
        self.assertEqual(done.returncode, 0, done.stderr)
        frames = receive(sub)
        self.assertIsNotNone(frames, "the README's producer delivered nothing")
        self.assertEqual(frames[0], b"greetings")
        message = v1_pb2.DataMessage()
        message.ParseFromString(frames[1])
        self.assertEqual(message.content, "hi")
        self.assertGreater(message.timestamp, 0)

    def test_the_configuration_example_is_valid(self):
        blocks = code_blocks(read(README), "yaml")
        self.assertEqual(len(blocks), 1, "the README should hold one configuration example")
        done = self.check_config(blocks[0])
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_the_metrics_table_is_what_the_relay_exports(self):
        monitoring = read(os.path.join(ROOT, "docs", "monitoring", "README.md"))
        table = monitoring[monitoring.index("## Metrics"):monitoring.index("## Dashboard")]
        documented = set()
        for row in re.findall(r"^\| (.+?) \|", table, re.M):
            documented |= set(re.findall(r"`((?:zrelay|process)_[a-z_]+)", row))
        renamed = monitoring[monitoring.index("## Renamed metrics"):]
        documented |= set(re.findall(r"`(zrelay_[a-z_]+_total)`", renamed))
        self.assertGreater(len(documented), 30, "the metrics table was not found")

        sources = "".join(read(os.path.join(d, f)) for d, _, files in
                          os.walk(os.path.join(ROOT, "daemon")) for f in files
                          if f.endswith(".cpp"))
        self.assertEqual(sorted(n for n in documented if f'"{n}"' not in sources), [],
                         "documented metrics the daemon does not have")

        # A relay with every family: the pipeline, retention (the default), links both ways.
        upstream_in, upstream_out, downstream_in = free_tcp_ports(3)
        self.start(self.config(
            workers=2,
            egress={"bind": [self.out_endpoint], "forward": [f"tcp://127.0.0.1:{downstream_in}"]},
            ingress={"bind": [self.in_endpoint],
                     "subscribe": [f"tcp://127.0.0.1:{upstream_out}"]}))
        del upstream_in  # only reserved, so that no other test takes it meanwhile
        samples = wait_for(lambda: scrape(self.metrics_port), 10)
        self.assertTrue(samples, "no scrape")
        exported = {re.sub(r"\{.*", "", name) for name in samples}
        self.assertIn("zrelay_link_upstream_restarts_total", exported)
        self.assertIn("zrelay_inflight", exported)
        self.assertEqual(sorted(exported - documented), [],
                         "metrics the relay exports that docs/monitoring/README.md does not list")

    def test_every_option_on_the_command_lines_exists(self):
        self.assertTrue(ZRELAY and os.access(ZRELAY, os.X_OK), f"ZRELAY is {ZRELAY!r}")
        helps = {}

        def options_of(command):
            if command not in helps:
                done = subprocess.run([*command, "--help"], capture_output=True, text=True,
                                      timeout=30, check=False, stdin=subprocess.DEVNULL)
                self.assertEqual(done.returncode, 0, f"{command} --help: {done.stderr}")
                helps[command] = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", done.stdout))
            return helps[command]

        checked = 0
        unknown = []
        blocks = [block for doc in documents() for block in code_blocks(read(doc), "sh")]
        for block in blocks:
            for line in block.splitlines():
                for command in re.split(r"&&|\|", line.split("  #")[0]):
                    words = command.split()
                    # Skip an environment assignment or a path to the binary.
                    while words and "=" in words[0]:
                        words.pop(0)
                    if not words:
                        continue
                    name = os.path.basename(words[0])
                    if name == "zrelay" and len(words) > 1 and not words[1].startswith("-"):
                        program, args = (ZRELAY, words[1]), words[2:]
                    elif name in ("zrelay", "zrelayd"):
                        program, args = (ZRELAY if name == "zrelay" else ZRELAYD,), words[1:]
                    else:
                        continue
                    for option in (a.split("=")[0] for a in args if a.startswith("-") and a != "-"):
                        checked += 1
                        if option not in options_of(program):
                            unknown.append(f"{' '.join(words)}: {option}")
        self.assertGreater(checked, 30, "the documents' command lines were not found")
        self.assertEqual(unknown, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
