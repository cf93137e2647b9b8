"""Copies of syntax trees moved to another place in their file.

A declaration parsed once keeps its tree while the text above it changes;
only its spans move: by a number of lines and of characters, columns
unchanged (a piece always starts at the start of a line).  The copy is
new nodes throughout: side tables are keyed by node, and the trees of the
previous check (still held for completion) must keep their own spans.

Moving the trees below an edit is on the language server's path after every
keystroke, so each node class gets a copying function written for its
fields (generated once, from the dataclass fields of :mod:`specc.ast`):
a field that always holds a span is moved directly, one that holds a
string, number or enum member is passed as it is, and only the rest (nodes,
tuples, optional parts) goes through the generic :meth:`Relocator.value`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from specc import ast
from specc.span import Span

# Field annotations (strings: specc.ast uses postponed annotations) whose
# values hold no span.
_PLAIN = frozenset({"str", "int", "bool", "bytes", "str | None", "KeyKind", "UnaryOp", "Value"})

_Copy = Callable[[Any, Callable[[Span], Span], Callable[[Any], Any]], Any]


def _copier(cls: type) -> _Copy:
    """``copy(node, span, value)``: a new ``cls`` with every field moved."""
    parts = []
    for f in dataclasses.fields(cls):
        annotation = str(f.type)
        if annotation == "Span":
            parts.append(f"span(v.{f.name})")
        elif annotation in _PLAIN:
            parts.append(f"v.{f.name}")
        else:
            parts.append(f"value(v.{f.name})")
    code = f"def copy(v, span, value):\n    return cls({', '.join(parts)})\n"
    namespace: dict[str, Any] = {"cls": cls}
    exec(code, namespace)  # our own code, made from the dataclass fields above
    copy: _Copy = namespace["copy"]
    return copy


_COPIERS: dict[type, _Copy] = {
    cls: _copier(cls)
    for cls in vars(ast).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls not in (ast.Module, Span)
}

class Relocator:
    """Moves trees by ``lines`` lines and ``chars`` characters."""

    def __init__(self, lines: int, chars: int) -> None:
        self.lines = lines
        self.chars = chars

        def span(s: Span) -> Span:
            return Span(s.file, s.line + lines, s.column, s.end_line + lines, s.end_column,
                        s.start + chars, s.end + chars)

        self.span = span

    def value(self, v: Any) -> Any:
        kind = type(v)
        copy = _COPIERS.get(kind)
        if copy is not None:
            return copy(v, self.span, self.value)
        if kind is tuple:
            return tuple([self.value(item) for item in v])
        if kind is Span:
            return self.span(v)
        return v  # None, a string, a number: nothing to move

    def decls(self, decls: tuple[ast.Decl, ...]) -> tuple[ast.Decl, ...]:
        moved: tuple[ast.Decl, ...] = self.value(decls)
        return moved

    def comments(self, comments: tuple[ast.Comment, ...]) -> tuple[ast.Comment, ...]:
        span = self.span
        return tuple([ast.Comment(span(c.span), c.text) for c in comments])
