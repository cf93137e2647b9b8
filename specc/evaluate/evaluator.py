"""Evaluating expressions and pure function bodies at compile time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from specc import ast
from specc.check.program import CheckedProgram
from specc.evaluate import arithmetic
from specc.evaluate.arithmetic import Trap
from specc.evaluate.errors import EvalError, NotConstant
from specc.records import Record
from specc.span import Span
from specc.stack import headroom
from specc.types import BYTES, DURATION, I64, SIZE, STRING, Type, is_integer
from specc.values import (
    CidrV,
    DeviceV,
    DurationV,
    EnumV,
    FilesV,
    FnRefV,
    Ipv4V,
    SizeV,
    StructV,
    Value,
    ZoneV,
    format_value,
)

DEFAULT_STEPS = 1_000_000
# LANGUAGE.md section 9 bounds compile-time evaluation by its step budget.
# Each specc call costs about ten Python frames here, so the evaluator lifts
# Python's recursion limit while it runs (Python-to-Python calls use little
# C stack in CPython 3.11) and caps nesting well below what that allows.
MAX_CALL_DEPTH = 5000
_RECURSION_LIMIT = 80_000
RUNTIME_BUILTINS = {"print": "prints to the console", "exit": "stops the image",
                    "now": "reads the clock"}


@dataclass(repr=False)
class Hooks(Record):
    """What the evaluator asks its user for: each pass answers differently."""

    config: Callable[[str, Span], Value]
    device: Callable[[str, Span], Value] | None = None
    instantiate: Callable[[str, list[Value | None], ast.Call], Value] | None = None
    zonefile: Callable[[str, Span], Value] | None = None
    directory: Callable[[str, Span], Value] | None = None


class _Runtime:
    """Marks a local known only at run time (it shadows any constant of its name)."""

    def __repr__(self) -> str:
        return "RUNTIME"


RUNTIME: Value = _Runtime()  # type: ignore[assignment]


class Env:
    """Local values: a chain of dicts, one per block."""

    __slots__ = ("parent", "values")

    def __init__(self, parent: Env | None = None,
                 values: dict[str, Value] | None = None) -> None:
        self.parent = parent
        self.values: dict[str, Value] = values if values is not None else {}

    def lookup(self, name: str) -> tuple[bool, Value]:
        env: Env | None = self
        while env is not None:
            if name in env.values:
                return True, env.values[name]
            env = env.parent
        return False, None

    def assign(self, name: str, value: Value) -> None:
        env: Env | None = self
        while env is not None:
            if name in env.values:
                env.values[name] = value
                return
            env = env.parent
        self.values[name] = value


class _Return(Exception):
    def __init__(self, value: Value) -> None:
        super().__init__()
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass(repr=False)
class Evaluator(Record):
    """Evaluates the constant expressions of a checked program for a target."""

    program: CheckedProgram
    hooks: Hooks
    target: str = "hvt"
    steps: int = DEFAULT_STEPS
    # Told of each branch a constant decided, outside function calls (a pure
    # function's branches are decided per call and remove nothing).
    on_branch: Callable[[ast.Expr, Value, list[object]], None] | None = None
    used_steps: int = field(default=0)
    call_depth: int = field(default=0)
    entry_span: Span | None = field(default=None)  # the call that started an evaluation

    def decided(self, condition: ast.Expr, value: Value, pruned: list[object]) -> None:
        if self.on_branch is not None and self.call_depth == 0:
            self.on_branch(condition, value, pruned)

    # ------------------------------------------------------------ helpers
    def type_of(self, e: ast.Expr) -> Type:
        return self.program.types.get(e, I64)

    def trap(self, e: ast.Expr | ast.Assign | Span, message: str, runtime: str) -> EvalError:
        span = e if isinstance(e, Span) else e.span
        return EvalError("E0304", span, message, runtime)

    def step(self, span: Span) -> None:
        self.used_steps += 1
        if self.used_steps > self.steps:
            # LANGUAGE.md section 9: the error is at the call that started it.
            where = self.entry_span or span
            raise EvalError("E0303", where, f"compile-time evaluation ran out of its budget of "
                            f"{self.steps:,} steps (is there an endless loop or recursion?)")

    # ------------------------------------------------------------ expressions
    def eval(self, e: ast.Expr, env: Env | None = None) -> Value:
        env = env if env is not None else Env()
        self.step(e.span)
        if isinstance(e, ast.IntLit):
            return e.value
        if isinstance(e, ast.BoolLit):
            return e.value
        if isinstance(e, ast.NoneLit):
            return None
        if isinstance(e, ast.StringLit):
            return "".join(p if isinstance(p, str) else format_value(self.eval(p, env))
                           for p in e.parts)
        if isinstance(e, ast.BytesLit):
            return e.value
        if isinstance(e, ast.DurationLit):
            return DurationV(e.nanoseconds)
        if isinstance(e, ast.SizeLit):
            return SizeV(e.size)
        if isinstance(e, ast.Ipv4Lit):
            return Ipv4V(e.address)
        if isinstance(e, ast.CidrLit):
            return CidrV(e.address, e.prefix)
        if isinstance(e, ast.Name):
            return self.name(e, env)
        if isinstance(e, ast.ConfigRef):
            return self.hooks.config(e.key, e.span)
        if isinstance(e, ast.TargetRef):
            return EnumV("Target", self.target, ("hvt", "unix", "python").index(self.target))
        if isinstance(e, ast.Field):
            return self.field(e, env)
        if isinstance(e, ast.Call):
            return self.call(e, env)
        if isinstance(e, ast.Index):
            return self.index(e, env)
        if isinstance(e, ast.Slice):
            return self.slice(e, env)
        if isinstance(e, ast.Unary):
            return self.unary(e, env)
        if isinstance(e, ast.Binary):
            return self.binary(e, env)
        if isinstance(e, ast.Cast):
            return self.cast(e, env)
        if isinstance(e, ast.IfExpr):
            cond = self.eval(e.cond, env)
            self.decided(e.cond, cond, [e.else_ if cond else e.then])
            return self.eval(e.then if cond else e.else_, env)
        if isinstance(e, ast.Match):
            return self.match_value(e, env)
        if isinstance(e, ast.StructLit):
            # Fields are evaluated as written, left to right (the images do
            # the same, so the first trap is the same), then kept in
            # declaration order, so that equal structs are equal values.
            values = {f.name: self.eval(f.value, env) for f in e.fields}
            return StructV(e.name, tuple((f.name, values[f.name]) for f in
                                         self.ordered_fields(e)))
        if isinstance(e, ast.ListLit):
            return tuple(self.eval(item, env) for item in e.items)
        if isinstance(e, ast.SomeExpr):
            return self.eval(e.value, env)
        raise NotConstant("this expression could not be read", e.span)

    def ordered_fields(self, e: ast.StructLit) -> list[ast.FieldInit]:
        """Field values in declaration order, so equal structs are equal values."""
        info = self.program.structs[e.name]
        order = list(info.fields)
        return sorted(e.fields, key=lambda f: order.index(f.name))

    def name(self, e: ast.Name, env: Env) -> Value:
        found, value = env.lookup(e.name)
        if found:
            if value is RUNTIME:
                raise NotConstant(f"`{e.name}` is known only at run time", e.span)
            return value
        symbol = self.program.references.get(e)
        kind = symbol.kind if symbol is not None else ""
        if kind == "function":
            return FnRefV(e.name)
        if kind == "device" and self.hooks.device is not None:
            return self.hooks.device(e.name, e.span)
        if kind in ("config-const", "config-param"):
            return self.hooks.config(e.name, e.span)
        reasons = {"param": f"`{e.name}` is a function parameter",
                   "var": f"`{e.name}` is a `var`", "binding": f"`{e.name}` is bound at run time",
                   "global-var": f"`{e.name}` is a top-level `var`, run-time state",
                   "device": f"device `{e.name}` exists only once the devices are built"}
        raise NotConstant(reasons.get(kind, f"`{e.name}` is not a constant"), e.span)

    def enum_value(self, enum: str, name: str) -> EnumV:
        if enum == "Target":
            return EnumV("Target", name, ("hvt", "unix", "python").index(name))
        decl = self.program.enums[enum]
        return EnumV(enum, name, [v.name for v in decl.variants].index(name))

    def field(self, e: ast.Field, env: Env) -> Value:
        symbol = self.program.references.get(e)
        if symbol is not None and symbol.kind == "variant":
            enum, _, name = symbol.name.partition(".")
            return self.enum_value(enum, name)
        obj = self.eval(e.obj, env)
        if isinstance(obj, StructV):
            return obj.get(e.name)
        if isinstance(obj, ZoneV):
            return obj.origin if e.name == "origin" else obj.records
        raise NotConstant(f"`.{e.name}` cannot be read at compile time", e.span)

    # ------------------------------------------------------------ calls
    def call(self, e: ast.Call, env: Env) -> Value:
        symbol = self.program.references.get(e.callee)
        kind = symbol.kind if symbol is not None else ""
        if kind == "operation":
            raise NotConstant("a device operation runs only at run time", e.span)
        if kind == "builtin":
            assert symbol is not None
            return self.builtin(symbol.name, e, env)
        if kind == "component":
            if self.hooks.instantiate is None:
                raise NotConstant("components are built only in the devices block", e.span)
            assert isinstance(e.callee, ast.Name)
            info = self.program.components[e.callee.name]
            args = self.bind_arguments(e, [p.name for p in info.params])
            values = [None if a is None else self.eval(a, env) for a in args]
            return self.hooks.instantiate(e.callee.name, values, e)
        if kind == "function":
            assert isinstance(e.callee, ast.Name)
            return self.call_function(e.callee.name, e, env)
        callee = self.eval(e.callee, env)
        if isinstance(callee, FnRefV):
            return self.call_function(callee.name, e, env)
        raise NotConstant("this call cannot run at compile time", e.span)

    def bind_arguments(self, e: ast.Call, names: list[str]) -> list[ast.Expr | None]:
        bound: list[ast.Expr | None] = [None] * len(names)
        position = 0
        for arg in e.args:
            if arg.name is None:
                if position < len(bound):
                    bound[position] = arg.value
                position += 1
            elif arg.name in names:
                bound[names.index(arg.name)] = arg.value
        return bound

    def call_function(self, name: str, e: ast.Call, env: Env) -> Value:
        info = self.program.functions[name]
        if name not in self.program.pure_functions or info.decl is None:
            why = self.program.impurity.get(name, "it is not pure")
            raise NotConstant(f"`{name}` cannot run at compile time: {why}", e.span)
        args = self.bind_arguments(e, list(info.param_names))
        values = {p: self.eval(a, env) for p, a in zip(info.param_names, args, strict=True)
                  if a is not None}
        if self.call_depth == 0:
            self.entry_span = e.span
            # Shared with other threads' checks: raised and put back by count.
            try:
                with headroom(_RECURSION_LIMIT):
                    return self.run_call(info.decl, values, e)
            finally:
                self.entry_span = None
        if self.call_depth >= MAX_CALL_DEPTH:
            raise EvalError("E0303", self.entry_span or e.span, f"compile-time evaluation nests "
                            f"calls more than {MAX_CALL_DEPTH} deep (is the recursion endless?)")
        return self.run_call(info.decl, values, e)

    def run_call(self, decl: ast.FnDecl, values: dict[str, Value], e: ast.Call) -> Value:
        try:
            return self.run_function(decl, values)
        except RecursionError:
            raise EvalError("E0303", self.entry_span or e.span, "compile-time evaluation nests "
                            "calls too deeply (is the recursion endless?)") from None

    def function_env(self, arguments: dict[str, Value]) -> Env:
        """The scope a function body starts in: its arguments, nothing else
        (a pure function reads no top-level `var`)."""
        return Env(None, dict(arguments))

    def run_function(self, decl: ast.FnDecl, arguments: dict[str, Value]) -> Value:
        self.call_depth += 1
        try:
            self.block(decl.body, self.function_env(arguments))
        except _Return as result:
            return result.value
        finally:
            self.call_depth -= 1
        return None

    def builtin(self, name: str, e: ast.Call, env: Env) -> Value:
        if name in RUNTIME_BUILTINS:
            raise NotConstant(f"`{name}()` {RUNTIME_BUILTINS[name]} at run time", e.span)
        args = [self.eval(a.value, env) for a in e.args]
        if name == "len":
            if isinstance(args[0], str):
                return len(args[0].encode())  # bytes of its UTF-8 encoding (section 11)
            return len(args[0])  # type: ignore[arg-type]
        if name in ("min", "max"):
            return (min if name == "min" else max)(args)  # type: ignore[type-var]
        if name == "utf8":
            assert isinstance(args[0], bytes)
            try:
                return args[0].decode("utf-8")
            except UnicodeDecodeError:
                return None
        if name == "zonefile" and self.hooks.zonefile is not None:
            assert isinstance(args[0], str)
            return self.hooks.zonefile(args[0], e.span)
        if name == "dir" and self.hooks.directory is not None:
            assert isinstance(args[0], str)
            return self.hooks.directory(args[0], e.span)
        raise NotConstant(f"`{name}` is not available here", e.span)

    # ------------------------------------------------------------ indexing
    def index(self, e: ast.Index, env: Env) -> Value:
        obj = self.eval(e.obj, env)
        i = self.eval(e.index, env)
        assert isinstance(obj, tuple | bytes) and isinstance(i, int)
        if not 0 <= i < len(obj):
            raise self.trap(e, f"index {i} is out of range (length {len(obj)})",
                            f"index {i} out of range (length {len(obj)})")
        return obj[i]

    def slice(self, e: ast.Slice, env: Env) -> Value:
        obj = self.eval(e.obj, env)
        assert isinstance(obj, tuple | bytes)
        lower = self.eval(e.lower, env) if e.lower is not None else 0
        upper = self.eval(e.upper, env) if e.upper is not None else len(obj)
        assert isinstance(lower, int) and isinstance(upper, int)
        if not 0 <= lower <= upper <= len(obj):
            raise self.trap(e, f"slice [{lower}:{upper}] is out of range (length {len(obj)})",
                            f"slice [{lower}:{upper}] out of range (length {len(obj)})")
        return obj[lower:upper]

    # ------------------------------------------------------------ operators
    def unary(self, e: ast.Unary, env: Env) -> Value:
        value = self.eval(e.operand, env)
        if e.op is ast.UnaryOp.NOT:
            return not value
        assert isinstance(value, int)
        try:
            return arithmetic.fit(-value, self.type_of(e))
        except Trap as trap:
            raise self.trap(e, str(trap), trap.runtime) from None

    def binary(self, e: ast.Binary, env: Env) -> Value:
        op = e.op
        if op == "and":
            return bool(self.eval(e.left, env)) and bool(self.eval(e.right, env))
        if op == "or":
            return bool(self.eval(e.left, env)) or bool(self.eval(e.right, env))
        left = self.eval(e.left, env)
        if op == "??":
            return self.eval(e.right, env) if left is None else left
        right = self.eval(e.right, env)
        return self.operate(op, left, right, self.type_of(e), e)

    def operate(self, op: str, left: Value, right: Value, t: Type,
                e: ast.Expr | ast.Assign) -> Value:
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if op in ("<", "<=", ">", ">="):
            return _compare(op, _ordered(left), _ordered(right))
        try:
            if op == "/" and isinstance(left, DurationV | SizeV) \
                    and isinstance(right, DurationV | SizeV):
                return arithmetic.ratio(left, right)
            if t in (DURATION, SIZE):
                return arithmetic.quantity_op(op, left, right)
            if isinstance(left, bool) or isinstance(right, bool):
                raise AssertionError("booleans take no arithmetic")
            if isinstance(left, int) and isinstance(right, int):
                return arithmetic.int_op(op, left, right, t)
        except Trap as trap:
            raise self.trap(e, str(trap), trap.runtime) from None
        if op == "+" and isinstance(left, str | bytes | tuple):
            return left + right  # type: ignore[operator]
        raise NotConstant(f"`{op}` on these values is not supported at compile time", e.span)

    def cast(self, e: ast.Cast, env: Env) -> Value:
        value = self.eval(e.expr, env)
        target = self.type_of(e)
        if is_integer(target) and isinstance(value, int):
            try:
                return arithmetic.fit(value, target)
            except Trap:
                raise self.trap(e, f"{value} does not fit in `{target}`",
                                arithmetic.OVERFLOW) from None
        if target == BYTES and isinstance(value, str):
            return value.encode("utf-8")
        return value

    # ------------------------------------------------------------ match
    def match_value(self, e: ast.Match, env: Env) -> Value:
        value = self.eval(e.scrutinee, env)
        for arm in e.arms:
            bindings: dict[str, Value] = {}
            if self.matches(arm.pattern, value, bindings):
                self.decided(e.scrutinee, value, [a.body for a in e.arms if a is not arm])
                inner = Env(env, bindings)
                if isinstance(arm.body, ast.Expr):
                    return self.eval(arm.body, inner)
                self.stmt(arm.body, inner)
                return None
        raise self.trap(e, "no arm of this `match` matched", "no arm matched")

    def matches(self, pattern: ast.Pattern, value: Value, bindings: dict[str, Value]) -> bool:
        if isinstance(pattern, ast.WildcardPat):
            return True
        if isinstance(pattern, ast.BindPat):
            bindings[pattern.name] = value
            return True
        if isinstance(pattern, ast.AltPat):
            return any(self.matches(p, value, bindings) for p in pattern.alternatives)
        if isinstance(pattern, ast.NonePat):
            return value is None
        if isinstance(pattern, ast.SomePat):
            return value is not None and self.matches(pattern.inner, value, bindings)
        if isinstance(pattern, ast.EnumPat):
            return isinstance(value, EnumV) and value.name == pattern.value \
                and value.enum == pattern.enum
        return bool(self.eval(pattern.value) == value)

    # ------------------------------------------------------------ statements
    def block(self, block: ast.Block, env: Env) -> None:
        inner = Env(env)
        for s in block.stmts:
            self.stmt(s, inner)

    def stmt(self, s: ast.Stmt, env: Env) -> None:
        self.step(s.span)
        if isinstance(s, ast.Let):
            env.values[s.name] = self.eval(s.value, env)
        elif isinstance(s, ast.Assign):
            self.assign(s, env)
        elif isinstance(s, ast.ExprStmt):
            self.eval(s.expr, env)
        elif isinstance(s, ast.If):
            if self.eval(s.cond, env):
                self.block(s.then, env)
            elif s.else_ is not None:
                self.stmt(s.else_, env)
        elif isinstance(s, ast.IfLet):
            value = self.eval(s.value, env)
            if value is not None:
                self.block(s.then, Env(env, {s.name: value}))
            elif s.else_ is not None:
                self.stmt(s.else_, env)
        elif isinstance(s, ast.While):
            while self.eval(s.cond, env):
                try:
                    self.block(s.body, env)
                except _Break:
                    break
                except _Continue:
                    continue
        elif isinstance(s, ast.For):
            self.for_loop(s, env)
        elif isinstance(s, ast.Return):
            raise _Return(self.eval(s.value, env) if s.value is not None else None)
        elif isinstance(s, ast.Break):
            raise _Break
        elif isinstance(s, ast.Continue):
            raise _Continue
        elif isinstance(s, ast.Block):
            self.block(s, env)

    def assign(self, s: ast.Assign, env: Env) -> None:
        value = self.eval(s.value, env)
        if s.op != "=":
            _, current = env.lookup(s.target)
            symbol = self.program.references.get(s)
            t = symbol.type if symbol is not None and symbol.type is not None else I64
            # A trap here is at the statement, where the images report it.
            value = self.operate(s.op[0], current, value, t, s)
        env.assign(s.target, value)

    def for_loop(self, s: ast.For, env: Env) -> None:
        start = self.eval(s.iterable, env)
        if s.upper is not None:
            stop = self.eval(s.upper, env)
            assert isinstance(start, int) and isinstance(stop, int)
            items: range | tuple[Value, ...] | bytes = range(start, stop)
        else:
            assert isinstance(start, tuple | bytes)
            items = start
        for item in items:
            try:
                self.block(s.body, Env(env, {s.name: item}))
            except _Break:
                break
            except _Continue:
                continue


def _compare(op: str, a: Any, b: Any) -> bool:
    """Both sides have one type (the checker saw to it)."""
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


def _ordered(value: Value) -> int | str | bytes:
    if isinstance(value, DurationV):
        return value.nanoseconds
    if isinstance(value, SizeV):
        return value.size
    if isinstance(value, EnumV):
        return value.index
    assert isinstance(value, int | str | bytes)
    return value


__all__ = ["STRING", "DeviceV", "Env", "Evaluator", "FilesV", "Hooks"]
