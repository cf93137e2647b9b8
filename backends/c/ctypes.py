"""specc types as C types for the `hvt` and `unix` targets.

`CTypes` names the C type of every specc type and collects, in an order C
accepts (each definition after what it uses), the definitions the generated
code needs: the program's enums and structs, one option struct per option
type, one list struct per list type, function-pointer typedefs, and the
equality and formatting functions of the types that need one (structs,
lists, options, `Cidr`).  Only the types an image uses get a list struct or
a helper, so an image without lists carries no list code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from specc import ast
from specc import types as T
from specc.check.program import StructInfo


class Unsupported(Exception):
    """Something the C targets do not build yet (reported as E0701)."""


_PRIM = {"bool": "bool", "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t",
         "u64": "uint64_t", "i64": "int64_t", "string": "sc_str", "bytes": "sc_bytes",
         "Ipv4": "uint32_t", "Cidr": "sc_cidr", "Duration": "int64_t", "Size": "uint64_t"}
# The checked-arithmetic family (sc_add_u16, ...) of each integer-like type.
ARITH = {"u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64", "i64": "i64",
         "Duration": "i64", "Size": "u64"}
# How a scalar is put into a string (sc_buf_*), LANGUAGE.md section 4.
_FORMAT = {"bool": "sc_buf_bool", "u8": "sc_buf_u64", "u16": "sc_buf_u64", "u32": "sc_buf_u64",
           "u64": "sc_buf_u64", "i64": "sc_buf_i64", "string": "sc_buf_str",
           "bytes": "sc_buf_hex", "Ipv4": "sc_buf_ipv4", "Cidr": "sc_buf_cidr",
           "Duration": "sc_buf_duration", "Size": "sc_buf_size"}


class CTypes:
    """Names C types and collects the definitions they need."""

    def __init__(self, structs: Mapping[str, StructInfo] | None = None,
                 enums: Mapping[str, ast.EnumDecl] | None = None,
                 runtime_structs: Iterable[str] = ()) -> None:
        # runtime_structs: the structs the run-time core defines itself
        # (core/sc.h): those of the shipped prelude (Image.declarations).
        self.structs = structs or {}
        self.runtime_structs = frozenset(runtime_structs)
        self.enums = enums or {}
        self.typedefs: dict[str, str] = {}  # name -> definition, in order of need
        self.helper_prototypes: dict[str, str] = {}
        self.helpers: dict[str, str] = {}  # name -> definition (static functions)
        for name in self.enums:
            self.enum(name)
        for name in self.structs:
            self.struct(name)

    def name(self, t: T.Type | None) -> str:
        if t is None or isinstance(t, T.VoidT):
            return "void"
        if isinstance(t, T.Prim):
            if t.name in _PRIM:
                return _PRIM[t.name]
            raise Unsupported(f"values of type `{t}` at run time")
        if isinstance(t, T.EnumT):
            return self.enum(t.name)
        if isinstance(t, T.StructT):
            return self.struct(t.name)
        if isinstance(t, T.OptionT):
            return self.option(t)
        if isinstance(t, T.FnT):
            return self.function(t)
        if isinstance(t, T.ListT):
            return self.list_type(t)
        raise Unsupported(f"values of type `{t}`")

    def mangle(self, t: T.Type) -> str:
        if isinstance(t, T.Prim):
            return {"string": "str", "bytes": "bytes"}.get(t.name, t.name.lower())
        if isinstance(t, T.EnumT | T.StructT):
            return t.name
        if isinstance(t, T.OptionT):
            return "opt_" + self.mangle(t.inner)
        if isinstance(t, T.ListT):
            return "list_" + self.mangle(t.element)
        if isinstance(t, T.FnT):
            return "fn_" + "_".join(self.mangle(p) for p in t.params) + "_to_" + \
                (self.mangle(t.result) if t.result is not None else "void")
        raise Unsupported(f"values of type `{t}`")

    # ------------------------------------------------------------ definitions
    def enum(self, name: str) -> str:
        if name == "Target":
            return "uint8_t"
        if name not in self.typedefs and name in self.enums:
            variants = self.enums[name].variants
            values = ", ".join(f"{name}_{v.name} = {i}" for i, v in enumerate(variants))
            names = ", ".join(f'"{v.name}"' for v in variants)
            self.typedefs[name] = (
                f"typedef uint8_t {name};\nenum {{ {values} }};\n"
                f"static const char *const {name}_names[] __attribute__((unused)) = "
                f"{{ {names} }};")
        return name

    def struct(self, name: str) -> str:
        if name in self.runtime_structs or name in self.typedefs or name not in self.structs:
            return name
        # The forward typedef first: a list of the struct inside its own
        # fields needs only that.
        self.typedefs[name] = f"typedef struct {name} {name};"
        fields = " ".join(f"{self.name(ft)} {f};" for f, ft in self.structs[name].fields.items())
        self.typedefs["struct " + name] = f"struct {name} {{ {fields} }};"
        return name

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

    def list_type(self, t: T.ListT) -> str:
        name = "sc_" + self.mangle(t)
        if name not in self.typedefs:
            element = self.name(t.element)
            self.typedefs[name] = f"typedef struct {{ const {element} *ptr; size_t len; }} {name};"
        return name

    def function(self, t: T.FnT) -> str:
        name = "sc_" + self.mangle(t)
        if name not in self.typedefs:
            params = ", ".join(self.name(p) for p in t.params) or "void"
            self.typedefs[name] = f"typedef {self.name(t.result)} (*{name})({params});"
        return name

    # ------------------------------------------------------------ helpers
    def equal(self, a: str, b: str, t: T.Type) -> str:
        """C for `a == b`, both of type ``t`` (evaluated once each)."""
        if t == T.STRING:
            return f"sc_str_eq({a}, {b})"
        if t == T.BYTES:
            return f"sc_bytes_eq({a}, {b})"
        if isinstance(t, T.OptionT | T.ListT | T.StructT) or t == T.CIDR:
            return f"{self.equality(t)}({a}, {b})"
        return f"({a} == {b})"

    def equality(self, t: T.Type) -> str:
        """The name of the equality function of a struct, list, option or Cidr."""
        c = self.name(t)
        name = "sc_eq_" + self.mangle(t)
        prototype = f"static bool {name}({c} a, {c} b)"
        if name in self.helper_prototypes:
            return name
        self.helper_prototypes[name] = prototype + ";"  # first: a recursive type calls itself
        if t == T.CIDR:
            body = "    return a.address == b.address && a.prefix == b.prefix;"
        elif isinstance(t, T.OptionT):
            body = f"    return a.some == b.some && (!a.some || {self.equal('a.value', 'b.value', t.inner)});"
        elif isinstance(t, T.ListT):
            body = ("    if (a.len != b.len) return false;\n"
                    "    for (size_t i = 0; i < a.len; i++)\n"
                    f"        if (!{self.equal('a.ptr[i]', 'b.ptr[i]', t.element)}) return false;\n"
                    "    return true;")
        else:
            assert isinstance(t, T.StructT)
            tests = [self.equal(f"a.{f}", f"b.{f}", ft) for f, ft in self.fields(t.name).items()]
            body = "    return " + (" && ".join(tests) or "true") + ";"
        self.helpers[name] = prototype + " {\n" + body + "\n}"
        return name

    def fields(self, struct: str) -> Mapping[str, T.Type]:
        if struct not in self.structs:
            raise Unsupported(f"the struct `{struct}`")
        return self.structs[struct].fields

    def format_into(self, buf: str, value: str, t: T.Type) -> str:
        """A C statement appending ``value`` (of type ``t``) to the sc_buf
        pointer ``buf`` as string interpolation shows it."""
        if isinstance(t, T.Prim):
            if t.name not in _FORMAT:
                raise Unsupported(f"putting a `{t}` in a string")
            return f"{_FORMAT[t.name]}({buf}, {value});"
        return f"{self.formatter(t)}({buf}, {value});"

    def formatter(self, t: T.Type) -> str:
        """The name of the function formatting an enum, option, list or struct."""
        c = self.name(t)
        name = "sc_fmt_" + self.mangle(t)
        prototype = f"static void {name}(sc_buf *b, {c} v)"
        if name in self.helper_prototypes:
            return name
        self.helper_prototypes[name] = prototype + ";"
        if isinstance(t, T.EnumT):
            names = f"{t.name}_names" if t.name != "Target" else "Target_names"
            body = f"    const char *n = {names}[v];\n    sc_buf_lit(b, n, strlen(n));"
        elif isinstance(t, T.OptionT):
            body = (f"    if (v.some) {{ {self.format_into('b', 'v.value', t.inner)} }}\n"
                    '    else sc_buf_lit(b, "none", 4);')
        elif isinstance(t, T.ListT):
            body = ('    sc_buf_lit(b, "[", 1);\n'
                    "    for (size_t i = 0; i < v.len; i++) {\n"
                    '        if (i) sc_buf_lit(b, ", ", 2);\n'
                    f"        {self.format_into('b', 'v.ptr[i]', t.element)}\n"
                    "    }\n"
                    '    sc_buf_lit(b, "]", 1);')
        elif isinstance(t, T.StructT):
            lines = []
            for index, (f, ft) in enumerate(self.fields(t.name).items()):
                label = f"{', ' if index else ''}{f}: "
                lines.append(f'    sc_buf_lit(b, "{label}", {len(label)});')
                lines.append("    " + self.format_into("b", f"v.{f}", ft))
            head = f"{t.name} {{ "
            body = "\n".join([f'    sc_buf_lit(b, "{head}", {len(head)});', *lines,
                              '    sc_buf_lit(b, " }", 2);'])
        else:
            raise Unsupported(f"putting a `{t}` in a string")
        self.helpers[name] = prototype + " {\n" + body + "\n}"
        return name

    def helper_text(self) -> list[str]:
        """The prototypes, then the definitions, of every helper used."""
        return [*self.helper_prototypes.values(), *self.helpers.values()]
