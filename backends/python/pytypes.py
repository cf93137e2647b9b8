"""specc types as Python annotations, and the formatting of values in strings."""

from __future__ import annotations

from collections.abc import Callable

from specc import types as T

# Brackets an annotation may nest before the rest is `Any`: CPython's parser
# stops at 200 on a line, and a list nested 300 deep (within the expression
# limit, specc/stack.py) has a type 300 brackets deep.
MAX_ANNOTATION_BRACKETS = 64
# Lists in lists formatted by one expression (3 brackets each); deeper ones
# by the run-time fmt_lists.
MAX_INLINE_LIST_LEVELS = 16


def annotation(t: T.Type | None, names: dict[str, str], brackets: int = 0) -> str:
    if t is None or isinstance(t, T.VoidT):
        return "None"
    if brackets >= MAX_ANNOTATION_BRACKETS and isinstance(t, T.ListT | T.FnT):
        return "Any"
    if isinstance(t, T.OptionT):
        return f"{annotation(t.inner, names, brackets)} | None"
    if isinstance(t, T.ListT):
        return f"tuple[{annotation(t.element, names, brackets + 1)}, ...]"
    if isinstance(t, T.FnT):
        params = ", ".join(annotation(p, names, brackets + 2) for p in t.params)
        return f"Callable[[{params}], {annotation(t.result, names, brackets + 1)}]"
    if isinstance(t, T.EnumT | T.StructT):
        return names.get(t.name, t.name)
    if isinstance(t, T.DeviceT | T.ComponentT | T.ErrorT):
        return "Any"
    simple = {"bool": "bool", "string": "str", "bytes": "bytes", "Cidr": "tuple[int, int]"}
    return simple.get(t.name, "int")


def formatter(t: T.Type, names: dict[str, str], temp: Callable[[], str]) -> Callable[[str], str]:
    """A function from a Python expression of type ``t`` to one giving its text
    as specc's string interpolation shows it (LANGUAGE.md section 4)."""
    if t == T.STRING:
        return lambda e: e
    if T.is_integer(t):
        return lambda e: f"str({e})"
    simple = {T.BOOL: "fmt_bool", T.IPV4: "fmt_ipv4", T.CIDR: "fmt_cidr",
              T.DURATION: "fmt_duration", T.SIZE: "fmt_size"}
    if t in simple:
        name = simple[t]
        return lambda e: f"{name}({e})"
    if t == T.BYTES:
        return lambda e: f"({e}).hex()"
    if isinstance(t, T.EnumT):
        return lambda e: f"({e}).name"
    if isinstance(t, T.OptionT):
        inner = formatter(t.inner, names, temp)

        def option(e: str) -> str:
            v = temp()
            return f"('none' if ({v} := {e}) is None else {inner(v)})"

        return option
    if isinstance(t, T.ListT):
        depth, innermost = 1, t.element
        while isinstance(innermost, T.ListT):
            depth, innermost = depth + 1, innermost.element
        if depth > MAX_INLINE_LIST_LEVELS:
            leaf = formatter(innermost, names, temp)
            return lambda e: f"fmt_lists({e}, {depth}, lambda v: {leaf('v')})"
        element = formatter(t.element, names, temp)

        def listing(e: str) -> str:
            v, items = temp(), temp()
            # The list is named before the generator: Python refuses an
            # assignment expression (from formatting an option inside `e`)
            # in a comprehension's iterable.
            return f"(({items} := {e}), '[' + ', '.join({element(v)} for {v} in {items}) + ']')[1]"

        return listing
    if isinstance(t, T.StructT):
        return lambda e: f"fmt_{names.get(t.name, t.name)}({e})"
    return lambda e: f"str({e})"
