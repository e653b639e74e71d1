#!/usr/bin/python3
"""The man pages (docs/man/) against the binaries they document: each renders without a single
groff warning; every option that `zrelayd --help`, `zrelay --help` and each of their
subcommands' --help print is documented, a subcommand's under that subcommand; no page names an
option that neither binary has; zrelay.yaml(5) has an entry for every key `zrelayd
config-reference` prints, and no other, with that key's default; and `cmake --install` puts the
three pages under share/man/man{1,5,8}.

Run by CTest (tests/CMakeLists.txt): man_pages_test.py MAN_DIR BUILD_DIR, with ZRELAYD and ZRELAY
set to the binaries. This parses the binaries' output by itself, not with the generators'
(tools/man_commands.py, tools/config_man.py) code, so that a generator's mistake cannot hide.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

ZRELAYD = os.environ["ZRELAYD"]
ZRELAY = os.environ["ZRELAY"]
MAN_DIR = BUILD_DIR = ""  # from the command line, in main
PAGES = {"zrelayd.8": ZRELAYD, "zrelay.1": ZRELAY, "zrelay.yaml.5": None}

# A --help option line: "  -t,--timeout-ms INT..." or "  --runtime-dir TEXT ...".
HELP_OPTION = re.compile(r"^  ((?:-\w,)?--[a-z][a-z0-9-]*)", re.M)
HEADING = re.compile(r"^(\S.*)$", re.M)  # a rendered page's section heading: no indent


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{command} exited {result.returncode}: {result.stderr}")
    return result.stdout


def subcommands(program):
    """The names `PROGRAM --help` lists under "Subcommands:"."""
    text = run(program, "--help")
    block = text.split("\nSubcommands:\n", 1)
    if len(block) != 2:
        raise AssertionError(f"{program} --help lists no subcommands")
    names = []
    for line in block[1].splitlines():
        if not line.startswith("  "):
            break
        if not line.startswith("   "):  # not the rest of a description wrapped to 80 columns
            names.append(line.split()[0])
    return names


def help_options(program, *command):
    """The option entries of PROGRAM [COMMAND] --help, as printed: "-t,--timeout-ms"."""
    return HELP_OPTION.findall(run(program, *command, "--help"))


def render(page, width="300n"):
    """(plain text, groff's warnings): wide and unhyphenated, so that a name is on one line."""
    result = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", f"-rLL={width}", "-rHY=0", "-P-cbou", page],
        capture_output=True, text=True, check=False)
    text = result.stdout.replace("\u2212", "-").replace("\u2010", "-")
    return text, result.stderr if result.returncode == 0 else f"exit {result.returncode}: " \
        f"{result.stderr}"


def sections(text):
    """{heading: body} of a rendered page."""
    parts = HEADING.split(text)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def subsections(body):
    """{title: body} of the subsections (indented 3) of a section's body."""
    parts = re.split(r"^   (\S.*)$", body, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def reference_keys():
    """{dotted key: default as printed} from `zrelayd config-reference`, read by indentation."""
    keys, stack = {}, []
    for line in run(ZRELAYD, "config-reference").splitlines():
        m = re.match(r"^( *)([a-z_]+):(?: (.+))?$", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        del stack[depth:]
        if m.group(3) is None:
            stack.append(m.group(2))
        else:
            keys[".".join([*stack, m.group(2)])] = m.group(3)
    if len(keys) < 10:
        raise AssertionError(f"config-reference printed only {len(keys)} keys")
    return keys


def entry_line(flags):
    """A rendered option entry: "-t,--timeout-ms" as help2man ("-t,--timeout-ms") or the
    COMMANDS section ("-t, --timeout-ms") writes it, at the start of an indented line."""
    short, _, long = flags.rpartition(",")
    prefix = re.escape(short) + r",\s?" if short else ""
    return re.compile(r"^\s+" + prefix + re.escape(long) + r"(?![\w-])", re.M)


class ManPagesTest(unittest.TestCase):
    def page(self, name):
        path = os.path.join(MAN_DIR, name)
        self.assertTrue(os.path.isfile(path), f"{path} was not built")
        text, warnings = render(path)
        return text, warnings

    def test_pages_render_without_warnings(self):
        for name in PAGES:
            for width in ("300n", "78n"):  # as tested, and as a terminal shows it
                with self.subTest(page=name, width=width):
                    text, warnings = render(os.path.join(MAN_DIR, name), width)
                    self.assertEqual(warnings, "", f"groff warns about {name}")
                    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
                        self.assertIn(heading, sections(text), f"{name} has no {heading}")

    def test_every_option_is_documented(self):
        for name, program in PAGES.items():
            if program is None:
                continue
            text, _ = self.page(name)
            found = sections(text)
            for flags in help_options(program):
                with self.subTest(page=name, option=flags):
                    self.assertRegex(found.get("OPTIONS", ""), entry_line(flags),
                                     f"{name}: OPTIONS has no entry for {flags}")
            commands = subsections(found.get("COMMANDS", ""))
            for command in subcommands(program):
                title = f"{os.path.basename(program)} {command}"
                with self.subTest(page=name, command=command):
                    self.assertIn(title, commands, f"{name}: COMMANDS has no {title}")
                    for flags in help_options(program, command):
                        if flags == "-h,--help":
                            continue  # the top-level OPTIONS has it
                        self.assertRegex(commands[title], entry_line(flags),
                                         f"{name}: {title} has no entry for {flags}")

    def test_no_page_names_an_option_that_does_not_exist(self):
        known = set()
        for program in (ZRELAYD, ZRELAY):
            for command in [None, *subcommands(program)]:
                for flags in help_options(program, *([command] if command else [])):
                    known.update(f for f in flags.split(",") if f.startswith("--"))
        for name in PAGES:
            text, _ = self.page(name)
            for option in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))):
                with self.subTest(page=name, option=option):
                    self.assertIn(option, known, f"{name} names {option}, which no --help has")

    def test_every_key_is_documented_with_its_default(self):
        keys = reference_keys()
        text, _ = self.page("zrelay.yaml.5")
        body = sections(text).get("KEYS", "")
        # An entry: its key alone on a line, indented 7, then its text indented 14.
        entries = dict(re.findall(r"^ {7}([a-z_][a-z_.]*)\n((?: {14}.*\n)+)", body, re.M))
        missing, extra = sorted(set(keys) - set(entries)), sorted(set(entries) - set(keys))
        self.assertEqual((missing, extra), ([], []),
                         "zrelay.yaml(5)'s KEYS lacks the first keys of config-reference, and has "
                         "the second, which config-reference does not print")
        for key, default in keys.items():
            with self.subTest(key=key):
                self.assertIn(f"Default: {default}.", " ".join(entries[key].split()),
                              f"zrelay.yaml(5): {key}'s default is not {default}")

    def test_install_puts_the_pages_in_mandir(self):
        with tempfile.TemporaryDirectory() as prefix:
            # The man component only: the rest installs to /etc too (ZRELAY_CONFIG_DIR).
            run("cmake", "--install", BUILD_DIR, "--prefix", prefix, "--component", "man")
            for name in PAGES:
                section = name.rsplit(".", 1)[1]
                installed = os.path.join(prefix, "share", "man", "man" + section, name)
                with self.subTest(page=name):
                    self.assertTrue(os.path.isfile(installed), f"{installed} not installed")
                    with open(installed, "rb") as a, open(os.path.join(MAN_DIR, name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), f"{installed} is not the built page")


if __name__ == "__main__":
    MAN_DIR, BUILD_DIR = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
