"""roff escaping shared by the man page generators (tools/man_commands.py, tools/config_man.py).

Text from --help and `zrelayd config-reference` is plain ASCII prose; what roff would take for
markup is escaped here: backslashes, a leading dot or quote (a request), and the hyphens of
options and commands, which must print as minus signs (`\\-`) so that they can be searched for
and copied from the rendered page.
"""

import re

# --config, -t, --timeout-ms, -q: a hyphen that starts a word (and the hyphens inside it).
_OPTION = re.compile(r"(?<![\w\\-])(--?[A-Za-z][\w-]*)")
# 'x' and `x`: a literal the user types.
_QUOTED = re.compile(r"'(-)'")
_CODE = re.compile(r"`([^`]+)`")


def minus(s):
    """Every hyphen as a minus sign: for option names, commands and values typed as they are."""
    return s.replace("-", r"\-")


def literal(s):
    """A value the user types, as it is: backslashes escaped, every hyphen a minus sign."""
    return minus(s.replace("\\", r"\e"))


def prose(s):
    """Running text: backslashes escaped; options, `code` spans and '-' typed as they are."""
    s = s.replace("\\", r"\e")
    s = _CODE.sub(lambda m: r"\fB" + minus(m.group(1)) + r"\fR", s)
    s = _QUOTED.sub(r"'\\-'", s)
    return _OPTION.sub(lambda m: minus(m.group(1)), s)


def line(s):
    """One output line of text: a leading . or ' would be read as a request; \\& defuses it."""
    return r"\&" + s if s.startswith((".", "'")) else s


def bold(s):
    return r"\fB" + s + r"\fR"


def italic(s):
    return r"\fI" + s + r"\fR"
