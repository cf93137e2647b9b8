"""Compile-time values as Python source literals."""

from __future__ import annotations

from specc.values import (
    CidrV,
    DeviceV,
    DurationV,
    EnumV,
    FilesV,
    FnRefV,
    Ipv4V,
    SizeV,
    StructV,
    Value,
    ZoneV,
)


class NotALiteral(Exception):
    """A value that only a component's hook can turn into data (a zone, say)."""


def literal(value: Value, names: dict[str, str] | None = None) -> str:
    """Python source for ``value``; ``names`` maps specc names (structs, enums,
    functions, device instances) to their Python names."""
    names = names or {}
    if value is None or isinstance(value, bool | int | str | bytes):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v, names) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Ipv4V):
        return f"0x{value.address:08x}"
    if isinstance(value, CidrV):
        return f"(0x{value.address:08x}, {value.prefix})"
    if isinstance(value, DurationV):
        return repr(value.nanoseconds)
    if isinstance(value, SizeV):
        return repr(value.size)
    if isinstance(value, EnumV):
        return f"{names.get(value.enum, value.enum)}.{value.name}"
    if isinstance(value, StructV):
        fields = ", ".join(f"{k}={literal(v, names)}" for k, v in value.fields)
        return f"{names.get(value.name, value.name)}({fields})"
    if isinstance(value, FnRefV):
        return names.get(value.name, value.name)
    if isinstance(value, DeviceV):
        return names.get("device " + value.key, value.key)
    if isinstance(value, FilesV):
        return literal(tuple(value.files), names)
    if isinstance(value, ZoneV):
        raise NotALiteral("a zone reaches a component only as compile-time data from its hooks")
    raise NotALiteral(repr(value))
