"""Lowering the residual program (after fold and dce) to Python source.

Integers stay Python ints with explicit range checks (checked arithmetic,
LANGUAGE.md section 4), options are `None` or the value, lists are tuples,
structs frozen dataclasses and enums `IntEnum`s.  Every trap names the spec
position it comes from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from specc import ast
from specc import types as T
from specc.backends.python.deep import Heights, local_names
from specc.backends.python.emitter import Emitter
from specc.backends.python.literals import literal
from specc.backends.python.names import Namer
from specc.backends.python.pytypes import annotation, formatter
from specc.check.checker import terminates
from specc.passes.image import Image
from specc.span import Span
from specc.values import DeviceV, FnRefV

_RUNTIME_BUILTINS = {"len": "len", "min": "min", "max": "max", "utf8": "utf8", "now": "now"}


class Lowerer:
    def __init__(self, image: Image, names: dict[str, str], namer: Namer) -> None:
        self.image = image
        self.program = image.declarations
        self.folded = image.code
        self.names = names  # specc global name -> Python name
        self.namer = namer
        self.out = Emitter()
        self.locals: list[dict[str, str]] = []
        self.temp_count = 0
        # Module-level helpers that hold subexpressions too deep to write
        # inline (backends/python/deep.py), in the order they were made.
        self.helpers: list[str] = []
        self.heights = Heights()
        # The top-level `var`s the body being lowered assigns: they need a
        # `global` statement at the top of its Python function.
        self.assigned_globals: set[str] = set()

    # ------------------------------------------------------------ helpers
    def position(self, span: Span) -> str:
        return f"{os.path.basename(span.file)}:{span.line}:{span.column}"

    def type_of(self, e: ast.Expr) -> T.Type:
        t = self.folded.types.get(e) or self.program.types.get(e)
        return t if isinstance(t, T.Type) else T.ERROR

    def temp(self) -> str:
        self.temp_count += 1
        return f"_t{self.temp_count}"

    def declare(self, name: str) -> str:
        python = self.namer_local(name)
        self.locals[-1][name] = python
        return python

    def namer_local(self, name: str) -> str:
        used = {v for scope in self.locals for v in scope.values()}
        candidate = name if name not in self.names.values() else f"{name}_"
        base = candidate
        n = 1
        while candidate in used or candidate in _RESERVED_LOCAL:
            n += 1
            candidate = f"{base}_{n}"
        return candidate

    def local(self, name: str) -> str | None:
        for scope in reversed(self.locals):
            if name in scope:
                return scope[name]
        return None

    # ------------------------------------------------------------ functions
    def function(self, decl: ast.FnDecl) -> str:
        info = self.program.functions[decl.name]
        self.out = Emitter()
        self.locals = [{}]
        params = []
        for param, t in zip(decl.params, info.type.params, strict=True):
            params.append(f"{self.declare(param.name)}: {annotation(t, self.names)}")
        result = annotation(info.type.result, self.names)
        if decl.doc:
            self.out.line(f"# {decl.doc.splitlines()[0]}")
        self.out.line(f"def {self.names[decl.name]}({', '.join(params)}) -> {result}:")
        header = len(self.out.lines)
        self.assigned_globals = set()
        with self.out.indent():
            self.block(decl.body)
            if info.type.result is not None and not terminates(decl.body.stmts):
                self.out.line(f"trap({self.position(decl.span)!r}, 'function ended without "
                              "returning a value')")
        self.declare_globals(header)
        return self.out.text()

    def main(self, body: ast.Block) -> str:
        self.out = Emitter()
        self.locals = [{}]
        self.out.line("def main() -> None:")
        self.assigned_globals = set()
        with self.out.indent():
            self.block(body)
        self.declare_globals(1)
        return self.out.text()

    def declare_globals(self, at: int) -> None:
        if self.assigned_globals:
            names = ", ".join(sorted(self.assigned_globals))
            self.out.lines.insert(at, f"    global {names}")

    def expression_text(self, e: ast.Expr) -> str:
        """A lone expression (a `requires` condition), outside any function."""
        self.locals = [{}]
        return self.expr(e)

    # ------------------------------------------------------------ statements
    def block(self, block: ast.Block) -> None:
        self.locals.append({})
        try:
            for s in block.stmts:
                self.stmt(s)
        finally:
            self.locals.pop()

    def stmt(self, s: ast.Stmt) -> None:
        out = self.out
        if isinstance(s, ast.Let):
            value = self.expr(s.value)
            symbol = self.folded.symbol(s)
            t = symbol.type if symbol is not None and symbol.type is not None else None
            name = self.declare(s.name)
            out.line(f"{name}: {annotation(t, self.names)} = {value}")
        elif isinstance(s, ast.Assign):
            self.assign(s)
        elif isinstance(s, ast.ExprStmt):
            if isinstance(s.expr, ast.Match):
                self.match_stmt(s.expr)
            else:
                out.line(self.expr(s.expr))
        elif isinstance(s, ast.If):
            self.if_chain(s)
        elif isinstance(s, ast.IfLet):
            value = self.expr(s.value)
            self.locals.append({})
            name = self.declare(s.name)
            out.line(f"{name} = {value}")
            out.line(f"if {name} is not None:")
            with out.indent():
                self.block(s.then)
            self.locals.pop()
            if s.else_ is not None:
                out.line("else:")
                with out.indent():
                    self.else_body(s.else_)
        elif isinstance(s, ast.While):
            out.line(f"while {self.expr(s.cond)}:")
            with out.indent():
                self.block(s.body)
        elif isinstance(s, ast.For):
            self.for_loop(s)
        elif isinstance(s, ast.Return):
            out.line("return" + (f" {self.expr(s.value)}" if s.value is not None else ""))
        elif isinstance(s, ast.Break):
            out.line("break")
        elif isinstance(s, ast.Continue):
            out.line("continue")
        elif isinstance(s, ast.Block):
            self.block(s)

    def else_body(self, e: ast.Block | ast.If | ast.IfLet) -> None:
        if isinstance(e, ast.Block):
            self.block(e)
        else:
            self.stmt(e)

    def if_chain(self, s: ast.If) -> None:
        self.out.line(f"if {self.expr(s.cond)}:")
        with self.out.indent():
            self.block(s.then)
        current = s.else_
        while isinstance(current, ast.If):
            self.out.line(f"elif {self.expr(current.cond)}:")
            with self.out.indent():
                self.block(current.then)
            current = current.else_
        if current is not None:
            self.out.line("else:")
            with self.out.indent():
                self.else_body(current)

    def assign(self, s: ast.Assign) -> None:
        symbol = self.folded.symbol(s)
        name = self.local(s.target)
        if name is None and symbol is not None and symbol.kind == "global-var":
            name = self.names["var " + s.target]
            self.assigned_globals.add(name)
        name = name or s.target
        if s.op == "=":
            self.out.line(f"{name} = {self.expr(s.value)}")
            return
        t = symbol.type if symbol is not None and symbol.type is not None else T.I64
        value = self.operate(s.op[0], name, self.expr(s.value), t, s.span)
        self.out.line(f"{name} = {value}")

    def for_loop(self, s: ast.For) -> None:
        start = self.expr(s.iterable)
        self.locals.append({})
        name = self.declare(s.name)
        if s.upper is not None:
            self.out.line(f"for {name} in range({start}, {self.expr(s.upper)}):")
        else:
            self.out.line(f"for {name} in {start}:")
        with self.out.indent():
            self.block(s.body)
        self.locals.pop()

    def match_stmt(self, m: ast.Match) -> None:
        subject = self.temp()
        self.out.line(f"{subject} = {self.expr(m.scrutinee)}")
        for index, arm in enumerate(m.arms):
            test = self.pattern_test(arm.pattern, subject)
            if index == 0:
                self.out.line(f"if {test}:")
            elif test == "True":
                self.out.line("else:")
            else:
                self.out.line(f"elif {test}:")
            with self.out.indent():
                self.locals.append(self.bindings(arm.pattern, subject))
                body = arm.body
                if isinstance(body, ast.Block):
                    self.block(body)
                elif isinstance(body, ast.Match):
                    self.match_stmt(body)
                elif isinstance(body, ast.Expr):
                    self.out.line(self.expr(body))
                else:
                    self.stmt(body)
                self.locals.pop()

    # ------------------------------------------------------------ patterns
    def pattern_test(self, p: ast.Pattern, subject: str) -> str:
        if isinstance(p, ast.WildcardPat | ast.BindPat):
            return "True"
        if isinstance(p, ast.NonePat):
            return f"{subject} is None"
        if isinstance(p, ast.SomePat):
            inner = self.pattern_test(p.inner, subject)
            return f"{subject} is not None" + ("" if inner == "True" else f" and {inner}")
        if isinstance(p, ast.EnumPat):
            return f"{subject} == {self.names.get(p.enum, p.enum)}.{p.value}"
        if isinstance(p, ast.LiteralPat):
            return f"{subject} == {self.expr(p.value)}"
        tests = [self.pattern_test(a, subject) for a in p.alternatives]
        return "True" if "True" in tests else " or ".join(f"({t})" for t in tests)

    def bindings(self, p: ast.Pattern, subject: str) -> dict[str, str]:
        if isinstance(p, ast.BindPat):
            return {p.name: subject}
        if isinstance(p, ast.SomePat):
            return self.bindings(p.inner, subject)
        return {}

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> str:
        if self.heights.hoist(e):
            hoisted = self.hoist(e)
            if hoisted is not None:
                return hoisted
        return self.inline(e)

    def hoist(self, e: ast.Expr) -> str | None:
        """A call of a new helper function that computes ``e`` from the local
        variables it reads, or ``None`` when a type has no Python annotation."""
        in_scope = {name: True for scope in self.locals for name in scope}
        reads = local_names(e, in_scope)
        result = self.type_of(e)
        if result == T.ERROR or any(self.type_of(n) == T.ERROR for n in reads):
            return None
        params = {n.name: f"p{i}" for i, n in enumerate(reads)}
        arguments = [self.local(n.name) or n.name for n in reads]
        saved = self.locals
        self.locals = [params]
        try:
            body = self.inline(e)
        finally:
            self.locals = saved
        helper = self.namer.fresh("_deep")  # after its body's: named in the order defined
        signature = ", ".join(f"{params[n.name]}: {annotation(self.type_of(n), self.names)}"
                              for n in reads)
        self.helpers.append(f"def {helper}({signature}) -> {annotation(result, self.names)}:\n"
                            f"    return {body}\n")
        return f"{helper}({', '.join(arguments)})"

    def inline(self, e: ast.Expr) -> str:
        """``e`` written out here (its deep subexpressions may still be hoisted)."""
        if isinstance(e, ast.Const):
            return self.const(e)
        if isinstance(e, ast.IntLit | ast.BoolLit):
            return repr(e.value)
        if isinstance(e, ast.NoneLit):
            return "None"
        if isinstance(e, ast.StringLit):
            return self.string(e)
        if isinstance(e, ast.BytesLit):
            return repr(e.value)
        if isinstance(e, ast.DurationLit):
            return repr(e.nanoseconds)
        if isinstance(e, ast.SizeLit):
            return repr(e.size)
        if isinstance(e, ast.Ipv4Lit):
            return f"0x{e.address:08x}"
        if isinstance(e, ast.CidrLit):
            return f"(0x{e.address:08x}, {e.prefix})"
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.ConfigRef):
            return self.names["config " + e.key]
        if isinstance(e, ast.Field):
            return f"{self.expr(e.obj)}.{e.name}"
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Index):
            return f"ix({self.expr(e.obj)}, {self.expr(e.index)}, {self.position(e.span)!r})"
        if isinstance(e, ast.Slice):
            lower = self.expr(e.lower) if e.lower is not None else "None"
            upper = self.expr(e.upper) if e.upper is not None else "None"
            return f"sl({self.expr(e.obj)}, {lower}, {upper}, {self.position(e.span)!r})"
        if isinstance(e, ast.Unary):
            if e.op is ast.UnaryOp.NOT:
                return f"(not {self.expr(e.operand)})"
            low, high = _range(self.type_of(e))
            return f"ck(-{self.expr(e.operand)}, {low}, {high}, {self.position(e.span)!r})"
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Cast):
            return self.cast(e)
        if isinstance(e, ast.IfExpr):
            return f"({self.expr(e.then)} if {self.expr(e.cond)} else {self.expr(e.else_)})"
        if isinstance(e, ast.Match):
            return self.match_expr(e)
        if isinstance(e, ast.StructLit):
            fields = ", ".join(f"{f.name}={self.expr(f.value)}" for f in e.fields)
            return f"{self.names.get(e.name, e.name)}({fields})"
        if isinstance(e, ast.ListLit):
            items = ", ".join(self.expr(x) for x in e.items)
            return f"({items},)" if len(e.items) == 1 else f"({items})"
        if isinstance(e, ast.SomeExpr):
            return self.expr(e.value)
        if isinstance(e, ast.TargetRef):
            return f"Target.{self.program.target}"
        raise AssertionError(f"cannot lower {type(e).__name__}")

    def const(self, e: ast.Const) -> str:
        value = e.value
        if isinstance(value, DeviceV):
            return self.names["device " + value.key]
        if isinstance(value, FnRefV):
            return self.names[value.name]
        return literal(value, self.names)

    def name(self, e: ast.Name) -> str:
        python = self.local(e.name)
        if python is not None:
            return python
        symbol = self.folded.symbol(e)
        if symbol is not None and symbol.kind == "device":
            key = self.image.devices[e.name]
            return self.names["device " + key]
        if symbol is not None and symbol.kind in ("config-param", "config-const"):
            return self.names["config " + e.name]
        if symbol is not None and symbol.kind == "global-var":
            return self.names["var " + e.name]
        return self.names.get(e.name, e.name)

    def string(self, e: ast.StringLit) -> str:
        pieces = []
        for part in e.parts:
            if isinstance(part, str):
                if part:
                    pieces.append(repr(part))
            else:
                pieces.append(formatter(self.type_of(part), self.names, self.temp)(self.expr(part)))
        if not pieces:
            return "''"
        return pieces[0] if len(pieces) == 1 else "(" + " + ".join(pieces) + ")"

    def call(self, e: ast.Call) -> str:
        symbol = self.folded.symbol(e.callee)
        kind = symbol.kind if symbol is not None else ""
        if kind == "builtin" and isinstance(e.callee, ast.Name):
            name = e.callee.name
            args = [self.expr(a.value) for a in e.args]
            if name == "print":
                return f"console_write({args[0]} + '\\n')"
            if name == "exit":
                return f"stop({args[0]})"
            if name == "len" and self.type_of(e.args[0].value) == T.STRING:
                return f"len({args[0]}.encode())"  # bytes of its UTF-8 encoding
            return f"{_RUNTIME_BUILTINS[name]}({', '.join(args)})"
        if kind == "function" and isinstance(e.callee, ast.Name):
            info = self.program.functions[e.callee.name]
            return f"{self.names[e.callee.name]}({self.arguments(e, list(info.param_names))})"
        if kind == "operation" and isinstance(e.callee, ast.Field):
            op = symbol.name.split(".")[-1] if symbol is not None else e.callee.name
            iface = symbol.name.split(".")[0] if symbol is not None else ""
            op_params = list(self.program.interfaces[iface].ops[op].param_names) \
                if iface in self.program.interfaces else []
            return f"{self.expr(e.callee.obj)}.{e.callee.name}({self.arguments(e, op_params)})"
        rendered = ", ".join(self.expr(a.value) for a in e.args)
        return f"{self.expr(e.callee)}({rendered})"

    def arguments(self, e: ast.Call, names: list[str]) -> str:
        ordered: list[str | None] = [None] * len(names)
        position = 0
        for arg in e.args:
            if arg.name is None:
                ordered[position] = self.expr(arg.value)
                position += 1
            else:
                ordered[names.index(arg.name)] = self.expr(arg.value)
        return ", ".join(a for a in ordered if a is not None)

    def binary(self, e: ast.Binary) -> str:
        op = e.op
        if op in ("and", "or"):
            return f"({self.expr(e.left)} {op} {self.expr(e.right)})"
        if op == "??":
            v = self.temp()
            return f"({v} if ({v} := {self.expr(e.left)}) is not None else {self.expr(e.right)})"
        left, right = self.expr(e.left), self.expr(e.right)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return f"({left} {op} {right})"
        return self.operate(op, left, right, self.type_of(e), e.span)

    def operate(self, op: str, left: str, right: str, t: T.Type, span: Span) -> str:
        pos = repr(self.position(span))
        if t in (T.STRING, T.BYTES) or isinstance(t, T.ListT):
            return f"({left} + {right})"
        low, high = _range(t)
        if op in ("+", "-", "*"):
            return f"ck({left} {op} {right}, {low}, {high}, {pos})"
        if op == "/":
            return f"div({left}, {right}, {low}, {high}, {pos})"
        if op == "%":
            return f"rem({left}, {right}, {pos})"
        if op in ("&", "|"):
            return f"({left} {op} {right})"
        if op == "^":
            return f"({left} ^ {right})"
        width = 64 if t in (T.I64, T.DURATION, T.SIZE) else int(str(t)[1:])
        if op == "<<":
            return f"shl({left}, {right}, {width}, {low}, {high}, {pos})"
        return f"shr({left}, {right}, {width}, {pos})"

    def cast(self, e: ast.Cast) -> str:
        target = self.type_of(e)
        source = self.type_of(e.expr)
        inner = self.expr(e.expr)
        if target == T.BYTES and source == T.STRING:
            return f"{inner}.encode()"
        if T.is_integer(target) and T.is_integer(source):
            low, high = _range(target)
            s_low, s_high = _range(source)
            if s_low >= low and s_high <= high:
                return inner
            return f"ck({inner}, {low}, {high}, {self.position(e.span)!r})"
        return inner

    def match_expr(self, m: ast.Match) -> str:
        subject = self.temp()
        scrutinee = self.expr(m.scrutinee)
        parts: list[str] = []
        fallback = f"trap({self.position(m.span)!r}, 'no arm matched')"
        for arm in m.arms:
            assert isinstance(arm.body, ast.Expr)
            self.locals.append(self.bindings(arm.pattern, subject))
            value = self.expr(arm.body)
            self.locals.pop()
            test = self.pattern_test(arm.pattern, subject)
            if test == "True":
                fallback = value
                break
            parts.append(f"{value} if {test} else")
        chain = " ".join([*parts, fallback])
        return f"({subject} := {scrutinee}, ({chain}))[1]"


_RESERVED_LOCAL = frozenset({"rt", "main", "ck", "div", "rem", "shl", "shr", "ix", "sl",
                             "trap", "stop", "now", "utf8", "console_write"})


def _range(t: T.Type) -> tuple[int, int]:
    if isinstance(t, T.Prim) and t in T.INTEGER_RANGES:
        return T.INTEGER_RANGES[t]
    if t == T.SIZE:
        return T.INTEGER_RANGES[T.U64]
    return T.INTEGER_RANGES[T.I64]


def walk_names(node: object) -> Iterator[str]:
    from specc.passes.branches import walk

    for item in walk(node):
        if isinstance(item, ast.Name):
            yield item.name
