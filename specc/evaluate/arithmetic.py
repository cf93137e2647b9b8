"""Checked arithmetic with the semantics the images have: every integer
operation either gives the exact result in its type or traps."""

from __future__ import annotations

from specc.types import DURATION, INTEGER_RANGES, SIZE, Prim, Type
from specc.values import DurationV, SizeV, Value

# Durations are signed 64-bit nanoseconds; sizes unsigned 64-bit bytes.
_DURATION_RANGE = INTEGER_RANGES[Prim("i64")]
_SIZE_RANGE = INTEGER_RANGES[Prim("u64")]


OVERFLOW = "integer overflow"
DIVISION_BY_ZERO = "division by zero"
SHIFT_RANGE = "shift amount out of range"


class Trap(Exception):
    """An operation that has no result in its type.  ``str(trap)`` explains
    it for a compile-time diagnostic; ``runtime`` is the message a running
    image prints for the same trap (the python and C runtimes' wording), so
    that a constant evaluation can be compared with a run."""

    def __init__(self, message: str, runtime: str) -> None:
        super().__init__(message)
        self.runtime = runtime


def fit(value: int, t: Type) -> int:
    low, high = INTEGER_RANGES[t] if isinstance(t, Prim) and t in INTEGER_RANGES \
        else _DURATION_RANGE
    if not low <= value <= high:
        raise Trap(f"integer overflow: {value} does not fit in `{t}`", OVERFLOW)
    return value


def divide(a: int, b: int) -> int:
    """Division truncating toward zero, as C does."""
    if b == 0:
        raise Trap("division by zero", DIVISION_BY_ZERO)
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def remainder(a: int, b: int) -> int:
    if b == 0:
        raise Trap("division by zero", DIVISION_BY_ZERO)
    return a - divide(a, b) * b


def int_op(op: str, a: int, b: int, t: Type) -> int:
    if op == "+":
        return fit(a + b, t)
    if op == "-":
        return fit(a - b, t)
    if op == "*":
        return fit(a * b, t)
    if op == "/":
        return fit(divide(a, b), t)
    if op == "%":
        return remainder(a, b)
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return fit(a ^ b, t)
    if op in ("<<", ">>"):
        width = 64 if t == Prim("i64") else int(str(t)[1:])
        if not 0 <= b < width:
            raise Trap(f"shift by {b} is out of range for `{t}` (0 to {width - 1})",
                       SHIFT_RANGE)
        return fit(a << b, t) if op == "<<" else a >> b
    raise AssertionError(op)


def quantity_op(op: str, a: Value, b: Value) -> Value:
    """Arithmetic on durations and sizes (with each other or with integers)."""
    if op == "%":  # Duration % Duration (v1.1)
        assert isinstance(a, DurationV) and isinstance(b, DurationV)
        return DurationV(remainder(a.nanoseconds, b.nanoseconds))
    if isinstance(a, DurationV) or isinstance(b, DurationV):
        return DurationV(_quantity(op, a, b, DURATION, _DURATION_RANGE))
    return SizeV(_quantity(op, a, b, SIZE, _SIZE_RANGE))


def ratio(a: Value, b: Value) -> int:
    """``Duration / Duration`` and ``Size / Size`` (v1.1): a `u64`, truncated
    toward zero; a negative quotient (durations are signed) does not fit."""
    x = a.nanoseconds if isinstance(a, DurationV) else a.size if isinstance(a, SizeV) else None
    y = b.nanoseconds if isinstance(b, DurationV) else b.size if isinstance(b, SizeV) else None
    assert isinstance(x, int) and isinstance(y, int)
    return fit(divide(x, y), Prim("u64"))


def _quantity(op: str, a: Value, b: Value, t: Type, bounds: tuple[int, int]) -> int:
    x = a.nanoseconds if isinstance(a, DurationV) else a.size if isinstance(a, SizeV) else a
    y = b.nanoseconds if isinstance(b, DurationV) else b.size if isinstance(b, SizeV) else b
    assert isinstance(x, int) and isinstance(y, int)
    result = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
              "/": lambda: divide(x, y)}[op]()
    if not bounds[0] <= result <= bounds[1]:
        raise Trap(f"`{t}` overflow: {op} gives {result}", OVERFLOW)
    return result
