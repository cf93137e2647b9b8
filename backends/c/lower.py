"""Lowering the residual program to C for the `hvt` and `unix` targets.

The same C serves both targets; only the components and the platform
differ.  Integer arithmetic is checked (`sc_add_u16(a, b, "dns.spec:3:5")`
traps with the spec position), strings and bytes are slices into the
event's arena, options are `{some, value}` structs, lists `{ptr, len}`
structs (literals in the arena, constants in static data).  GNU C statement
expressions (`({ ... })`) keep `match`, `??`, indexing and interpolation
expressions, and fix the order of evaluation where C leaves it open (the
operands of a call, an operator or a struct literal): left to right, as the
python target and the compile-time evaluator do.
"""

from __future__ import annotations

import os

from specc import ast
from specc import types as T
from specc.backends.c import globals as cglobals
from specc.backends.c.ctypes import ARITH, CTypes, Unsupported
from specc.backends.python.emitter import Emitter
from specc.check.checker import terminates
from specc.passes.image import Image
from specc.span import Span
from specc.values import (
    CidrV,
    DeviceV,
    DurationV,
    EnumV,
    FnRefV,
    Ipv4V,
    SizeV,
    StructV,
    Value,
)

_KEYWORDS_SAFE_PREFIX = "u_"


def c_string(data: bytes) -> str:
    """A C string literal for any bytes (octal escapes never run on)."""
    out = []
    for b in data:
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= b < 127 and ch != "?":
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def scalar_literal(value: Value, t: T.Type | None = None) -> str | None:
    """C for a bool, integer, string, bytes, address, duration or size; None
    for the other values (enums, structs, lists, functions, devices)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if t in (T.U64, T.SIZE) or value > 0x7FFF_FFFF_FFFF_FFFF:
            return f"UINT64_C({value})"
        if value < -0x7FFF_FFFF_FFFF_FFFF:
            return "INT64_MIN"
        return f"INT64_C({value})" if abs(value) > 0x7FFF_FFFF else str(value)
    if isinstance(value, str):
        data = value.encode()
        return f"((sc_str){{ {c_string(data)}, {len(data)} }})"
    if isinstance(value, bytes):
        return f"((sc_bytes){{ (const uint8_t *){c_string(value)}, {len(value)} }})"
    if isinstance(value, Ipv4V):
        return f"UINT32_C(0x{value.address:08x})"
    if isinstance(value, CidrV):
        return f"((sc_cidr){{ UINT32_C(0x{value.address:08x}), {value.prefix} }})"
    if isinstance(value, DurationV):  # as an i64: INT64_MIN has no literal of its own
        return scalar_literal(value.nanoseconds, T.I64)
    if isinstance(value, SizeV):
        return f"UINT64_C({value.size})"
    return None


class CLowerer:
    def __init__(self, image: Image, types: CTypes, devices: dict[str, str]) -> None:
        self.image = image
        self.program = image.declarations
        self.folded = image.code
        self.ctypes = types
        self.devices = devices  # instance key -> C prefix
        self.out = Emitter(empty_body=None)
        self.locals: list[dict[str, str]] = []
        self.taken: set[str] = set()  # every C local name of the function so far
        self.temps = 0

    # ------------------------------------------------------------ helpers
    def pos(self, span: Span) -> str:
        return c_string(f"{os.path.basename(span.file)}:{span.line}:{span.column}".encode())

    def type_of(self, e: ast.Expr) -> T.Type:
        t = self.folded.types.get(e) or self.program.types.get(e)
        return t if isinstance(t, T.Type) else T.ERROR

    def temp(self) -> str:
        self.temps += 1
        return f"t_{self.temps}"

    def local(self, name: str) -> str | None:
        for scope in reversed(self.locals):
            if name in scope:
                return scope[name]
        return None

    def declare(self, name: str) -> str:
        """A C name for a new local: unique in the function, so that an inner
        `let x = x + 1` reads the outer `x` (C would read the new one)."""
        c = _KEYWORDS_SAFE_PREFIX + name
        # Every name the function declared so far, not only the visible ones:
        # `let x: u8 = ...; let x: u64 = ...; let x: u32 = ...` in one block
        # hides the first two, but C still has them in that scope.
        if c in self.taken:
            self.temps += 1
            c = f"{c}_{self.temps}"
        self.taken.add(c)
        self.locals[-1][name] = c
        return c

    def pure(self, e: ast.Expr) -> bool:
        """Whether ``e`` can neither trap nor have an effect (so its order of
        evaluation against other operands does not matter)."""
        if isinstance(e, ast.Const | ast.IntLit | ast.BoolLit | ast.NoneLit | ast.BytesLit
                      | ast.DurationLit | ast.SizeLit | ast.Ipv4Lit | ast.CidrLit | ast.Name
                      | ast.ConfigRef | ast.TargetRef):
            return True
        if isinstance(e, ast.StringLit):
            return all(isinstance(p, str) for p in e.parts)
        if isinstance(e, ast.Field):
            return self.pure(e.obj)
        if isinstance(e, ast.SomeExpr):
            return self.pure(e.value)
        if isinstance(e, ast.Unary):
            return e.op is ast.UnaryOp.NOT and self.pure(e.operand)
        if isinstance(e, ast.Binary):
            return e.op in ("and", "or", "??", "==", "!=", "<", "<=", ">", ">=") \
                and self.pure(e.left) and self.pure(e.right)
        if isinstance(e, ast.IfExpr):
            return self.pure(e.cond) and self.pure(e.then) and self.pure(e.else_)
        return False

    def in_order(self, parts: list[tuple[str, bool]]) -> tuple[list[str], list[str]]:
        """C texts to evaluate left to right: when two or more may trap or have
        an effect, each of those goes into a temporary first.  Returns the
        declarations and the texts to use."""
        if sum(1 for _, impure in parts if impure) < 2:
            return [], [text for text, _ in parts]
        decls, names = [], []
        for text, impure in parts:
            if impure:
                v = self.temp()
                decls.append(f"__auto_type {v} = {text};")
                names.append(v)
            else:
                names.append(text)
        return decls, names

    @staticmethod
    def wrap(decls: list[str], text: str) -> str:
        return "({ " + " ".join(decls) + f" {text}; }})" if decls else text

    @staticmethod
    def function_name(name: str) -> str:
        return "f_" + name

    # ------------------------------------------------------------ values
    def const(self, value: Value, t: T.Type | None) -> str:
        if isinstance(value, DeviceV):
            return self.devices[value.key]
        if isinstance(value, FnRefV):
            return self.function_name(value.name)
        if isinstance(t, T.OptionT):
            option = self.ctypes.name(t)
            if value is None:
                return f"(({option}){{ 0 }})"
            return f"(({option}){{ true, {self.const(value, t.inner)} }})"
        if value is None:
            raise Unsupported("a `none` whose type is unknown")
        scalar = scalar_literal(value, t)
        if scalar is not None:
            return scalar
        if isinstance(value, EnumV):
            return f"{value.enum}_{value.name}" if value.enum != "Target" else str(value.index)
        if isinstance(value, tuple | StructV):
            if isinstance(value, StructV):
                t = T.StructT(value.name)
            if not isinstance(t, T.ListT | T.StructT):
                raise Unsupported(f"a constant list whose type is `{t}`")
            if value == ():
                return f"(({self.ctypes.name(t)}){{ 0, 0 }})"
            decls: list[str] = []
            init = self.static_init(value, t, decls)
            k = self.temp()
            decls.append(f"static const {self.ctypes.name(t)} {k} = {init};")
            return self.wrap(decls, k)
        raise Unsupported(f"constants of type `{t}`")

    def static_init(self, value: Value, t: T.Type, decls: list[str]) -> str:
        """A C initializer for ``value`` in static storage; the arrays of the
        lists it holds are appended to ``decls`` (before their use)."""
        if isinstance(t, T.OptionT):
            return "{ 0 }" if value is None else f"{{ true, {self.static_init(value, t.inner, decls)} }}"
        if isinstance(t, T.ListT):
            assert isinstance(value, tuple)
            if not value:
                return "{ 0, 0 }"
            items = ", ".join(self.static_init(v, t.element, decls) for v in value)
            k = self.temp()
            decls.append(f"static const {self.ctypes.name(t.element)} {k}[] = {{ {items} }};")
            return f"{{ {k}, {len(value)} }}"
        if isinstance(value, StructV):
            fields = self.ctypes.fields(value.name)
            inits = ", ".join(f".{k} = {self.static_init(v, fields[k], decls)}"
                              for k, v in value.fields)
            return f"{{ {inits} }}"
        if isinstance(value, str):
            data = value.encode()
            return f"{{ {c_string(data)}, {len(data)} }}"
        if isinstance(value, bytes):
            return f"{{ (const uint8_t *){c_string(value)}, {len(value)} }}"
        if isinstance(value, CidrV):
            return f"{{ UINT32_C(0x{value.address:08x}), {value.prefix} }}"
        return self.const(value, t)

    def coerce(self, text: str, actual: T.Type, expected: T.Type | None) -> str:
        """`T` where `T?` is expected becomes `{true, value}`."""
        if isinstance(expected, T.OptionT) and not isinstance(actual, T.OptionT) \
                and not isinstance(actual, T.ErrorT):
            return f"(({self.ctypes.name(expected)}){{ true, {text} }})"
        return text

    def expr_as(self, e: ast.Expr, expected: T.Type | None) -> str:
        if isinstance(e, ast.Const):
            return self.const(e.value, expected if expected is not None else None)
        if isinstance(e, ast.NoneLit) and isinstance(expected, T.OptionT):
            return f"(({self.ctypes.name(expected)}){{ 0 }})"
        return self.coerce(self.expr(e), self.type_of(e), expected)

    # ------------------------------------------------------------ functions
    def prototype(self, decl: ast.FnDecl) -> str:
        info = self.program.functions[decl.name]
        params = ", ".join(f"{self.ctypes.name(t)} {_KEYWORDS_SAFE_PREFIX}{p.name}"
                           for p, t in zip(decl.params, info.type.params, strict=True))
        return f"static {self.ctypes.name(info.type.result)} " \
               f"{self.function_name(decl.name)}({params or 'void'})"

    def function(self, decl: ast.FnDecl) -> str:
        info = self.program.functions[decl.name]
        self.out = Emitter(empty_body=None)
        self.locals = [{p.name: _KEYWORDS_SAFE_PREFIX + p.name for p in decl.params}]
        self.taken = set(self.locals[0].values())
        self.result = info.type.result
        self.out.line(self.prototype(decl) + " {")
        with self.out.indent():
            self.block_body(decl.body)
            if info.type.result is not None and not terminates(decl.body.stmts):
                self.out.line(f"sc_trap({self.pos(decl.span)}, \"function ended without "
                              "returning a value\");")
        self.out.line("}")
        return self.out.text()

    def main(self, body: ast.Block) -> str:
        self.out = Emitter(empty_body=None)
        self.locals = [{}]
        self.taken = set()
        self.result = None
        self.out.line("static void f_main(void) {")
        with self.out.indent():
            self.block_body(body)
        self.out.line("}")
        return self.out.text()

    # ------------------------------------------------------------ statements
    def block_body(self, block: ast.Block) -> None:
        self.locals.append({})
        for s in block.stmts:
            self.stmt(s)
        self.locals.pop()

    def braced(self, block: ast.Block) -> None:
        with self.out.indent():
            self.block_body(block)

    def stmt(self, s: ast.Stmt) -> None:
        out = self.out
        if isinstance(s, ast.Let):
            symbol = self.folded.symbol(s)
            t = symbol.type if symbol is not None and symbol.type is not None else \
                self.type_of(s.value)
            value = self.expr_as(s.value, t)
            out.line(f"{self.ctypes.name(t)} {self.declare(s.name)} = {value};")
            out.line(f"(void){self.local(s.name)};")
        elif isinstance(s, ast.Assign):
            name = self.local(s.target) or s.target
            symbol = self.folded.symbol(s)
            t = symbol.type if symbol is not None and symbol.type is not None else T.I64
            if symbol is not None and symbol.kind == "global-var" and \
                    self.local(s.target) is None:
                name = cglobals.c_name(s.target)
                value = self.expr_as(s.value, t) if s.op == "=" else \
                    self.operate(s.op[0], name, self.expr(s.value), t, s.span)
                out.line(cglobals.assignment(s.target, value, self.pos(s.span), t,
                                             self.struct_fields()))
            elif s.op == "=":
                out.line(f"{name} = {self.expr_as(s.value, t)};")
            else:
                out.line(f"{name} = {self.operate(s.op[0], name, self.expr(s.value), t, s.span)};")
        elif isinstance(s, ast.ExprStmt):
            if isinstance(s.expr, ast.Match):
                self.match_stmt(s.expr)
            else:
                out.line(f"{self.expr(s.expr)};")
        elif isinstance(s, ast.If):
            out.line(f"if ({self.expr(s.cond)}) {{")
            self.braced(s.then)
            self.else_part(s.else_)
        elif isinstance(s, ast.IfLet):
            v = self.temp()
            out.line(f"{{ __auto_type {v} = {self.expr(s.value)};")
            out.line(f"if ({v}.some) {{")
            with out.indent():
                self.locals.append({})
                name = self.declare(s.name)
                out.line(f"__auto_type {name} = {v}.value;")
                out.line(f"(void){name};")
                self.block_body(s.then)
                self.locals.pop()
            self.else_part(s.else_)
            out.line("}")
        elif isinstance(s, ast.While):
            out.line(f"while ({self.expr(s.cond)}) {{")
            self.braced(s.body)
            out.line("}")
        elif isinstance(s, ast.For):
            self.for_loop(s)
        elif isinstance(s, ast.Return):
            if s.value is None:
                out.line("return;")
            else:
                out.line(f"return {self.expr_as(s.value, self.result)};")
        elif isinstance(s, ast.Break):
            out.line("break;")
        elif isinstance(s, ast.Continue):
            out.line("continue;")
        elif isinstance(s, ast.Block):
            out.line("{")
            self.braced(s)
            out.line("}")

    def else_part(self, e: ast.Block | ast.If | ast.IfLet | None) -> None:
        if e is None:
            self.out.line("}")
            return
        self.out.line("} else {")
        with self.out.indent():
            if isinstance(e, ast.Block):
                self.block_body(e)
            else:
                self.stmt(e)
        self.out.line("}")

    def for_loop(self, s: ast.For) -> None:
        if s.upper is None:
            self.for_each(s)
            return
        t = self.type_of(s.iterable)
        ctype = self.ctypes.name(t)
        upper = self.temp()
        self.locals.append({})
        name = self.declare(s.name)
        self.out.line(f"for ({ctype} {name} = {self.expr(s.iterable)}, {upper} = "
                      f"{self.expr(s.upper)}; {name} < {upper}; {name}++) {{")
        self.braced(s.body)
        self.out.line("}")
        self.locals.pop()

    def for_each(self, s: ast.For) -> None:
        """`for x in xs` over a list, or over the bytes of a `bytes` value."""
        t = self.type_of(s.iterable)
        element = t.element if isinstance(t, T.ListT) else T.U8
        items, i = self.temp(), self.temp()
        self.out.line(f"{{ __auto_type {items} = {self.expr(s.iterable)};")
        self.out.line(f"for (size_t {i} = 0; {i} < {items}.len; {i}++) {{")
        with self.out.indent():
            self.locals.append({})
            name = self.declare(s.name)
            self.out.line(f"{self.ctypes.name(element)} {name} = {items}.ptr[{i}]; (void){name};")
            self.block_body(s.body)
            self.locals.pop()
        self.out.line("} }")

    def match_stmt(self, m: ast.Match) -> None:
        subject = self.temp()
        self.out.line(f"{{ __auto_type {subject} = {self.expr(m.scrutinee)};")
        t = self.type_of(m.scrutinee)
        for index, arm in enumerate(m.arms):
            test = self.pattern_test(arm.pattern, subject, t)
            keyword = "if" if index == 0 else "} else if"
            self.out.line(f"{keyword} ({test}) {{")
            with self.out.indent():
                self.locals.append({})
                self.bind(arm.pattern, subject, t)
                body = arm.body
                if isinstance(body, ast.Block):
                    self.block_body(body)
                elif isinstance(body, ast.Match):
                    self.match_stmt(body)
                elif isinstance(body, ast.Expr):
                    self.out.line(f"{self.expr(body)};")
                else:
                    self.stmt(body)
                self.locals.pop()
        self.out.line("} }")

    # ------------------------------------------------------------ patterns
    def pattern_test(self, p: ast.Pattern, subject: str, t: T.Type) -> str:
        if isinstance(p, ast.WildcardPat | ast.BindPat):
            return "1"
        if isinstance(p, ast.NonePat):
            return f"!{subject}.some"
        if isinstance(p, ast.SomePat):
            inner_t = t.inner if isinstance(t, T.OptionT) else T.ERROR
            inner = self.pattern_test(p.inner, f"{subject}.value", inner_t)
            return f"{subject}.some" + ("" if inner == "1" else f" && ({inner})")
        if isinstance(p, ast.EnumPat):
            return f"{subject} == {self.const(EnumV(p.enum, p.value, 0), t)}"
        if isinstance(p, ast.LiteralPat):
            return self.equal(subject, self.expr(p.value), t)
        tests = [self.pattern_test(a, subject, t) for a in p.alternatives]
        return "1" if "1" in tests else " || ".join(f"({x})" for x in tests)

    def bind(self, p: ast.Pattern, subject: str, t: T.Type) -> None:
        if isinstance(p, ast.BindPat):
            name = self.declare(p.name)
            self.out.line(f"__auto_type {name} = {subject}; (void){name};")
        elif isinstance(p, ast.SomePat):
            self.bind(p.inner, f"{subject}.value", t.inner if isinstance(t, T.OptionT) else t)

    def bindings_expr(self, p: ast.Pattern, subject: str) -> dict[str, str]:
        if isinstance(p, ast.BindPat):
            return {p.name: subject}
        if isinstance(p, ast.SomePat):
            return self.bindings_expr(p.inner, f"{subject}.value")
        return {}

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> str:
        if isinstance(e, ast.Const):
            return self.const(e.value, self.type_of(e) if not isinstance(self.type_of(e),
                                                                          T.ErrorT) else None)
        if isinstance(e, ast.IntLit):
            return self.const(e.value, self.type_of(e))
        if isinstance(e, ast.BoolLit):
            return "true" if e.value else "false"
        if isinstance(e, ast.NoneLit):
            t = self.type_of(e)
            return f"(({self.ctypes.name(t)}){{ 0 }})"
        if isinstance(e, ast.StringLit):
            return self.string(e)
        if isinstance(e, ast.BytesLit):
            return self.const(e.value, T.BYTES)
        if isinstance(e, ast.DurationLit):
            return f"INT64_C({e.nanoseconds})"
        if isinstance(e, ast.SizeLit):
            return f"UINT64_C({e.size})"
        if isinstance(e, ast.Ipv4Lit):
            return f"UINT32_C(0x{e.address:08x})"
        if isinstance(e, ast.CidrLit):
            return f"((sc_cidr){{ UINT32_C(0x{e.address:08x}), {e.prefix} }})"
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.ConfigRef):
            return f"cfg_{e.key}"
        if isinstance(e, ast.Field):
            return f"({self.expr(e.obj)}).{e.name}"
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Index):
            return self.index(e)
        if isinstance(e, ast.Slice):
            return self.slice(e)
        if isinstance(e, ast.ListLit):
            return self.list_literal(e)
        if isinstance(e, ast.Unary):
            if e.op is ast.UnaryOp.NOT:
                return f"(!{self.expr(e.operand)})"
            return f"sc_sub_i64(0, {self.expr(e.operand)}, {self.pos(e.span)})"
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Cast):
            return self.cast(e)
        if isinstance(e, ast.IfExpr):
            t = self.type_of(e)
            return f"({self.expr(e.cond)} ? {self.expr_as(e.then, t)} : {self.expr_as(e.else_, t)})"
        if isinstance(e, ast.Match):
            return self.match_expr(e)
        if isinstance(e, ast.StructLit):
            # Fields are evaluated in the order written, as on the python target.
            types = self.ctypes.fields(e.name)
            decls, values = self.in_order([(self.expr_as(f.value, types[f.name]),
                                            not self.pure(f.value)) for f in e.fields])
            fields = ", ".join(f".{f.name} = {v}" for f, v in zip(e.fields, values, strict=True))
            return self.wrap(decls, f"(({e.name}){{ {fields} }})")
        if isinstance(e, ast.SomeExpr):
            return self.coerce(self.expr(e.value), self.type_of(e.value), self.type_of(e))
        if isinstance(e, ast.TargetRef):
            return str(("hvt", "unix", "python").index(self.program.target))
        raise Unsupported(f"{type(e).__name__} expressions")

    def name(self, e: ast.Name) -> str:
        local = self.local(e.name)
        if local is not None:
            return local
        symbol = self.folded.symbol(e)
        if symbol is not None and symbol.kind == "device":
            return self.devices[self.image.devices[e.name]]
        if symbol is not None and symbol.kind == "function":
            return self.function_name(e.name)
        if symbol is not None and symbol.kind in ("config-param", "config-const"):
            return f"cfg_{e.name}"
        if symbol is not None and symbol.kind == "global-var":
            return cglobals.c_name(e.name)
        return _KEYWORDS_SAFE_PREFIX + e.name

    def struct_fields(self) -> dict[str, dict[str, T.Type]]:
        return {name: info.fields for name, info in self.program.structs.items()}

    def string(self, e: ast.StringLit) -> str:
        if all(isinstance(p, str) for p in e.parts):
            return self.const("".join(p for p in e.parts if isinstance(p, str)), T.STRING)
        buf = self.temp()
        pieces = [f"sc_buf {buf} = {{ 0, 0, 0, {self.pos(e.span)} }};"]
        for part in e.parts:
            if isinstance(part, str):
                if part:
                    data = part.encode()
                    pieces.append(f"sc_buf_lit(&{buf}, {c_string(data)}, {len(data)});")
            else:
                pieces.append(self.ctypes.format_into(f"&{buf}", self.expr(part),
                                                      self.type_of(part)))
        pieces.append(f"sc_buf_done(&{buf});")
        return "({ " + " ".join(pieces) + " })"

    def call(self, e: ast.Call) -> str:
        symbol = self.folded.symbol(e.callee)
        kind = symbol.kind if symbol is not None else ""
        if kind == "builtin" and isinstance(e.callee, ast.Name):
            name = e.callee.name
            values = [self.expr(a.value) for a in e.args]
            if name == "len":
                return f"((uint64_t)({values[0]}).len)"
            if name in ("min", "max"):
                # Temporaries of the result's C type: a folded constant
                # argument is a bare C literal (an `int`), not a `uint32_t`.
                ctype = self.ctypes.name(self.type_of(e))
                result = values[0]
                for other in values[1:]:
                    a, b = self.temp(), self.temp()
                    op = "<" if name == "min" else ">"
                    result = f"({{ {ctype} {a} = {result}; {ctype} {b} = {other}; " \
                             f"{a} {op} {b} ? {a} : {b}; }})"
                return result
            mapping = {"utf8": "sc_utf8", "print": "sc_print", "exit": "sc_exit",
                       "now": "sc_now"}
            if name not in mapping:
                raise Unsupported(f"`{name}` at run time")
            return f"{mapping[name]}({', '.join(values)})"
        if kind == "function" and isinstance(e.callee, ast.Name):
            info = self.program.functions[e.callee.name]
            decls, args = self.arguments(e, list(info.param_names), list(info.type.params))
            return self.wrap(decls, f"{self.function_name(e.callee.name)}({args})")
        if kind == "operation" and isinstance(e.callee, ast.Field) and symbol is not None:
            iface, _, op = symbol.name.partition(".")
            info_op = self.program.interfaces[iface].ops[op]
            for t in info_op.type.params:
                self.ctypes.name(t)  # an operation C cannot declare is refused here
            self.ctypes.name(info_op.type.result)
            decls, args = self.arguments(e, list(info_op.param_names), list(info_op.type.params))
            return self.wrap(decls, f"{self.expr(e.callee.obj)}_{op}({args})")
        callee_type = self.type_of(e.callee)
        if isinstance(callee_type, T.FnT):
            decls, values = self.in_order(
                [(self.expr_as(a.value, t), not self.pure(a.value))
                 for a, t in zip(e.args, callee_type.params, strict=False)])
            return self.wrap(decls, f"({self.expr(e.callee)})({', '.join(values)})")
        raise Unsupported("this call")

    def arguments(self, e: ast.Call, names: list[str],
                  types: list[T.Type]) -> tuple[list[str], str]:
        """The arguments in parameter order (the order the python target and
        the evaluator evaluate them in), and the declarations that fix it."""
        ordered: list[tuple[str, bool] | None] = [None] * len(names)
        position = 0
        for arg in e.args:
            index = position if arg.name is None else names.index(arg.name)
            if arg.name is None:
                position += 1
            ordered[index] = (self.expr_as(arg.value, types[index]), not self.pure(arg.value))
        decls, values = self.in_order([a for a in ordered if a is not None])
        return decls, ", ".join(values)

    def binary(self, e: ast.Binary) -> str:
        op = e.op
        if op in ("and", "or"):
            return f"({self.expr(e.left)} {'&&' if op == 'and' else '||'} {self.expr(e.right)})"
        if op == "??":
            v = self.temp()
            t = self.type_of(e)
            return (f"({{ __auto_type {v} = {self.expr(e.left)}; {v}.some ? "
                    f"{self.coerce(f'{v}.value', T.ERROR, None)} : {self.expr_as(e.right, t)}; }})")
        left_t = self.type_of(e.left)
        if op in ("==", "!="):
            if isinstance(e.right, ast.NoneLit) or (isinstance(e.right, ast.Const)
                                                   and e.right.value is None):
                return f"({'!' if op == '==' else ''}{self.expr(e.left)}.some)"
            t = left_t
            if not isinstance(t, T.OptionT) and isinstance(self.type_of(e.right), T.OptionT):
                t = self.type_of(e.right)  # `x == opt`: compare as options
            decls, (left, right) = self.in_order(
                [(self.expr_as(e.left, t), not self.pure(e.left)),
                 (self.expr_as(e.right, t), not self.pure(e.right))])
            text = self.wrap(decls, self.equal(left, right, t))
            return text if op == "==" else f"(!{text})"
        decls, (left, right) = self.in_order([(self.expr(e.left), not self.pure(e.left)),
                                              (self.expr(e.right), not self.pure(e.right))])
        if op == "/" and left_t == T.DURATION and self.type_of(e.right) == T.DURATION:
            # A u64 (v1.1).
            return self.wrap(decls, f"sc_ratio_duration({left}, {right}, {self.pos(e.span)})")
        if op in ("<", "<=", ">", ">="):
            if left_t in (T.STRING, T.BYTES):
                cast = "sc_str_bytes" if left_t == T.STRING else ""
                return self.wrap(decls, f"(sc_bytes_cmp({cast}({left}), {cast}({right})) {op} 0)")
            return self.wrap(decls, f"({left} {op} {right})")
        return self.wrap(decls, self.operate(op, left, right, self.type_of(e), e.span))

    def equal(self, left: str, right: str, t: T.Type) -> str:
        return self.ctypes.equal(left, right, t)

    def operate(self, op: str, left: str, right: str, t: T.Type, span: Span) -> str:
        pos = self.pos(span)
        if t == T.STRING:
            return f"sc_str_concat({left}, {right}, {pos})"
        if t == T.BYTES:
            return f"sc_bytes_concat({left}, {right}, {pos})"
        if isinstance(t, T.ListT):
            a, b = self.temp(), self.temp()
            return (f"({{ __auto_type {a} = {left}; __auto_type {b} = {right}; "
                    f"({self.ctypes.name(t)}){{ sc_list_concat({a}.ptr, {a}.len, {b}.ptr, "
                    f"{b}.len, sizeof *{a}.ptr, {pos}), {a}.len + {b}.len }}; }})")
        family = ARITH.get(str(t))
        if family is None:
            raise Unsupported(f"`{op}` on `{t}`")
        if op in ("+", "-", "*"):
            name = {"+": "add", "-": "sub", "*": "mul"}[op]
            return f"sc_{name}_{family}({left}, {right}, {pos})"
        if op == "/":
            return f"sc_div_{family}({left}, {right}, {pos})"
        if op == "%":
            return f"sc_rem_{family}({left}, {right}, {pos})"
        if op in ("&", "|", "^"):
            return f"(({self.ctypes.name(t)})({left} {op} {right}))"
        if op in ("<<", ">>"):
            return f"sc_{'shl' if op == '<<' else 'shr'}_{family}({left}, {right}, {pos})"
        raise Unsupported(f"`{op}` on `{t}`")

    def cast(self, e: ast.Cast) -> str:
        target, source = self.type_of(e), self.type_of(e.expr)
        inner = self.expr(e.expr)
        if target == T.BYTES and source == T.STRING:
            return f"sc_str_bytes({inner})"
        if T.is_integer(target) and T.is_integer(source):
            low, high = T.INTEGER_RANGES[target]  # type: ignore[index]
            s_low, s_high = T.INTEGER_RANGES[source]  # type: ignore[index]
            ctype = self.ctypes.name(target)
            if s_low >= low and s_high <= high:
                return f"(({ctype}){inner})"
            if source == T.I64:
                top = "INT64_MAX" if high > 0x7FFF_FFFF_FFFF_FFFF else f"INT64_C({high})"
                return f"(({ctype})sc_fit({inner}, {low}, {top}, {self.pos(e.span)}))"
            if target == T.I64:
                return f"((int64_t)sc_fit_u({inner}, INT64_MAX, {self.pos(e.span)}))"
            return f"(({ctype})sc_fit_u({inner}, UINT64_C({high}), {self.pos(e.span)}))"
        return inner

    def match_expr(self, m: ast.Match) -> str:
        subject, result = self.temp(), self.temp()
        t = self.type_of(m)
        scrutinee_t = self.type_of(m.scrutinee)
        parts = [f"__auto_type {subject} = {self.expr(m.scrutinee)};",
                 f"{self.ctypes.name(t)} {result};"]
        for index, arm in enumerate(m.arms):
            assert isinstance(arm.body, ast.Expr)
            self.locals.append(self.bindings_expr(arm.pattern, subject))
            value = self.expr_as(arm.body, t)
            self.locals.pop()
            test = self.pattern_test(arm.pattern, subject, scrutinee_t)
            parts.append(f"{'if' if index == 0 else 'else if'} ({test}) {result} = {value};")
        parts.append(f"else sc_trap({self.pos(m.span)}, \"no arm matched\");")
        return "({ " + " ".join(parts) + f" {result}; }})"

    def index(self, e: ast.Index) -> str:
        """`xs[i]` of a list or of bytes: trapping outside, as the python target."""
        obj, i = self.temp(), self.temp()
        pos = self.pos(e.span)
        head = f"__auto_type {obj} = {self.expr(e.obj)}; uint64_t {i} = {self.expr(e.index)};"
        if self.type_of(e.obj) == T.BYTES:
            return f"({{ {head} sc_bytes_at({obj}, {i}, {pos}); }})"
        return (f"({{ {head} if ({i} >= {obj}.len) sc_trap_index({pos}, {i}, {obj}.len); "
                f"{obj}.ptr[{i}]; }})")

    def slice(self, e: ast.Slice) -> str:
        obj, lo, hi, r = self.temp(), self.temp(), self.temp(), self.temp()
        parts = [f"__auto_type {obj} = {self.expr(e.obj)};",
                 f"uint64_t {lo} = {self.expr(e.lower) if e.lower is not None else '0'};",
                 f"uint64_t {hi} = {self.expr(e.upper) if e.upper is not None else '0'};",
                 f"sc_range {r} = sc_slice_range({obj}.len, {str(e.lower is not None).lower()}, "
                 f"{lo}, {str(e.upper is not None).lower()}, {hi}, {self.pos(e.span)});"]
        result = self.ctypes.name(self.type_of(e))
        return "({ " + " ".join(parts) + f" ({result}){{ {obj}.ptr + {r}.lo, {r}.hi - {r}.lo }}; }})"

    def list_literal(self, e: ast.ListLit) -> str:
        """`[a, b, c]`: the elements, in order, in an array in the event's arena."""
        t = self.type_of(e)
        if not isinstance(t, T.ListT):
            raise Unsupported("a list literal whose type is unknown")
        list_c = self.ctypes.name(t)
        if not e.items:
            return f"(({list_c}){{ 0, 0 }})"
        element = self.ctypes.name(t.element)
        p = self.temp()
        n = len(e.items)
        parts = [f"{element} *{p} = sc_alloc_at({n} * sizeof *{p}, {self.pos(e.span)});"]
        parts += [f"{p}[{k}] = {self.expr_as(item, t.element)};" for k, item in enumerate(e.items)]
        return "({ " + " ".join(parts) + f" ({list_c}){{ {p}, {n} }}; }})"
