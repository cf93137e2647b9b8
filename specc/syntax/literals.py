"""Decoding literal tokens into values: numbers, durations, sizes, addresses,
strings and bytes.  Problems are returned, never raised."""

from __future__ import annotations

from dataclasses import dataclass

from specc.records import Record, assigned_at_run_time

DURATION_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                  "m": 60_000_000_000, "h": 3_600_000_000_000}  # fmt: skip
SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"'}


@dataclass(frozen=True, slots=True, repr=False)
class LiteralProblem(Record):
    """A problem at ``offset`` (from the token's start), ``length`` characters long."""

    offset: int
    length: int
    message: str
    code: str = "E0006"


U64_MAX = (1 << 64) - 1
# The value of an integer literal too long to fit any integer type.  Python
# refuses to convert decimal text of more than 4,300 digits, and a literal that
# long can only be out of range anyway: it stands for "larger than u64".
TOO_LARGE = 1 << 65
# Significant digits of the largest u64, by base: a literal with more cannot fit.
_MAX_DIGITS = {10: 20, 16: 16, 2: 64}


def _integer(digits: str, base: int) -> int:
    if len(digits.lstrip("0")) > _MAX_DIGITS[base]:
        return TOO_LARGE
    return int(digits, base)


def parse_int(text: str) -> int:
    """The value of an integer literal; :data:`TOO_LARGE` when it cannot fit a u64."""
    digits = text.replace("_", "")
    if digits.startswith(("0x", "0X")):
        return _integer(digits[2:], 16)
    if digits.startswith(("0b", "0B")):
        return _integer(digits[2:], 2)
    return _integer(digits, 10)


def _scaled(text: str, units: dict[str, int], what: str) -> tuple[int, LiteralProblem | None]:
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            value = _integer(text[: -len(unit)].replace("_", ""), 10) * units[unit]
            if value > U64_MAX:
                shown = text if len(text) <= 30 else f"{text[:12]}...{text[-8:]}"
                return 0, LiteralProblem(0, len(text), f"the {what} `{shown}` is too large: the "
                                         f"largest is {U64_MAX} {next(iter(units))}", "E0202")
            return value, None
    raise ValueError(text)


def parse_duration(text: str) -> tuple[int, LiteralProblem | None]:
    """Nanoseconds in a duration literal such as ``250ms``."""
    return _scaled(text, DURATION_UNITS, "duration")


def parse_size(text: str) -> tuple[int, LiteralProblem | None]:
    """Bytes in a size literal such as ``64KiB``."""
    return _scaled(text, SIZE_UNITS, "size")


def parse_ipv4(text: str) -> tuple[int, LiteralProblem | None]:
    parts = text.split(".")
    value = 0
    for part in parts:
        octet = int(part) if len(part) <= 3 else 256
        if octet > 255 or (len(part) > 1 and part.startswith("0")):
            shown = text if len(text) <= 30 else f"{text[:20]}..."
            return 0, LiteralProblem(0, len(text), f"`{shown}` is not an IPv4 address: each of "
                                     "the four parts must be 0 to 255, without leading zeros")
        value = value << 8 | octet
    return value, None


def parse_cidr(text: str) -> tuple[int, int, LiteralProblem | None]:
    address_text, _, prefix_text = text.partition("/")
    address, problem = parse_ipv4(address_text)
    if problem is not None:
        return 0, 0, problem
    prefix = int(prefix_text) if len(prefix_text) <= 3 else 33
    if prefix > 32:
        return 0, 0, LiteralProblem(len(address_text) + 1, len(prefix_text),
                                    f"prefix length /{prefix_text[:12]} is larger than 32")
    return address, prefix, None


@assigned_at_run_time  # one for every `{...}` in every string
@dataclass(frozen=True, slots=True, repr=False)
class Interpolation(Record):
    """``{expr}`` inside a string: the expression text and its offset in the token."""

    offset: int
    text: str


def decode_string(token: str) -> tuple[list[str | Interpolation], list[LiteralProblem]]:
    """Split a string literal token (quotes included) into text and interpolations."""
    parts: list[str | Interpolation] = []
    problems: list[LiteralProblem] = []
    chunk: list[str] = []
    i = 1
    end = len(token) - 1  # the closing quote
    while i < end:
        ch = token[i]
        if ch == "\\":
            i = _decode_escape(token, i, chunk, problems, allow_unicode=True)
            continue
        if ch == "{":
            if token.startswith("{{", i):
                chunk.append("{")
                i += 2
                continue
            close = _interpolation_end(token, i)
            if chunk:
                parts.append("".join(chunk))
                chunk = []
            inner = token[i + 1 : close]
            if not inner.strip():
                problems.append(LiteralProblem(i, close + 1 - i, "empty interpolation `{}`; "
                                               "write `{{}}` for literal braces", "E0001"))
            else:
                parts.append(Interpolation(i + 1, inner))
            i = close + 1
            continue
        if ch == "}":
            if token.startswith("}}", i):
                chunk.append("}")
                i += 2
                continue
            problems.append(LiteralProblem(i, 1, "a lone `}` in a string: write `}}` for a "
                                           "literal brace", "E0005"))
            i += 1
            continue
        chunk.append(ch)
        i += 1
    if chunk or not parts:
        parts.append("".join(chunk))
    return parts, problems


def decode_bytes(token: str) -> tuple[bytes, list[LiteralProblem]]:
    """Decode ``b"..."``: ASCII text, the simple escapes and ``\\xNN``."""
    out = bytearray()
    problems: list[LiteralProblem] = []
    i = 2
    end = len(token) - 1
    while i < end:
        ch = token[i]
        if ch == "\\":
            if token.startswith("x", i + 1):
                digits = token[i + 2 : i + 4]
                if len(digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in digits):
                    out.append(int(digits, 16))
                    i += 4
                    continue
                problems.append(LiteralProblem(i, 2, "`\\x` must be followed by two hex digits",
                                               "E0005"))
                i += 2
                continue
            chunk: list[str] = []
            i = _decode_escape(token, i, chunk, problems, allow_unicode=False)
            out.extend("".join(chunk).encode())
            continue
        out.extend(ch.encode())
        i += 1
    return bytes(out), problems


def _decode_escape(token: str, i: int, chunk: list[str], problems: list[LiteralProblem],
                   *, allow_unicode: bool) -> int:
    code = token[i + 1] if i + 1 < len(token) else ""
    simple = _SIMPLE_ESCAPES.get(code)
    if simple is not None:
        chunk.append(simple)
        return i + 2
    if code == "u" and allow_unicode and token.startswith("{", i + 2):
        close = token.find("}", i + 3)
        digits = token[i + 3 : close] if close > 0 else ""
        if close > 0 and 1 <= len(digits) <= 6 and all(c in "0123456789abcdefABCDEF" for c in digits):
            value = int(digits, 16)
            if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
                chunk.append(chr(value))
                return close + 1
        problems.append(LiteralProblem(i, max(2, close + 1 - i), "`\\u{...}` needs 1 to 6 hex "
                                       "digits naming a Unicode scalar value", "E0005"))
        return close + 1 if close > 0 else i + 2
    allowed = "\\n \\t \\r \\0 \\\\ \\\"" + (" \\u{...}" if allow_unicode else " \\xNN")
    problems.append(LiteralProblem(i, 2, f"unknown escape `\\{code}`; the escapes are {allowed}",
                                   "E0005"))
    return i + 2


def _interpolation_end(token: str, start: int) -> int:
    """Offset of the `}` closing the interpolation opened at ``start``."""
    depth = 0
    i = start
    while i < len(token):
        ch = token[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        elif ch == '"':
            i = _string_end(token, i)
            continue
        i += 1
    return len(token) - 1


def _string_end(token: str, start: int) -> int:
    i = start + 1
    while i < len(token):
        ch = token[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        if ch == "{" and not token.startswith("{{", i):
            i = _interpolation_end(token, i) + 1
            continue
        i += 1
    return len(token)
