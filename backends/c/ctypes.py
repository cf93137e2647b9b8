"""specc types as C types for the `hvt` and `unix` targets."""

from __future__ import annotations

from specc import types as T


class Unsupported(Exception):
    """Something the C targets do not build yet (reported as E0701)."""


_PRIM = {"bool": "bool", "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t",
         "u64": "uint64_t", "i64": "int64_t", "string": "sc_str", "bytes": "sc_bytes",
         "Ipv4": "uint32_t", "Cidr": "sc_cidr", "Duration": "int64_t", "Size": "uint64_t"}
# The checked-arithmetic family (sc_add_u16, ...) of each integer-like type.
ARITH = {"u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64", "i64": "i64",
         "Duration": "i64", "Size": "u64"}


class CTypes:
    """Names C types and collects the option and function typedefs they need."""

    def __init__(self) -> None:
        self.typedefs: dict[str, str] = {}  # name -> definition, in order of need

    def name(self, t: T.Type | None) -> str:
        if t is None or isinstance(t, T.VoidT):
            return "void"
        if isinstance(t, T.Prim):
            if t.name in _PRIM:
                return _PRIM[t.name]
            raise Unsupported(f"values of type `{t}` at run time")
        if isinstance(t, T.EnumT | T.StructT):
            return t.name if t.name != "Target" else "uint8_t"
        if isinstance(t, T.OptionT):
            return self.option(t)
        if isinstance(t, T.FnT):
            return self.function(t)
        if isinstance(t, T.ListT):
            raise Unsupported("lists")
        raise Unsupported(f"values of type `{t}`")

    def mangle(self, t: T.Type) -> str:
        if isinstance(t, T.Prim):
            return {"string": "str", "bytes": "bytes"}.get(t.name, t.name.lower())
        if isinstance(t, T.EnumT | T.StructT):
            return t.name
        if isinstance(t, T.OptionT):
            return "opt_" + self.mangle(t.inner)
        if isinstance(t, T.FnT):
            return "fn_" + "_".join(self.mangle(p) for p in t.params) + "_to_" + \
                (self.mangle(t.result) if t.result is not None else "void")
        raise Unsupported(f"values of type `{t}`")

    def option(self, t: T.OptionT) -> str:
        if t.inner == T.BYTES:
            return "sc_opt_bytes"
        if t.inner == T.STRING:
            return "sc_opt_str"
        name = "sc_opt_" + self.mangle(t.inner)
        if name not in self.typedefs:
            inner = self.name(t.inner)
            self.typedefs[name] = f"typedef struct {{ bool some; {inner} value; }} {name};"
        return name

    def function(self, t: T.FnT) -> str:
        name = "sc_" + self.mangle(t)
        if name not in self.typedefs:
            params = ", ".join(self.name(p) for p in t.params) or "void"
            self.typedefs[name] = f"typedef {self.name(t.result)} (*{name})({params});"
        return name
