"""The types of checked specc values (LANGUAGE.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from specc.records import Record, assigned_at_run_time
from specc.span import Span


@dataclass(frozen=True, slots=True, repr=False)
class Prim(Record):
    """A builtin type named by a word: bool, the integers, string, Zone, ..."""

    name: str

    def __str__(self) -> str:
        return self.name


@assigned_at_run_time  # made each time a written type is resolved
@dataclass(frozen=True, slots=True, repr=False)
class OptionT(Record):
    """``T?``."""

    inner: Type

    def __str__(self) -> str:
        inner = f"({self.inner})" if isinstance(self.inner, FnT) else str(self.inner)
        return f"{inner}?"


@assigned_at_run_time  # made each time a written type is resolved
@dataclass(frozen=True, slots=True, repr=False)
class ListT(Record):
    """``[T]``."""

    element: Type

    def __str__(self) -> str:
        return f"[{self.element}]"


@dataclass(frozen=True, slots=True, repr=False)
class FnT(Record):
    """The type of a function or operation; ``result`` is None when it gives none."""

    params: tuple[Type, ...]
    result: Type | None

    def __str__(self) -> str:
        params = ", ".join(map(str, self.params))
        return f"fn({params})" + (f" -> {self.result}" if self.result is not None else "")


@dataclass(frozen=True, slots=True, repr=False)
class EnumT(Record):
    """An enum type; ``span`` (where it is declared) takes no part in comparisons."""

    name: str
    variants: tuple[str, ...]
    span: Span | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name


@assigned_at_run_time  # made for every struct literal checked
@dataclass(frozen=True, slots=True, repr=False)
class StructT(Record):
    """A struct type; ``span`` (where it is declared) takes no part in comparisons."""

    name: str
    span: Span | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, repr=False)
class DeviceT(Record):
    """The type of a device: the interface it provides."""

    interface: str

    def __str__(self) -> str:
        return self.interface


@dataclass(frozen=True, slots=True, repr=False)
class ComponentT(Record):
    """A component used as a value (only ever called)."""

    name: str

    def __str__(self) -> str:
        return f"component {self.name}"


@dataclass(frozen=True, slots=True, repr=False)
class VoidT(Record):
    """What a call of an operation or function without a result gives."""

    def __str__(self) -> str:
        return "no value"


@dataclass(frozen=True, slots=True, repr=False)
class ErrorT(Record):
    """A type that is already known to be wrong: accepted everywhere, so that
    one mistake is reported once."""

    def __str__(self) -> str:
        return "<error>"


Type = Prim | OptionT | ListT | FnT | EnumT | StructT | DeviceT | ComponentT | VoidT | ErrorT

BOOL = Prim("bool")
U8, U16, U32, U64, I64 = Prim("u8"), Prim("u16"), Prim("u32"), Prim("u64"), Prim("i64")
STRING, BYTES = Prim("string"), Prim("bytes")
IPV4, CIDR, DURATION, SIZE = Prim("Ipv4"), Prim("Cidr"), Prim("Duration"), Prim("Size")
ZONE, FILES = Prim("Zone"), Prim("Files")
VOID, ERROR = VoidT(), ErrorT()
TARGET = EnumT("Target", ("hvt", "unix", "python"))

INTEGER_RANGES: dict[Prim, tuple[int, int]] = {
    U8: (0, 0xFF),
    U16: (0, 0xFFFF),
    U32: (0, 0xFFFF_FFFF),
    U64: (0, 0xFFFF_FFFF_FFFF_FFFF),
    I64: (-(1 << 63), (1 << 63) - 1),
}
UNSIGNED = frozenset({U8, U16, U32, U64})

BUILTIN_TYPES: dict[str, Type] = {
    t.name: t for t in (BOOL, U8, U16, U32, U64, I64, STRING, BYTES, IPV4, CIDR, DURATION, SIZE,
                        ZONE, FILES)
}  # fmt: skip
COMPILE_TIME_ONLY = frozenset({ZONE, FILES})
_COMPILE_TIME_ONLY_NAMES = frozenset(t.name for t in COMPILE_TIME_ONLY)


def is_compile_time_only(t: Type) -> bool:
    """``t in COMPILE_TIME_ONLY``, without hashing ``t``: the checker asks this
    of every expression, and a dataclass's hash is a call of Python code (4%
    of checking bench/frontend.py's 5,000-line spec went to it, issue 13).
    The same answer, as a Prim equals only a Prim of the same name."""
    return type(t) is Prim and t.name in _COMPILE_TIME_ONLY_NAMES


def is_integer(t: Type) -> bool:
    return t in INTEGER_RANGES


def is_error(t: Type) -> bool:
    return isinstance(t, ErrorT)


def accepts(expected: Type, actual: Type) -> bool:
    """Whether a value of type ``actual`` may stand where ``expected`` is asked
    for: the same type, or ``T`` where ``T?`` is expected."""
    if expected == actual or is_error(expected) or is_error(actual):
        return True
    return isinstance(expected, OptionT) and accepts_exactly(expected.inner, actual)


def accepts_exactly(expected: Type, actual: Type) -> bool:
    return expected == actual or is_error(expected) or is_error(actual)


def is_comparable(t: Type) -> bool:
    """``==`` works on every value type but functions and devices."""
    if isinstance(t, FnT | DeviceT | ComponentT | VoidT):
        return False
    if isinstance(t, OptionT):
        return is_comparable(t.inner)
    if isinstance(t, ListT):
        return is_comparable(t.element)
    return True


def is_ordered(t: Type) -> bool:
    """``<`` and friends: integers, Duration, Size, enums, string and bytes."""
    return is_integer(t) or t in (DURATION, SIZE, STRING, BYTES) or isinstance(t, EnumT | ErrorT)


def contains_compile_time_only(t: Type) -> bool:
    if t in COMPILE_TIME_ONLY:
        return True
    if isinstance(t, OptionT):
        return contains_compile_time_only(t.inner)
    if isinstance(t, ListT):
        return contains_compile_time_only(t.element)
    return False
