"""The fold pass: partial evaluation of `main` and every function.

Constant expressions become values, `if`/`match` on constants keep one
branch, calls of pure functions on constants are evaluated, and calls of
operations a component drops (`drop debug when level > LogLevel.debug`) are
removed with their arguments.  A constant computation that traps (overflow,
division by zero, a bad index) is a compile error.

Before (tcp = false, log level info)::

    log.debug("x = {x}")
    if config.tcp { dns_tcp.serve(config.port) }
    let n = config.port + 1

After::

    let n = 54
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from specc import ast
from specc.check.program import CheckedProgram, Symbol
from specc.diagnostics import DiagnosticSink
from specc.evaluate import RUNTIME, Env, EvalError, Evaluator, Hooks, NotConstant
from specc.passes.branches import BranchLog, walk
from specc.passes.config import ConfigValues
from specc.passes.devices import DeviceGraph
from specc.span import Span
from specc.types import DeviceT
from specc.values import DeviceV, Value, format_value


@dataclass(frozen=True)
class DroppedCall:
    """A call removed by a component's `drop OP when COND`."""

    span: Span
    device: str
    op: str
    condition: ast.Expr
    call: ast.Call


@dataclass
class Folded:
    main: ast.Block | None
    functions: dict[str, ast.FnDecl] = field(default_factory=dict)
    dropped_calls: list[DroppedCall] = field(default_factory=list)
    # Types and symbols of residual nodes built by folding; for the others,
    # program.types and program.references (which folding leaves untouched).
    types: dict[object, object] = field(default_factory=dict)
    references: dict[object, Symbol] = field(default_factory=dict)
    program: CheckedProgram | None = None
    # Functions called in code that folding evaluated to a value.
    evaluated: set[str] = field(default_factory=set)
    # The initial value of each top-level `var`.  The variables themselves
    # stay names in the residual program: they are never folded.
    vars: dict[str, Value] = field(default_factory=dict)

    def symbol(self, node: object) -> Symbol | None:
        found = self.references.get(node)
        if found is None and self.program is not None:
            found = self.program.references.get(node)
        return found


class Folder:
    def __init__(self, program: CheckedProgram, config: ConfigValues, graph: DeviceGraph,
                 branches: BranchLog, sink: DiagnosticSink, specialize: bool = True,
                 unbuildable: frozenset[str] = frozenset()) -> None:
        self.program = program
        # False (--no-specialize, passes/unspecialize.py): constant conditions
        # keep every arm, except those on `target` or with an arm that uses a
        # device of `unbuildable` (ones the target cannot build), and no call
        # is dropped.
        self.specialize = specialize
        self.unbuildable = unbuildable
        self.config = config
        self.graph = graph
        self.branches = branches
        self.sink = sink
        self.evaluator = Evaluator(program, Hooks(config=self.config_value,
                                                  device=self.device_value),
                                   target=program.target)
        self.drops: dict[tuple[str, str], ast.Expr | None] = {}
        self.result = Folded(None, program=program)
        self.reported: set[tuple[str, int]] = set()

    def config_value(self, name: str, span: Span) -> Value:
        if name in self.config.values:
            return self.config.values[name]
        raise NotConstant(f"`config.{name}` is a param: it is only known at boot", span)

    def device_value(self, name: str, span: Span) -> Value:
        key = self.graph.devices.get(name)
        if key is None:
            raise NotConstant(f"device `{name}` was not built", span)
        return DeviceV(key)

    # ------------------------------------------------------------ entry
    def run(self) -> Folded:
        p = self.program
        for name, var in p.vars.items():
            self.evaluator.used_steps = 0
            try:
                self.result.vars[name] = self.evaluator.eval(var.decl.value, Env())
            except EvalError as error:
                self.report(error)
            except NotConstant as why:  # the stage checker has reported it already
                self.sink.add("E0301", why.span, f"the initial value of `var {name}` must be "
                              f"known at compile time, but {why.reason}")
        if p.main is not None:
            self.branches.owner = "main"
            self.result.main = self.block(p.main.body, Env())
        for name, info in p.functions.items():
            if info.decl is None:
                continue
            self.branches.owner = f"fn {name}"
            body = self.block(info.decl.body, Env())
            self.result.functions[name] = replace(info.decl, body=body)
        return self.result

    # ------------------------------------------------------------ statements
    def block(self, block: ast.Block, env: Env) -> ast.Block:
        inner = Env(env)
        stmts: list[ast.Stmt] = []
        for s in block.stmts:
            stmts.extend(self.stmt(s, inner))
        return ast.Block(block.span, tuple(stmts))

    def stmt(self, s: ast.Stmt, env: Env) -> list[ast.Stmt]:
        if isinstance(s, ast.Let):
            value = self.expr(s.value, env)
            constant = isinstance(value, ast.Const) and not s.mutable
            env.values[s.name] = value.value if isinstance(value, ast.Const) and constant \
                else RUNTIME
            return [self.keep_symbol(s, replace(s, value=value))]
        if isinstance(s, ast.Assign):
            return [self.keep_symbol(s, replace(s, value=self.expr(s.value, env)))]
        if isinstance(s, ast.ExprStmt):
            return self.expr_stmt(s, env)
        if isinstance(s, ast.If):
            cond = self.expr(s.cond, env)
            if isinstance(cond, ast.Const) and self.decides(s.cond, s.then, s.else_):
                self.branches.record(s.cond, cond.value, [s.else_ if cond.value else s.then])
                if cond.value:
                    return [self.block(s.then, env)]
                return self.stmt(s.else_, env) if s.else_ is not None else []
            else_ = self.stmt(s.else_, env) if s.else_ is not None else []
            return [replace(s, cond=cond, then=self.block(s.then, env),
                            else_=_single(else_, s.else_))]
        if isinstance(s, ast.IfLet):
            value = self.expr(s.value, env)
            if isinstance(value, ast.Const) and self.decides(s.value, s.then, s.else_):
                self.branches.record(s.value, value.value,
                                     [s.then if value.value is None else s.else_])
                if value.value is None:
                    return self.stmt(s.else_, env) if s.else_ is not None else []
                return [self.block(s.then, Env(env, {s.name: value.value}))]
            else_ = self.stmt(s.else_, env) if s.else_ is not None else []
            return [self.keep_symbol(s, replace(
                s, value=value, then=self.block(s.then, Env(env, {s.name: RUNTIME})),
                else_=_single(else_, s.else_)))]
        if isinstance(s, ast.While):
            cond = self.expr(s.cond, env)
            if isinstance(cond, ast.Const) and not cond.value and self.decides(s.cond, s.body):
                self.branches.record(s.cond, cond.value, [s.body])
                return []
            return [replace(s, cond=cond, body=self.block(s.body, env))]
        if isinstance(s, ast.For):
            upper = self.expr(s.upper, env) if s.upper is not None else None
            return [self.keep_symbol(s, replace(
                s, iterable=self.expr(s.iterable, env), upper=upper,
                body=self.block(s.body, Env(env, {s.name: RUNTIME}))))]
        if isinstance(s, ast.Return):
            return [replace(s, value=self.expr(s.value, env) if s.value is not None else None)]
        if isinstance(s, ast.Block):
            return [self.block(s, env)]
        return [s]

    def expr_stmt(self, s: ast.ExprStmt, env: Env) -> list[ast.Stmt]:
        e = s.expr
        if isinstance(e, ast.Call) and self.is_dropped(e):
            return []
        if isinstance(e, ast.Match):
            scrutinee = self.expr(e.scrutinee, env)
            if isinstance(scrutinee, ast.Const) and self.decides(e.scrutinee, e.arms):
                return self.constant_match_stmt(e, scrutinee, env)
            arms = tuple(replace(a, body=self.arm_body(a.body, _binding_env(a.pattern, env)))
                         for a in e.arms)
            return [replace(s, expr=self.keep_type(e, replace(e, scrutinee=scrutinee, arms=arms)))]
        folded = self.expr(e, env)
        if isinstance(folded, ast.Const):
            return []  # a constant computation has no effect
        return [replace(s, expr=folded)]

    def constant_match_stmt(self, e: ast.Match, scrutinee: ast.Const,
                            env: Env) -> list[ast.Stmt]:
        for arm in e.arms:
            bindings: dict[str, Value] = {}
            if self.evaluator.matches(arm.pattern, scrutinee.value, bindings):
                self.branches.record(e.scrutinee, scrutinee.value,
                                     [a.body for a in e.arms if a is not arm])
                inner = Env(env, bindings)
                body = arm.body
                if isinstance(body, ast.Block):
                    return [self.block(body, inner)]
                if isinstance(body, ast.Expr):
                    return self.expr_stmt(ast.ExprStmt(body.span, body), inner)
                return [ast.Block(body.span, tuple(self.stmt(body, inner)))]
        return []

    def arm_body(self, body: ast.Expr | ast.Block | ast.Stmt,
                 env: Env) -> ast.Expr | ast.Block | ast.Stmt:
        if isinstance(body, ast.Block):
            return self.block(body, env)
        if isinstance(body, ast.Call) and self.is_dropped(body):
            return ast.Block(body.span, ())
        if isinstance(body, ast.Expr):
            return self.expr(body, env)
        folded = self.stmt(body, env)
        return folded[0] if len(folded) == 1 else ast.Block(body.span, tuple(folded))

    def evaluates(self, e: ast.Expr) -> bool:
        """Whether ``e`` may become one value at once.  Unspecialized, not
        when that would decide a branch or run a function of the spec's at
        compile time: its parts are folded one by one instead."""
        if self.specialize:
            return True
        for node in walk(e):
            if isinstance(node, ast.IfExpr) and not self.decides(node.cond, node.then, node.else_):
                return False
            if isinstance(node, ast.Match) and not self.decides(node.scrutinee, node.arms):
                return False
            if isinstance(node, ast.Call) and isinstance(node.callee, ast.Name):
                symbol = self.program.references.get(node.callee)
                info = self.program.functions.get(node.callee.name)
                if symbol is not None and symbol.kind == "function" and info is not None \
                        and info.decl is not None:
                    return False
        return True

    def decides(self, condition: ast.Expr, *arms: object) -> bool:
        """Whether a constant ``condition`` picks one of ``arms`` at compile time."""
        if self.specialize or any(isinstance(n, ast.TargetRef) for n in walk(condition)):
            return True
        return bool(self.unbuildable) and any(
            isinstance(n, ast.Name) and n.name in self.unbuildable for n in walk(arms))

    def is_dropped(self, call: ast.Call) -> bool:
        if not self.specialize:
            return False
        callee = call.callee
        if not (isinstance(callee, ast.Field) and isinstance(callee.obj, ast.Name)):
            return False
        symbol = self.program.references.get(callee.obj)
        if symbol is None or symbol.kind != "device":
            return False
        instance = self.graph.instance_of(callee.obj.name)
        if instance is None:
            return False
        condition = self.drop_condition(instance.key, callee.name)
        if condition is None:
            return False
        self.result.dropped_calls.append(DroppedCall(call.span, callee.obj.name, callee.name,
                                                     condition, call))
        return True

    def drop_condition(self, instance_key: str, op: str) -> ast.Expr | None:
        """The `drop` condition that removes ``op`` from this instance, if one holds."""
        key = (instance_key, op)
        if key in self.drops:
            return self.drops[key]
        instance = self.graph.instances[instance_key]
        decl = self.program.components[instance.component].decl
        found: ast.Expr | None = None
        for item in decl.items:
            if isinstance(item, ast.DropItem) and item.op == op:
                try:
                    holds = self.evaluator.eval(item.when, Env(None, dict(instance.const_args)))
                except (EvalError, NotConstant):
                    holds = False
                if holds:
                    found = item.when
                    break
        self.drops[key] = found
        return found

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, env: Env) -> ast.Expr:
        if isinstance(e, ast.Const | ast.ErrorExpr):
            return e
        if not isinstance(self.program.types.get(e), DeviceT) and self.evaluates(e):
            self.evaluator.used_steps = 0
            try:
                value = self.evaluator.eval(e, env)
                self.note_evaluated(e)
                # The C lowering needs the type of a constant list or option.
                return self.keep_type(e, ast.Const(e.span, value))
            except NotConstant:
                pass
            except EvalError as error:
                self.report(error)
                return e
        return self.rebuild(e, env)

    def note_evaluated(self, e: ast.Expr) -> None:
        for node in walk(e):
            if isinstance(node, ast.Name):
                symbol = self.program.references.get(node)
                if symbol is not None and symbol.kind == "function":
                    self.result.evaluated.add(node.name)

    def report(self, error: EvalError) -> None:
        key = (error.span.file, error.span.start)
        if key not in self.reported:
            self.reported.add(key)
            self.sink.add(error.code, error.span, error.message)

    def keep_symbol(self, old: ast.Stmt, new: ast.Stmt) -> ast.Stmt:
        """A rebuilt statement keeps what the checker knew of the original."""
        symbol = self.program.references.get(old)
        if symbol is not None:
            self.result.references[new] = symbol
        return new

    def keep_type(self, old: ast.Expr, new: ast.Expr) -> ast.Expr:
        t = self.program.types.get(old)
        if t is not None:
            self.result.types[new] = t
        symbol = self.program.references.get(old)
        if symbol is not None:
            self.result.references[new] = symbol
        return new

    def rebuild(self, e: ast.Expr, env: Env) -> ast.Expr:
        f = self.expr
        new: ast.Expr
        if isinstance(e, ast.Field):
            new = replace(e, obj=f(e.obj, env)) if not self.is_device(e.obj) else e
        elif isinstance(e, ast.Call):
            callee = e.callee if isinstance(e.callee, ast.Name) or self.is_operation(e) \
                else f(e.callee, env)
            args = tuple(replace(a, value=f(a.value, env)) for a in e.args)
            if isinstance(e.callee, ast.Field) and isinstance(callee, ast.Field):
                self.keep_type(e.callee, callee)
            new = replace(e, callee=callee, args=args)
        elif isinstance(e, ast.Index):
            new = replace(e, obj=f(e.obj, env), index=f(e.index, env))
        elif isinstance(e, ast.Slice):
            new = replace(e, obj=f(e.obj, env),
                          lower=f(e.lower, env) if e.lower is not None else None,
                          upper=f(e.upper, env) if e.upper is not None else None)
        elif isinstance(e, ast.Unary):
            new = replace(e, operand=f(e.operand, env))
        elif isinstance(e, ast.Binary):
            new = replace(e, left=f(e.left, env), right=f(e.right, env))
        elif isinstance(e, ast.Cast):
            new = replace(e, expr=f(e.expr, env))
        elif isinstance(e, ast.IfExpr):
            cond = f(e.cond, env)
            if isinstance(cond, ast.Const) and self.decides(e.cond, e.then, e.else_):
                self.branches.record(e.cond, cond.value, [e.else_ if cond.value else e.then])
                return f(e.then if cond.value else e.else_, env)
            new = replace(e, cond=cond, then=f(e.then, env), else_=f(e.else_, env))
        elif isinstance(e, ast.Match):
            new = self.match_expr(e, env)
        elif isinstance(e, ast.StringLit):
            new = replace(e, parts=_merge_text([p if isinstance(p, str) else f(p, env)
                                                for p in e.parts]))
        elif isinstance(e, ast.StructLit):
            new = replace(e, fields=tuple(replace(x, value=f(x.value, env)) for x in e.fields))
        elif isinstance(e, ast.ListLit):
            new = replace(e, items=tuple(f(x, env) for x in e.items))
        elif isinstance(e, ast.SomeExpr):
            new = replace(e, value=f(e.value, env))
        else:
            return e
        return self.keep_type(e, new)

    def match_expr(self, e: ast.Match, env: Env) -> ast.Expr:
        scrutinee = self.expr(e.scrutinee, env)
        if isinstance(scrutinee, ast.Const) and self.decides(e.scrutinee, e.arms):
            for arm in e.arms:
                bindings: dict[str, Value] = {}
                if self.evaluator.matches(arm.pattern, scrutinee.value, bindings) \
                        and isinstance(arm.body, ast.Expr):
                    self.branches.record(e.scrutinee, scrutinee.value,
                                         [a.body for a in e.arms if a is not arm])
                    return self.expr(arm.body, Env(env, bindings))
        arms = tuple(replace(a, body=self.arm_body(a.body, _binding_env(a.pattern, env)))
                     for a in e.arms)
        return replace(e, scrutinee=scrutinee, arms=arms)

    def is_device(self, e: ast.Expr) -> bool:
        return isinstance(self.program.types.get(e), DeviceT)

    def is_operation(self, call: ast.Call) -> bool:
        symbol = self.program.references.get(call.callee)
        return symbol is not None and symbol.kind == "operation"


def _merge_text(parts: list[str | ast.Expr]) -> tuple[str | ast.Expr, ...]:
    """Interpolated constants become text, joined with the text around them."""
    merged: list[str | ast.Expr] = []
    for part in parts:
        text = format_value(part.value) if isinstance(part, ast.Const) else part
        if isinstance(text, str) and merged and isinstance(merged[-1], str):
            merged[-1] += text
        else:
            merged.append(text)
    return tuple(merged)


def _binding_env(pattern: ast.Pattern, env: Env) -> Env:
    """A scope where the names a run-time pattern binds shadow any constants."""
    names: dict[str, Value] = {}
    stack: list[ast.Pattern] = [pattern]
    while stack:
        p = stack.pop()
        if isinstance(p, ast.BindPat):
            names[p.name] = RUNTIME
        elif isinstance(p, ast.SomePat):
            stack.append(p.inner)
        elif isinstance(p, ast.AltPat):
            stack.extend(p.alternatives)
    return Env(env, names) if names else env


def _single(stmts: list[ast.Stmt], original: ast.Stmt | None) -> ast.Block | ast.If | ast.IfLet | None:
    if original is None or not stmts:
        return None
    if len(stmts) == 1 and isinstance(stmts[0], ast.Block | ast.If | ast.IfLet):
        return stmts[0]
    return ast.Block(original.span, tuple(stmts))


def run_fold(program: CheckedProgram, config: ConfigValues, graph: DeviceGraph,
             branches: BranchLog, sink: DiagnosticSink, specialize: bool = True,
             unbuildable: frozenset[str] = frozenset()) -> Folded:
    """The fold pass's entry point (``specialize`` and ``unbuildable``: see Folder)."""
    return Folder(program, config, graph, branches, sink, specialize, unbuildable).run()
