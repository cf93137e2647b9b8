"""What an image does when it boots, defined once for every target.

An image reads its runtime parameters (the `param` keys, and those a
component reads, such as `host_ip`'s `--bind`) from its arguments: `argv`
on `unix` and `python`, the kernel command line on `hvt`.  This module
turns an `Image` into a `Boot`: the help text, one `Argument` per parameter
and the wording of every message.  The python back end writes it into the
image as data for `runtime/params.py`; the C back ends as tables for
`core/boot.c`.  Neither decides anything of its own, so the three targets
print the same bytes and exit with the same status for the same arguments.

The rules (docs/targets.md "Runtime parameters"):

1. The arguments, joined by single spaces, are at most `MAX_ARGUMENTS`
   bytes; more is an error, never a silent cut.
2. The arguments are read from left to right.  `--help` or `-h` prints the
   help on standard output and exits with status 0.  Anything else must be
   `--NAME=VALUE` with a known NAME, given at most once.  An unknown NAME
   is answered with the closest known one: at most 2 edits (insert, delete
   or change one byte) away and fewer edits than NAME has bytes, the first
   in help order on a tie, and only among names of at most `MAX_SUGGESTED`
   bytes.
3. Then every parameter, in the order of the help text, is parsed from its
   text if given; the first that does not parse is the error.
4. Then every `requires`, in the same order, is checked against the value
   (given, or the default); the first that does not hold is the error.

Every error is one line on standard error (the console on `hvt`) and exit
status 64 (EX_USAGE).  Values are ASCII:

- integers: decimal digits, with single `_` between digits (`1_000`), no
  leading zero (`0600` is refused: some read it as octal), `-` before an
  `i64`; nothing else (no `0x`, `+`, spaces or non-ASCII digits);
- `bool`: `true` or `false`; an enum: one of its value names;
- `Ipv4`: four decimal numbers 0 to 255 without leading zeros, joined by
  `.`; `Cidr`: an `Ipv4`, `/` and a prefix length 0 to 32;
- `Duration`: an integer and one of `ns us ms s m h`; `Size`: an integer
  and one of `B KiB MiB GiB`;
- `string`: any UTF-8 text (possibly empty);
- an option: `none`, or a value of its inner type.
"""

from __future__ import annotations

from dataclasses import dataclass

from specc import types as T
from specc.passes.image import Image, RuntimeParam
from specc.values import Value, format_value

# Rule 1: as much as the hvt command line holds (a page, less its NUL).
MAX_ARGUMENTS = 4095
EXIT_USAGE = 64
# A `did you mean` is only looked for among names this long, or shorter.
MAX_SUGGESTED = 64

# Every message, with `{N}` standing for the Nth piece of the message's
# arguments (written as given: the bytes of the command line).
MESSAGES: dict[str, str] = {
    "too_long": "the arguments are longer than {0} bytes",
    "malformed": "`{0}` is not a parameter: write --NAME=VALUE (see --help)",
    "unknown": "unknown parameter `--{0}` (see --help)",
    "suggest": "unknown parameter `--{0}`; did you mean `--{1}`?",
    "twice": "--{0} is given more than once",
    "bad_value": "--{0}: `{1}` is not {2}",
    "out_of_range": "--{0}: `{1}` is out of range ({2})",
    "requires": "--{0}={1}: `{2}` does not hold ({3})",
}
MESSAGE_ORDER = tuple(MESSAGES)

# How a value is parsed: the kinds of `Argument.kind`.
KINDS = ("uint", "int", "bool", "string", "ipv4", "cidr", "duration", "size", "enum")
_WHAT = {"uint": "a decimal integer", "int": "a decimal integer", "bool": "true or false",
         "string": "UTF-8 text", "ipv4": "an IPv4 address (192.0.2.1)",
         "cidr": "an address with a prefix (10.0.0.2/24)",
         "duration": "a duration (250ms, 5s, 2m, 1h)", "size": "a size (512B, 64KiB, 16MiB)"}
DURATION_UNITS = (("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
                  ("m", 60_000_000_000), ("h", 3_600_000_000_000))
SIZE_UNITS = (("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30))
_DURATION_MAX = (1 << 63) - 1  # nanoseconds, as the language's Duration
_SIZE_MAX = (1 << 64) - 1  # bytes


@dataclass(frozen=True)
class Argument:
    """One runtime parameter as the boot code reads it."""

    flag: str  # without `--`
    kind: str  # one of KINDS
    optional: bool  # `none` is a value
    low: int  # the range of an integer, duration (ns) or size (bytes)
    high: int
    range_text: str  # for `out_of_range`
    what: str  # for `bad_value`
    variants: tuple[str, ...]  # an enum's value names
    default_text: str  # the default, as it would be written on the command line
    requires_text: str | None  # the `requires`, as written in the spec
    requires_at: str | None  # "dns.spec:12:5"
    owner: str | None  # the instance that reads it; None for a `param` key


@dataclass(frozen=True)
class Boot:
    usage: str  # the text `--help` prints
    arguments: tuple[Argument, ...]


class NotAnArgument(Exception):
    """A parameter type no command line can write (the checker refuses those)."""


def argument_text(value: Value, t: T.Type) -> str:
    """``value`` as it would be given on the command line."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    text = format_value(value)
    return text.rsplit(".", 1)[-1] if isinstance(t, T.EnumT) else text


def argument(param: RuntimeParam) -> Argument:
    inner = param.type.inner if isinstance(param.type, T.OptionT) else param.type
    low, high = 0, 0
    variants: tuple[str, ...] = ()
    if T.is_integer(inner):
        kind = "int" if inner == T.I64 else "uint"
        low, high = T.INTEGER_RANGES[inner]  # type: ignore[index]
        range_text = f"{low} to {high}"
    elif isinstance(inner, T.EnumT):
        kind, variants = "enum", inner.variants
        range_text = ""
    elif isinstance(inner, T.Prim) and inner.name in ("bool", "string", "Ipv4", "Cidr"):
        kind = {"bool": "bool", "string": "string", "Ipv4": "ipv4", "Cidr": "cidr"}[inner.name]
        range_text = ""
    elif inner == T.DURATION:
        kind, high, range_text = "duration", _DURATION_MAX, f"at most {_DURATION_MAX}ns"
    elif inner == T.SIZE:
        kind, high, range_text = "size", _SIZE_MAX, f"at most {_SIZE_MAX}B"
    else:
        raise NotAnArgument(f"a runtime parameter of type `{param.type}`")
    what = "one of " + ", ".join(variants) if kind == "enum" else _WHAT[kind]
    return Argument(param.flag, kind, isinstance(param.type, T.OptionT), low, high, range_text,
                    what, variants, argument_text(param.default, param.type),
                    param.requires_text, param.requires_at, param.owner)


def usage(image: Image) -> str:
    lines = [f"usage: {image.name} [--PARAM=VALUE ...]"]
    if image.description:
        lines.append(image.description)
    lines += ["", "parameters:"] if image.params else ["", "no parameters"]
    for param in image.params:
        lines.append(f"  --{param.flag}={str(param.type).upper()}  "
                     f"(default {argument_text(param.default, param.type)})")
        if param.doc:
            lines.extend(f"      {d}" for d in param.doc.splitlines())
    return "\n".join(lines) + "\n"


def boot(image: Image) -> Boot:
    return Boot(usage(image), tuple(argument(p) for p in image.params))


def hvt_command_line(args: tuple[str, ...] | list[str]) -> str:
    """The kernel command line (`-append`) that gives an hvt image ``args``:
    words joined by spaces; a word with a space, a `"` or a `\\` is put in
    double quotes, with `"` and `\\` inside written `\\"` and `\\\\`
    (core/boot.c reads it back into the same words)."""
    words = []
    for arg in args:
        if arg and not any(c in arg for c in ' "\\'):
            words.append(arg)
        else:
            words.append('"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(words)


__all__ = ["EXIT_USAGE", "MAX_ARGUMENTS", "MESSAGES", "Argument", "Boot", "boot",
           "hvt_command_line", "usage"]
