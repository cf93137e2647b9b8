"""Specializing a component's Python implementation for one instance.

The implementation's `class Impl` declares each `const` parameter as a
`Final` class attribute.  For an instance, the attribute gets the instance's
value; where the value is a scalar, every use becomes that literal and the
`if`s it decides keep one branch; methods that no kept code reaches go.

Before (console_log at LogLevel.info, only `info` called)::

    LEVEL: Final[int] = 1
    def debug(self, m): if self.LEVEL <= 0: ...
    def info(self, m):  if self.LEVEL <= 1: console_write(...)

After::

    def info(self, m): console_write(...)
"""

from __future__ import annotations

import ast
import copy
import operator
from collections.abc import Callable
from typing import Any

from specc.backends.python.plain_literal import PlainLiteral

# A placeholder's name: a run-time module or a user's file that used one
# would be told so (emit.py), not get its text replaced.
PLACEHOLDER_PREFIX = "__specc_plain_literal_"
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
}


def specialize_class(impl: ast.ClassDef, name: str, constants: dict[str, str],
                     operations: set[str], spliced: dict[str, str] | None = None) -> ast.ClassDef:
    """A copy of ``impl`` named ``name`` with ``constants`` (attribute -> Python
    source) substituted and only the methods ``operations`` need.

    With ``spliced``, a constant that is a `PlainLiteral` is not parsed: its
    value becomes a placeholder name, added to ``spliced`` with the text the
    caller puts in its place once the file is written (plain_literal.py)."""
    cls: ast.ClassDef = copy.deepcopy(impl)
    cls.name = name
    scalars: dict[str, ast.expr] = {}
    for statement in cls.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                and statement.target.id in constants:
            source = constants[statement.target.id]
            if spliced is not None and isinstance(source, PlainLiteral):
                placeholder = f"{PLACEHOLDER_PREFIX}{len(spliced)}__"
                spliced[placeholder] = source
                statement.value = ast.Name(placeholder, ast.Load())
                continue
            value = ast.parse(source, mode="eval").body
            statement.value = value
            if isinstance(value, ast.Constant):
                scalars[statement.target.id] = value
    _Substitute(scalars).visit(cls)
    _FoldBranches().visit(cls)
    cls.body = [s for s in cls.body if not (isinstance(s, ast.AnnAssign)
                                            and isinstance(s.target, ast.Name)
                                            and s.target.id in scalars)]
    _keep_reachable_methods(cls, operations)
    ast.fix_missing_locations(cls)
    return cls


class _Substitute(ast.NodeTransformer):
    """`self.NAME` / `Impl.NAME` of a scalar constant becomes its literal."""

    def __init__(self, scalars: dict[str, ast.expr]) -> None:
        self.scalars = scalars

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr in self.scalars and isinstance(node.value, ast.Name) \
                and node.value.id in ("self", "Impl") and isinstance(node.ctx, ast.Load):
            return copy.deepcopy(self.scalars[node.attr])
        return self.generic_visit(node)


class _FoldBranches(ast.NodeTransformer):
    """`if` statements and conditional expressions whose tests are constant."""

    def visit_If(self, node: ast.If) -> Any:
        self.generic_visit(node)
        value = constant_value(node.test)
        if value is _UNKNOWN:
            return node
        kept = node.body if value else node.orelse
        return kept or None

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        self.generic_visit(node)
        value = constant_value(node.test)
        if value is _UNKNOWN:
            return node
        return node.body if value else node.orelse

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        self.generic_visit(node)
        if not node.body:
            node.body = [ast.Pass()]
        return node


_UNKNOWN = object()


def constant_value(node: ast.expr) -> Any:
    """The value of an expression made of literals, or ``_UNKNOWN``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = constant_value(node.operand)
        return _UNKNOWN if inner is _UNKNOWN else not inner
    if isinstance(node, ast.BoolOp):
        values = [constant_value(v) for v in node.values]
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = constant_value(node.left), constant_value(node.comparators[0])
        compare = _COMPARE.get(type(node.ops[0]))
        if left is _UNKNOWN or right is _UNKNOWN or compare is None:
            return _UNKNOWN
        try:
            return compare(left, right)
        except TypeError:
            return _UNKNOWN
    return _UNKNOWN


def _keep_reachable_methods(cls: ast.ClassDef, operations: set[str]) -> None:
    methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef)}
    wanted = {"__init__", *operations}
    queue = [m for m in wanted if m in methods]
    kept: set[str] = set(queue)
    while queue:
        method = methods[queue.pop()]
        for node in ast.walk(method):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "self" and node.attr in methods \
                    and node.attr not in kept:
                kept.add(node.attr)
                queue.append(node.attr)
    cls.body = [s for s in cls.body if not isinstance(s, ast.FunctionDef) or s.name in kept] \
        or [ast.Pass()]
