"""Reading the runtime parameters at boot, by the rules of backends/boot.py.

The image passes its arguments as the bytes they were given (`os.fsencode`
of `sys.argv`), the table of its parameters and the messages, all written by
the python back end from the image's `Boot`; core/boot.c does the same in C,
so both print the same bytes.  An entry of ``table`` is (flag, kind,
optional, low, high, range text, what, variants, default text, requires
text, requires position).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .core import EXIT_USAGE

NOT_GIVEN: Any = object()  # a parameter the arguments do not set
_DIGITS = re.compile(rb"(?:0|[1-9][0-9]*(?:_[0-9]+)*)")
_OCTET = re.compile(rb"(?:0|[1-9][0-9]{0,2})")
_DURATION = ((b"ns", 1), (b"us", 1_000), (b"ms", 1_000_000), (b"s", 1_000_000_000),
             (b"m", 60_000_000_000), (b"h", 3_600_000_000_000))
_SIZE = ((b"B", 1), (b"KiB", 1 << 10), (b"MiB", 1 << 20), (b"GiB", 1 << 30))

Entry = tuple[str, str, bool, int, int, str, str, tuple[str, ...], str, str | None, str | None]


def _say(messages: dict[str, str], key: str, *pieces: bytes) -> NoReturn:
    """Write a message (its `{N}` replaced by the Nth piece) and exit 64."""
    template = messages[key].encode()
    text = re.sub(rb"\{(\d)\}", lambda m: pieces[int(m.group(1))], template)
    sys.stdout.flush()
    sys.stderr.buffer.write(text + b"\n")
    sys.stderr.buffer.flush()
    raise SystemExit(EXIT_USAGE)


def _edit_distance(a: bytes, b: bytes) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[len(b)]


def _suggestion(name: bytes, flags: Sequence[bytes], longest: int) -> bytes | None:
    if len(name) > longest:
        return None
    best: tuple[int, bytes] | None = None
    for flag in flags:
        if len(flag) > longest:
            continue
        d = _edit_distance(name, flag)
        if d <= 2 and d < len(name) and (best is None or d < best[0]):
            best = (d, flag)
    return best[1] if best is not None else None


def _number(text: bytes) -> int | None:
    return int(text.replace(b"_", b"")) if _DIGITS.fullmatch(text) else None


def _ipv4(text: bytes) -> int | None:
    parts = text.split(b".")
    if len(parts) != 4 or not all(_OCTET.fullmatch(p) and int(p) <= 255 for p in parts):
        return None
    return int.from_bytes(bytes(int(p) for p in parts), "big")


def _scaled(text: bytes, units: tuple[tuple[bytes, int], ...]) -> tuple[int | None, bool]:
    """(value, syntax ok) of a number with a unit."""
    for unit, scale in sorted(units, key=lambda u: -len(u[0])):
        if text.endswith(unit):
            number = _number(text[:-len(unit)])
            return (None, False) if number is None else (number * scale, True)
    return None, False


def _parse(entry: Entry, text: bytes, messages: dict[str, str]) -> Any:
    flag, kind, optional, low, high, range_text, what, variants = entry[:8]
    name = flag.encode()
    if optional and text == b"none":
        return None
    value: Any = None
    if kind in ("uint", "int"):
        negative = kind == "int" and text.startswith(b"-")
        number = _number(text[1:] if negative else text)
        if number is not None:
            value = -number if negative else number
    elif kind == "bool":
        value = {b"true": True, b"false": False}.get(text)
    elif kind == "string":
        try:
            value = text.decode("utf-8")
        except UnicodeDecodeError:
            value = None
    elif kind == "ipv4":
        value = _ipv4(text)
    elif kind == "cidr":
        address, slash, prefix = text.partition(b"/")
        ip = _ipv4(address)
        if slash and ip is not None and _OCTET.fullmatch(prefix) and int(prefix) <= 32:
            value = (ip, int(prefix))
    elif kind in ("duration", "size"):
        value, _ = _scaled(text, _DURATION if kind == "duration" else _SIZE)
    elif kind == "enum":
        try:
            value = variants.index(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            value = None
    if value is None:
        _say(messages, "bad_value", name, text, what.encode())
    if kind in ("uint", "int", "duration", "size") and not low <= value <= high:
        _say(messages, "out_of_range", name, text, range_text.encode())
    return value


def boot_args(argv: Sequence[bytes], table: Sequence[Entry], usage: str,
              messages: dict[str, str], limit: int, longest: int) -> list[tuple[bytes | None, Any]]:
    """(text given or None, value or NOT_GIVEN) of each parameter of ``table``;
    prints the help and exits 0 for `--help`, exits 64 on a bad argument."""
    if sum(len(a) + 1 for a in argv) - 1 > limit:
        _say(messages, "too_long", str(limit).encode())
    flags = [entry[0].encode() for entry in table]
    given: dict[bytes, bytes] = {}
    for arg in argv:
        if arg in (b"--help", b"-h"):
            sys.stdout.write(usage)
            sys.stdout.flush()
            raise SystemExit(0)
        name, eq, value = arg.partition(b"=")
        if not name.startswith(b"--") or not eq or len(name) == 2:
            _say(messages, "malformed", arg)
        name = name[2:]
        if name not in flags:
            close = _suggestion(name, flags, longest)
            if close is None:
                _say(messages, "unknown", name)
            _say(messages, "suggest", name, close)
        if name in given:
            _say(messages, "twice", name)
        given[name] = value
    values: list[tuple[bytes | None, Any]] = []
    for entry, flag in zip(table, flags, strict=True):
        text = given.get(flag)
        values.append((text, NOT_GIVEN if text is None else _parse(entry, text, messages)))
    return values


def boot_requires_failed(entry: Entry, text: bytes | None, messages: dict[str, str]) -> NoReturn:
    shown = text if text is not None else entry[8].encode()
    _say(messages, "requires", entry[0].encode(), shown, (entry[9] or "").encode(),
         (entry[10] or "").encode())
