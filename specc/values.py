"""Compile-time values: what the evaluator computes and the backends embed.

Integers, booleans, strings and bytes are plain Python values; the static
type (kept by the checker) says which integer type an ``int`` has.  An
option is ``None`` or its value (specc has no option of an option).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specc.records import Record


@dataclass(frozen=True, slots=True, repr=False)
class Ipv4V(Record):
    """An IPv4 address, host byte order."""

    address: int

    def __str__(self) -> str:
        a = self.address
        return f"{a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


@dataclass(frozen=True, slots=True, repr=False)
class CidrV(Record):
    """An address with a prefix length."""

    address: int
    prefix: int

    def __str__(self) -> str:
        return f"{Ipv4V(self.address)}/{self.prefix}"


_SIZE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1))


_WHOLE_UNITS = (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000))
_DECIMAL_UNITS = (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000))


def format_duration(nanoseconds: int) -> str:
    """A Duration as interpolation writes it (docs/language.md section 4.11).

    A whole number of seconds takes the largest of h, m, s that divides it
    (``90s``, ``2m``); anything else is written in the largest of s, ms, us
    that it reaches, with up to three decimals truncated toward zero
    (``4.489s``, ``250ms``, ``1.5us``), or in ns below 1us.  The C runtime
    (``sc_buf_duration``) and the python runtime (``fmt_duration``) do the
    same, digit for digit.
    """
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    n = abs(nanoseconds)
    if n % 1_000_000_000 == 0:
        unit, scale = next((u, s) for u, s in _WHOLE_UNITS if n % s == 0)
        return f"{sign}{n // scale}{unit}"
    unit, scale = next(((u, s) for u, s in _DECIMAL_UNITS if n >= s), ("ns", 1))
    fraction = (n % scale) // (scale // 1000) if scale > 1 else 0
    decimals = f".{fraction:03d}".rstrip("0") if fraction else ""
    return f"{sign}{n // scale}{decimals}{unit}"


@dataclass(frozen=True, slots=True, order=True, repr=False)
class DurationV(Record):
    """A Duration, in nanoseconds."""

    nanoseconds: int

    def __str__(self) -> str:
        return format_duration(self.nanoseconds)


@dataclass(frozen=True, slots=True, order=True, repr=False)
class SizeV(Record):
    """A Size, in bytes."""

    size: int

    def __str__(self) -> str:
        n = self.size
        for unit, scale in _SIZE_UNITS:
            if n % scale == 0 and n != 0:
                return f"{n // scale}{unit}"
        return "0B"


@dataclass(frozen=True, slots=True, repr=False)
class EnumV(Record):
    """A value of an enum."""

    enum: str
    name: str
    index: int  # declaration order: enums compare by it

    def __str__(self) -> str:
        return self.name

    def __lt__(self, other: EnumV) -> bool:
        return self.index < other.index

    def __le__(self, other: EnumV) -> bool:
        return self.index <= other.index

    def __gt__(self, other: EnumV) -> bool:
        return self.index > other.index

    def __ge__(self, other: EnumV) -> bool:
        return self.index >= other.index


@dataclass(frozen=True, slots=True, repr=False)
class StructV(Record):
    """A struct value: its fields in declaration order."""

    name: str
    fields: tuple[tuple[str, Value], ...]

    def get(self, name: str) -> Value:
        for key, value in self.fields:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True, repr=False)
class FnRefV(Record):
    """A named top-level function used as a value (a handler)."""

    name: str


@dataclass(frozen=True, slots=True, repr=False)
class ZoneV(Record):
    """A DNS zone read at compile time by ``zonefile(path)``."""

    path: str
    origin: str
    records: int
    sha256: str
    zone: Any = field(compare=False, repr=False)  # the dnspython zone


@dataclass(frozen=True, slots=True, repr=False)
class FilesV(Record):
    """A directory read at compile time by ``dir(path)``: relative path -> contents."""

    path: str
    files: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True, repr=False)
class DeviceV(Record):
    """A device instance, by its key in the device graph."""

    key: str


Value = (
    None | bool | int | str | bytes | tuple[Any, ...] | Ipv4V | CidrV | DurationV | SizeV | EnumV
    | StructV | FnRefV | ZoneV | FilesV | DeviceV
)


def format_value(value: Value) -> str:
    """A value as string interpolation shows it (LANGUAGE.md section 4)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, StructV):
        inner = ", ".join(f"{k}: {format_value(v)}" for k, v in value.fields)
        return f"{value.name} {{ {inner} }}"
    if isinstance(value, ZoneV):
        return f"zone {value.origin}"
    if isinstance(value, FilesV):
        return f"files {value.path}" if value.path or value.files else "no files"
    if isinstance(value, FnRefV):
        return value.name
    return str(value)


def source_text(value: Value) -> str:
    """A value written as specc source (for dumps, explain and the manifest)."""
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
            .replace("\t", "\\t").replace("{", "{{").replace("}", "}}")
        return f'"{escaped}"'
    if isinstance(value, bytes):
        return 'b"' + "".join(f"\\x{b:02x}" for b in value) + '"'
    if isinstance(value, EnumV):
        return f"{value.enum}.{value.name}"
    if isinstance(value, tuple):
        return "[" + ", ".join(source_text(v) for v in value) + "]"
    if isinstance(value, StructV):
        inner = ", ".join(f"{k}: {source_text(v)}" for k, v in value.fields)
        return f"{value.name} {{ {inner} }}"
    if isinstance(value, ZoneV):
        return f'zonefile("{value.path}")'
    if isinstance(value, FilesV):
        # No directory and no files: the kv_ro --no-specialize links
        # (passes/unspecialize.py), which no `dir(...)` of the spec gave.
        return f'dir("{value.path}")' if value.path or value.files else "no files"
    if isinstance(value, DeviceV):
        return value.key
    if isinstance(value, DurationV):
        return duration_literal(value.nanoseconds)
    return format_value(value)


_LITERAL_UNITS = (*_WHOLE_UNITS, ("ms", 1_000_000), ("us", 1_000), ("ns", 1))


def duration_literal(nanoseconds: int) -> str:
    """A Duration as a literal that reads back exactly: the largest unit that
    divides it (``4500ms``, not the ``4.5s`` that interpolation shows)."""
    if nanoseconds == 0:
        return "0s"
    unit, scale = next((u, s) for u, s in _LITERAL_UNITS if nanoseconds % s == 0)
    return f"{nanoseconds // scale}{unit}"


def to_json(value: Value) -> object:
    """A JSON-friendly form, for the manifest."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, StructV):
        return {k: to_json(v) for k, v in value.fields}
    if isinstance(value, ZoneV):
        return {"zone": value.origin, "file": value.path, "records": value.records,
                "sha256": value.sha256}
    if isinstance(value, FilesV):
        return {"dir": value.path, "files": [name for name, _ in value.files]}
    return source_text(value)
