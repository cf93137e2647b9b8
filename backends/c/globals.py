"""Top-level `var`s in C: a static variable each, and for values that point
into memory (strings, bytes, and options or structs holding them) storage of
their own, because the per-event arena they are built in is reset after the
event (runtime/core/sc.h, "top-level vars").

Before::

    var last: string = "none yet"
    fn note(s: string) { last = s }

After (app.c)::

    static sc_str var_last;
    static uint8_t var_last_store[2][SC_VAR_CAPACITY];
    static unsigned var_last_half;
    static sc_str var_last_keep(sc_str v, const char *pos) { ... copy v ... }
    ... var_last = var_last_keep(u_s, "app.spec:2:23"); ...
"""

from __future__ import annotations

from collections.abc import Callable

from specc import types as T
from specc.backends.c.ctypes import CTypes


def c_name(name: str) -> str:
    return f"var_{name}"


def needs_storage(t: T.Type, structs: dict[str, dict[str, T.Type]]) -> bool:
    """Whether a value of ``t`` points into memory (and so into the arena)."""
    if t in (T.STRING, T.BYTES):
        return True
    if isinstance(t, T.ListT):
        return True
    if isinstance(t, T.OptionT):
        return needs_storage(t.inner, structs)
    if isinstance(t, T.StructT):
        return any(needs_storage(f, structs) for f in structs.get(t.name, {}).values())
    return False


def copy_expr(value: str, t: T.Type, structs: dict[str, dict[str, T.Type]],
              temp: Callable[[], str]) -> str:
    """C for a deep copy of ``value`` (of type ``t``) into the keep context `k`."""
    if t == T.STRING:
        v = temp()
        return (f"({{ sc_str {v} = {value}; (sc_str){{ (const char *)sc_keep_bytes(&k, "
                f"(const uint8_t *){v}.ptr, {v}.len), {v}.len }}; }})")
    if t == T.BYTES:
        v = temp()
        return (f"({{ sc_bytes {v} = {value}; (sc_bytes){{ sc_keep_bytes(&k, {v}.ptr, {v}.len), "
                f"{v}.len }}; }})")
    if isinstance(t, T.OptionT) and needs_storage(t.inner, structs):
        v = temp()
        inner = copy_expr(f"{v}.value", t.inner, structs, temp)
        return f"({{ __auto_type {v} = {value}; if ({v}.some) {v}.value = {inner}; {v}; }})"
    if isinstance(t, T.StructT) and needs_storage(t, structs):
        v = temp()
        fields = structs.get(t.name, {})
        copies = " ".join(f"{v}.{f} = {copy_expr(f'{v}.{f}', ft, structs, temp)};"
                          for f, ft in fields.items() if needs_storage(ft, structs))
        return f"({{ __auto_type {v} = {value}; {copies} {v}; }})"
    if isinstance(t, T.ListT):
        # The elements, aligned, then a deep copy of each that points into memory.
        v, q, i, e = temp(), temp(), temp(), temp()
        deep = ""
        if needs_storage(t.element, structs):
            copy = copy_expr(f"{v}.ptr[{i}]", t.element, structs, temp)
            deep = (f"for (size_t {i} = 0; {i} < {v}.len; {i}++) {{ __auto_type {e} = {copy}; "
                    f"__builtin_memcpy({q} + {i} * sizeof {e}, &{e}, sizeof {e}); }} ")
        return (f"({{ __auto_type {v} = {value}; sc_keep_align(&k); "
                f"uint8_t *{q} = (uint8_t *)sc_keep_bytes(&k, (const uint8_t *){v}.ptr, "
                f"{v}.len * sizeof *{v}.ptr); {deep}if ({v}.len) {v}.ptr = (void *){q}; {v}; }})")
    return value


def definitions(name: str, t: T.Type, ctypes: CTypes,
                structs: dict[str, dict[str, T.Type]]) -> list[str]:
    """The static variable, and for a value that points into memory, its
    storage and the function that copies a new value into it."""
    ctype = ctypes.name(t)
    var = c_name(name)
    lines = [f"static {ctype} {var};"]
    if not needs_storage(t, structs):
        return lines
    count = [0]

    def temp() -> str:
        count[0] += 1
        return f"v_{count[0]}"

    copy = copy_expr("v", t, structs, temp)
    lines += [f"static _Alignas(16) uint8_t {var}_store[2][SC_VAR_CAPACITY];",
              f"static unsigned {var}_half;",
              f"static {ctype} {var}_keep({ctype} v, const char *pos) {{",
              f"    {var}_half ^= 1u;",
              f"    sc_keep k = {{ {var}_store[{var}_half], 0, pos }};",
              f"    return {copy};",
              "}"]
    return lines


def assignment(name: str, value: str, pos: str, t: T.Type,
               structs: dict[str, dict[str, T.Type]]) -> str:
    """The statement that gives a `var` a new value."""
    var = c_name(name)
    if needs_storage(t, structs):
        return f"{var} = {var}_keep({value}, {pos});"
    return f"{var} = {value};"
