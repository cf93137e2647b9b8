"""The stage checker (LANGUAGE.md section 9): values that must be known at
compile time are, and the message says which value is not and why."""

from __future__ import annotations

from collections.abc import Iterator

from specc import ast
from specc.check.program import CheckedProgram
from specc.diagnostics import DiagnosticSink, Note

RUNTIME_BUILTINS = {"print": "prints to the console", "exit": "stops the image",
                    "now": "reads the clock"}


class Stages:
    def __init__(self, program: CheckedProgram) -> None:
        self.program = program
        self.memo: dict[object, str | None] = {}
        # The innermost expression each run-time reason comes from (`config.ipv4`
        # inside a device's expression), and the component parameter it is
        # passed to, if any.
        self.culprit: dict[object, ast.Expr] = {}
        self.passed_to: dict[object, tuple[str, ast.ComponentParam]] = {}

    def runtime_reason(self, e: ast.Expr) -> str | None:
        """None when ``e`` is constant; otherwise why it is known only at run time."""
        if e in self.memo:
            return self.memo[e]
        self.memo[e] = None  # recursion through `let` values ends here
        reason = self._reason(e)
        self.memo[e] = reason
        if reason is not None and e not in self.culprit:
            self.culprit[e] = e  # nothing inside it is to blame more precisely
        return reason

    def blame(self, e: ast.Expr, inner: ast.Expr) -> None:
        """``e`` is run-time because ``inner`` is."""
        self.culprit[e] = self.culprit.get(inner, inner)
        if inner in self.passed_to:
            self.passed_to.setdefault(e, self.passed_to[inner])

    def _reason(self, e: ast.Expr) -> str | None:
        p = self.program
        if isinstance(e, ast.ConfigRef):
            symbol = p.references.get(e)
            if symbol is not None and symbol.kind == "config-param":
                return f"`config.{e.key}` is a param: it is only known at boot"
            return None
        if isinstance(e, ast.Name):
            return self.name_reason(e)
        if isinstance(e, ast.Call):
            return self.call_reason(e)
        if isinstance(e, ast.Match):
            reason = self.runtime_reason(e.scrutinee)
            if reason is not None:
                self.blame(e, e.scrutinee)
                return reason
            for arm in e.arms:
                if isinstance(arm.body, ast.Expr):
                    reason = self.runtime_reason(arm.body)
                    if reason is not None:
                        self.blame(e, arm.body)
                        return reason
                else:
                    return "this `match` runs statements"
            return None
        for child in children(e):
            reason = self.runtime_reason(child)
            if reason is not None:
                self.blame(e, child)
                return reason
        return None

    def name_reason(self, e: ast.Name) -> str | None:
        symbol = self.program.references.get(e)
        if symbol is None:
            return None
        kind = symbol.kind
        if kind == "param":
            return f"`{e.name}` is a function parameter: its value is known only when the " \
                   "function is called"
        if kind == "var":
            return f"`{e.name}` is a `var`: its value can change at run time"
        if kind == "global-var":
            return f"`{e.name}` is a top-level `var`: it is run-time state, which `main` and " \
                   "the handlers change as the image runs"
        if kind == "binding":
            return f"`{e.name}` is bound by a pattern or loop at run time"
        if kind == "config-param":
            return f"`{e.name}` is a param: it is only known at boot"
        if kind == "let" and symbol.span is not None:
            value = self.program.let_values.get(symbol.span)
            if value is not None:
                inner = self.runtime_reason(value)
                if inner is not None:
                    return f"`{e.name}` is bound to a run-time value ({inner})"
        return None

    def call_reason(self, e: ast.Call) -> str | None:
        p = self.program
        symbol = p.references.get(e.callee)
        if symbol is not None:
            if symbol.kind == "operation":
                return f"`{_describe(e.callee)}(...)` calls a device operation, which runs " \
                       "only at run time"
            if symbol.kind == "builtin" and symbol.name in RUNTIME_BUILTINS:
                return f"`{symbol.name}()` {RUNTIME_BUILTINS[symbol.name]} at run time"
            if symbol.kind == "function" and symbol.name not in p.pure_functions:
                why = p.impurity.get(symbol.name, "it is not pure")
                return f"`{symbol.name}(...)` cannot run at compile time: {why}"
        elif not isinstance(e.callee, ast.Name):
            reason = self.runtime_reason(e.callee)
            if reason is not None:
                self.blame(e, e.callee)
                return reason
        component = p.components.get(symbol.name) if symbol is not None and \
            symbol.kind == "component" else None
        for index, arg in enumerate(e.args):
            reason = self.runtime_reason(arg.value)
            if reason is not None:
                self.blame(e, arg.value)
                param = _parameter(component.decl, index, arg) if component is not None else None
                if param is not None and arg.value not in self.passed_to:
                    self.passed_to[e] = (component.decl.name if component else "", param)
                return reason
        return None

    def require(self, e: ast.Expr, sink: DiagnosticSink, what: str) -> None:
        """Report ``e`` unless it is constant: at the run-time value inside it,
        with what needs the constant (and the component parameter it is
        passed to) as notes."""
        reason = self.runtime_reason(e)
        if reason is None:
            return
        culprit = self.culprit.get(e, e)
        notes = []
        if culprit is not e:
            verb = "built" if what.startswith("device") else "evaluated"
            notes.append(Note(f"{what} is {verb} at compile time", e.span))
        passed = self.passed_to.get(e)
        if passed is not None:
            component, param = passed
            notes.append(Note(f"it is passed as `{param.name}` of component `{component}`, "
                              "which takes a compile-time value", param.span))
        sink.add("E0301", culprit.span, f"{what} must be known at compile time, but {reason}",
                 notes=notes)


def _parameter(decl: ast.ComponentDecl, index: int, arg: ast.Arg) -> ast.ComponentParam | None:
    """The parameter of ``decl`` that argument ``index`` (``arg``) gives a value."""
    if arg.name is not None:
        return next((p for p in decl.params if p.name == arg.name), None)
    return decl.params[index] if index < len(decl.params) else None


def walk(e: ast.Expr) -> Iterator[ast.Expr]:
    """``e`` and every expression inside it."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(children(node))


def children(e: ast.Expr) -> Iterator[ast.Expr]:
    """The direct sub-expressions of ``e``."""
    if isinstance(e, ast.StringLit):
        yield from (p for p in e.parts if not isinstance(p, str))
    elif isinstance(e, ast.Field):
        yield e.obj
    elif isinstance(e, ast.Index):
        yield e.obj
        yield e.index
    elif isinstance(e, ast.Slice):
        yield e.obj
        if e.lower is not None:
            yield e.lower
        if e.upper is not None:
            yield e.upper
    elif isinstance(e, ast.Call):
        yield e.callee
        yield from (a.value for a in e.args)
    elif isinstance(e, ast.Unary):
        yield e.operand
    elif isinstance(e, ast.Binary):
        yield e.left
        yield e.right
    elif isinstance(e, ast.Cast):
        yield e.expr
    elif isinstance(e, ast.IfExpr):
        yield e.cond
        yield e.then
        yield e.else_
    elif isinstance(e, ast.Match):
        yield e.scrutinee
        yield from (a.body for a in e.arms if isinstance(a.body, ast.Expr))
    elif isinstance(e, ast.StructLit):
        yield from (f.value for f in e.fields)
    elif isinstance(e, ast.ListLit):
        yield from e.items
    elif isinstance(e, ast.SomeExpr):
        yield e.value


def _describe(e: ast.Expr) -> str:
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Field):
        return f"{_describe(e.obj)}.{e.name}"
    return "..."


def check_stages(program: CheckedProgram, sink: DiagnosticSink,
                 compile_time_values: list[ast.Expr]) -> None:
    stages = Stages(program)
    for key in program.config.values():
        decl = key.decl
        stages.require(decl.default, sink, f"the default of `{decl.name}`")
        if decl.requires is not None and decl.kind is ast.KeyKind.CONST:
            stages.require(decl.requires, sink, f"the `requires` of const `{decl.name}`")
        elif decl.requires is not None:
            for node in walk(decl.requires):
                symbol = program.references.get(node)
                if isinstance(node, ast.Name) and symbol is not None \
                        and symbol.kind == "global-var":
                    sink.add("E0301", node.span, f"the `requires` of param `{decl.name}` is "
                             f"checked at boot, before any code runs, so it cannot read "
                             f"`{node.name}`, a top-level `var` (run-time state)")
    for var in program.vars.values():
        stages.require(var.decl.value, sink, f"the initial value of `var {var.decl.name}`")
    for device in program.devices.values():
        stages.require(device.decl.value, sink, f"device `{device.decl.name}`")
    for component in program.components.values():
        cdecl = component.decl
        if cdecl.composition is not None:
            stages.require(cdecl.composition, sink, f"the composition of `{cdecl.name}`")
        for item in cdecl.items:
            if isinstance(item, ast.DropItem):
                stages.require(item.when, sink, "the condition of `drop`")
        for param in cdecl.params:
            if param.default is not None:
                stages.require(param.default, sink, f"the default of `{param.name}`")
    for e in compile_time_values:
        t = program.types.get(e)
        symbol = program.references.get(e)
        if symbol is not None and symbol.kind == "param":
            continue  # the parameter's declaration is already reported (E0302)
        reason = stages.runtime_reason(e)
        if reason is not None:
            sink.add("E0301", e.span, f"a `{t}` exists only at compile time, but {reason}")
        if isinstance(e, ast.Call) and isinstance(e.callee, ast.Name):
            for arg in e.args:
                stages.require(arg.value, sink, f"the path given to `{e.callee.name}`")
