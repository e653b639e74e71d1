#!/usr/bin/python3
"""Writes zrelay.yaml(5) from `zrelayd config-reference`, so that the page lists exactly the keys,
defaults, bounds and reload behaviour of the binary it ships with (daemon/config/config_table.cpp
is their one source).

    config_man.py --zrelayd build/dev/daemon/zrelayd --config-path /etc/zrelay/zrelay.yaml \\
                  --example examples/topologies/edge.yaml --output zrelay.yaml.5

config-reference prints a commented YAML file: a header (the file's rules, which become the
DESCRIPTION), then each key's comment, "DOC (BOUNDS; WHEN)", above "key: DEFAULT", sections
nested two spaces a level and documented the same way. This reads that layout strictly and stops
at any line it does not expect, so a change in the layout fails the build instead of the page.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import man_roff as roff  # noqa: E402

COMMENT = re.compile(r"^( *)#(?: (.*))?$")
KEY = re.compile(r"^( *)([a-z_]+):(?: (.+))?$")
# The tail of a key's comment: its bounds, then when a change takes effect (config_writer.cpp's
# `when`, which has a ';' of its own).
TAIL = re.compile(r"^(.*) \((.+?); (on restart|on SIGHUP|on SIGHUP; setting or clearing it, "
                  r"on restart)\)$")


def fail(what):
    sys.exit(f"config_man: {what}")


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail(f"`{' '.join(command)}` exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def parse_reference(text):
    """(header paragraphs, items): an item is ("section"|"key", path, doc, default, bounds, when)."""
    lines = text.splitlines()
    header, paragraph = [], []
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        m = COMMENT.match(lines[i])
        body = m.group(2) or ""
        if body:
            paragraph.append(body)
        elif paragraph:
            header.append(paragraph)
            paragraph = []
        i += 1
    if paragraph:
        header.append(paragraph)
    if not header:
        fail("config-reference printed no header")

    items, stack, comment = [], [], []
    for number, raw in enumerate(lines[i:], start=i + 1):
        if not raw.strip():
            if comment:
                fail(f"line {number}: a comment not followed by its key")
            continue
        if m := COMMENT.match(raw):
            comment.append(m.group(2) or "")
            continue
        m = KEY.match(raw)
        if not m or len(m.group(1)) % 2:
            fail(f"line {number}: cannot read {raw!r}")
        depth = len(m.group(1)) // 2
        if depth > len(stack):
            fail(f"line {number}: {raw.strip()!r} is nested under no section")
        del stack[depth:]
        path = ".".join([*stack, m.group(2)])
        doc = " ".join(comment)
        comment = []
        if m.group(3) is None:
            items.append(("section", path, doc, None, None, None))
            stack.append(m.group(2))
            continue
        tail = TAIL.match(doc)
        if not tail:
            fail(f"line {number}: {path}'s comment does not end in (BOUNDS; WHEN): {doc!r}")
        items.append(("key", path, tail.group(1), m.group(3), tail.group(2), tail.group(3)))
    if not any(kind == "key" for kind, *_ in items):
        fail("config-reference printed no keys")
    return header, items


def paragraph_lines(paragraph):
    """A header paragraph: running text, or (lines indented 4) a command shown as typed."""
    out, text, shown = [], [], []

    def flush_text():
        if text:
            out.append(roff.line(roff.prose(" ".join(text))))
            text.clear()

    def flush_shown():
        if shown:
            out.extend([".PP", ".RS 4", ".EX", *(roff.line(roff.literal(s)) for s in shown),
                        ".EE", ".RE"])
            shown.clear()

    for s in paragraph:
        if s.startswith("    "):
            flush_text()
            shown.append(s.strip())
        else:
            if shown:
                flush_shown()
                out.append(".PP")
            text.append(s)
    flush_text()
    flush_shown()
    return out


def example_lines(example):
    """A configuration file: its leading comment as prose, then the rest as it is."""
    lines = example.rstrip("\n").splitlines()
    prose = []
    while lines and (m := COMMENT.match(lines[0])) and not m.group(1):
        prose.append(m.group(2) or "")
        lines.pop(0)
    out = [roff.line(roff.prose(" ".join(p for p in prose if p)))] if prose else []
    return out + [".PP", ".RS 4", ".EX", *(roff.line(roff.literal(s)) for s in lines), ".EE", ".RE"]


def man_date():
    # help2man's date, so the three pages agree: SOURCE_DATE_EPOCH's month for reproducible builds.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now())
    return when.strftime("%B %Y")


def page(version, config_path, header, items, example):
    out = [
        '.\\" Generated by tools/config_man.py from `zrelayd config-reference`; do not edit.',
        f'.TH ZRELAY.YAML 5 "{man_date()}" "{roff.literal(version)}" "File Formats"',
        ".SH NAME",
        r"zrelay.yaml \- configuration file of zrelayd, the ZeroMQ relay daemon",
        ".SH SYNOPSIS",
        roff.italic(roff.literal(config_path)),
        ".PP",
        r"\fBzrelayd \-\-config\fR \fIFILE\fR",
        ".br",
        r"\fBZRELAY_CONFIG=\fR\fIFILE\fR \fBzrelayd\fR",
        ".SH DESCRIPTION",
        roff.line(roff.prose(
            "zrelayd(8) reads its configuration from one YAML file, given by --config or "
            "ZRELAY_CONFIG; without either it runs on the built-in defaults listed below. "
            "`zrelayd config-reference` prints every key set to its default, with the comments "
            f"this page is made of; {config_path} is installed as that file.")),
    ]
    for paragraph in header[1:]:  # the first one introduces the printed file, not this page
        out.append(".PP")
        out.extend(paragraph_lines(paragraph))

    out.append(".SH KEYS")
    out.append(roff.line(roff.prose(
        "Each key below is written in the file nested under its sections (security.ipc_mode is "
        "ipc_mode: under security:), and shows its default, the values it takes and when a "
        "change takes effect: on restart, or on SIGHUP (systemctl reload zrelayd).")))
    top_level = False  # under the heading of keys that belong to no section
    for kind, path, doc, default, bounds, when in items:
        if kind == "section":
            if "." not in path:
                out.append(f".SS {path}")
                top_level = False
            if doc:
                out.append(".PP")
                prefix = "" if "." not in path else roff.bold(path) + ": "
                out.append(roff.line(prefix + roff.prose(doc)))
            continue
        if "." not in path and not top_level:
            out.append(".SS Top-level keys")
            top_level = True
        out.append(".TP")
        out.append(roff.bold(roff.literal(path)))
        out.append(roff.line(roff.prose(doc)))
        out.append(".br")
        out.append(f"Default: {roff.bold(roff.literal(default))}.")
        out.append(roff.line(f"Values: {roff.prose(bounds)}."))
        out.append(f"Takes effect {when}.")

    out += [
        ".SH EXAMPLE",
        *example_lines(example),
        ".PP",
        roff.line(roff.prose(
            "Check a file before (re)starting the relay with it: "
            f"`zrelayd --check-config --config {config_path}` prints the effective configuration, "
            "or every error as FILE:LINE:COLUMN: KEY: WHAT, and exits 78.")),
        ".SH FILES",
        ".TP",
        roff.italic(roff.literal(config_path)),
        "The configuration file the systemd unit runs zrelayd on.",
        ".SH SEE ALSO",
        ".BR zrelayd (8),",
        ".BR zrelay (1)",
    ]
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zrelayd", required=True, help="the zrelayd binary to ask")
    parser.add_argument("--config-path", required=True, help="where the file is installed")
    parser.add_argument("--example", required=True, help="a configuration file to show")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    version = run(args.zrelayd, "--version").strip()
    header, items = parse_reference(run(args.zrelayd, "config-reference"))
    with open(args.example, encoding="utf-8") as f:
        example = f.read()
    text = page(version, args.config_path, header, items, example)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
