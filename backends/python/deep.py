"""Expressions too deep for Python's own parser.

The Python text of an expression nests one or two brackets for every level of
its tree (`ck(ck(a + b, ...) + c, ...)`), and CPython's tokenizer stops at
200 nested brackets ("too many nested parentheses"), so a sum of 210 terms
that specc checks would not build for the python target.  Such a subtree is
lowered instead into a module-level helper function of the local variables it
reads, and the expression calls it: `_deep1(x)` evaluates the same operands
in the same order at the same moment, so the program behaves the same, and
every helper nests at most HOIST_HEIGHT levels.
"""

from __future__ import annotations

from specc import ast
from specc.span import Span

# Tree levels kept inline: at two brackets a level, with the statement's own
# brackets around it, far below the tokenizer's 200.
HOIST_HEIGHT = 48


class Heights:
    """Which expression nodes to hoist: the plan cuts every tree into bands of
    at most HOIST_HEIGHT levels, from the leaves up.  A node's height counts
    a hoisted child as one level (a call); a node taller than HOIST_HEIGHT is
    hoisted.  Each node is measured once."""

    def __init__(self) -> None:
        self.known: dict[int, int] = {}
        self.hoisted: set[int] = set()
        self.nodes: list[object] = []  # keeps every measured node alive, so ids stay unique

    def hoist(self, node: object) -> bool:
        self.height(node)
        return id(node) in self.hoisted

    def height(self, node: object) -> int:
        key = id(node)
        found = self.known.get(key)
        if found is not None:
            return found
        height = 1 + max((self.height(child) for child in children(node)), default=0)
        if height > HOIST_HEIGHT:
            self.hoisted.add(key)
            height = 1
        self.known[key] = height
        self.nodes.append(node)
        return height


def children(node: object) -> list[object]:
    """The AST nodes directly under ``node`` (through tuples such as a call's
    arguments, a string's parts or a match's arms), spans left out."""
    found: list[object] = []
    fields = getattr(node, "__dataclass_fields__", None)
    if not fields:
        return found
    for name in fields:
        if name == "span" or name.endswith("_span"):
            continue
        _collect(getattr(node, name), found)
    return found


def _collect(value: object, found: list[object]) -> None:
    if value is None or isinstance(value, str | int | bytes | bool | Span):
        return
    if isinstance(value, tuple | list):
        for item in value:
            _collect(item, found)
        return
    found.append(value)


def local_names(node: object, is_local: dict[str, bool]) -> list[ast.Name]:
    """The first `Name` node of each distinct name under ``node`` that
    ``is_local`` says is a local variable where ``node`` is, in source order."""
    first: dict[str, ast.Name] = {}
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Name) and is_local.get(item.name) and item.name not in first:
            first[item.name] = item
        stack.extend(reversed(children(item)))
    return list(first.values())
