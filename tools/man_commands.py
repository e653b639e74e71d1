#!/usr/bin/python3
"""Writes a help2man include file with a section that documents every subcommand of a program
from that subcommand's own --help, so that the man page cannot drift from what the binary says.

    man_commands.py --output zrelay-commands.h2m --section COMMANDS build/dev/tools/zrelay

The subcommands are the ones `PROGRAM --help` lists under "Subcommands:" (CLI11's help layout);
each gets a subsection with its usage, its description, its arguments and options, and the
command lines of its "Examples:" footer, as they are.
help2man itself turns the top-level --help into the SYNOPSIS and OPTIONS sections.
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import man_roff as roff  # noqa: E402

HEADING = re.compile(r"^([A-Z][A-Za-z ]*):$")
ENTRY = re.compile(r"^  (\S.*?)(?: {2,}(\S.*))?$")  # name [type]  description
CONTINUATION = re.compile(r"^ {3,}(\S.*)$")  # a description on the line after a long name
EXAMPLES = "Examples"  # the footer's heading: command lines, printed as they are


def help_text(program, *args):
    result = subprocess.run([program, *args, "--help"], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        sys.exit(f"man_commands: `{' '.join([program, *args])} --help` exited "
                 f"{result.returncode}: {result.stderr.strip()}")
    return result.stdout


def parse_help(text):
    """CLI11's help: description lines, "Usage: ...", then "Heading:" blocks of entries."""
    parsed = {"usage": None, "description": [], "groups": []}
    group = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if raw.startswith("Usage: "):
            parsed["usage"] = raw[len("Usage: "):]
        elif group is not None and group[0] == EXAMPLES and raw.startswith("  "):
            group[1].append(raw[2:])  # a command line, kept as it is
        elif m := HEADING.match(raw):
            group = (m.group(1), [])
            parsed["groups"].append(group)
        elif group is None and not raw.startswith(" "):
            parsed["description"].append(raw)
        elif group is not None and (m := ENTRY.match(raw)):
            group[1].append([m.group(1), m.group(2) or ""])
        elif group is not None and group[1] and (m := CONTINUATION.match(raw)):
            group[1][-1][1] = (group[1][-1][1] + " " + m.group(1)).strip()
        else:
            sys.exit(f"man_commands: cannot read this --help line: {raw!r}")
    if parsed["usage"] is None:
        sys.exit("man_commands: no 'Usage:' line in --help")
    return parsed


def entry_name(name):
    """'-t,--timeout-ms INT:INT in [1 - 600000]=2000' -> bold options, then the value's type."""
    flags, _, value = name.partition(" ")
    if flags.startswith("-"):
        shown = ", ".join(roff.bold(roff.minus(f)) for f in flags.split(","))
    else:
        shown = roff.italic(roff.literal(flags))  # a positional argument
    return shown + (" " + roff.literal(value) if value else "")


def h2m_line(s):
    """A roff line that help2man's include parser would not take for a [section] or /pattern/."""
    s = roff.line(s)
    return r"\&" + s if s.startswith(("[", "/")) else s


def section(program, title):
    top = parse_help(help_text(program))
    commands = dict(top["groups"]).get("Subcommands", [])
    if not commands:
        sys.exit(f"man_commands: `{program} --help` lists no subcommands")
    out = [f"[{title}]"]
    for command, _ in commands:
        sub = parse_help(help_text(program, command))
        prog, _, rest = sub["usage"].partition(" [")
        out.append(f'.SS "{roff.literal(prog)}"')
        out.append(".PP")
        out.append(h2m_line(roff.bold(roff.literal(prog)) + (" [" + roff.literal(rest) if rest else "")))
        out.append(".PP")
        out.extend(h2m_line(roff.prose(d)) for d in sub["description"])
        for heading, entries in sub["groups"]:
            if heading == EXAMPLES:
                out.extend([".PP", f"{EXAMPLES}:", ".PP", ".nf"])
                out.extend(h2m_line(r"\ \ " + roff.literal(e)) for e in entries)
                out.append(".fi")
                continue
            entries = [e for e in entries if not e[0].startswith("-h,--help")]
            if not entries:
                continue
            out.append(".PP")
            out.append(h2m_line(("Arguments" if heading == "Positionals" else heading) + ":"))
            for name, description in entries:
                out.append(".TP")
                out.append(h2m_line(entry_name(name)))
                out.append(h2m_line(roff.prose(description)))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", help="the binary whose subcommands to document")
    parser.add_argument("--output", required=True, help="the help2man include file to write")
    parser.add_argument("--section", default="COMMANDS", help="the man page section's title")
    args = parser.parse_args()
    text = section(args.program, args.section)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
