"""What formatting must not change: a position-free dump of the syntax tree.

:func:`structure` turns a module into nested tuples of plain values, leaving
out every span, the comments and the path, so that a file and its formatted
text dump equal exactly when they parse to the same program.

Doc comments are attached by the tokenizer to the *line* after them
(``specc/syntax/lexer.py``), so a member that shares a line with its
declaration's keyword, or with a documented sibling, also gets that doc.
Formatting puts members on lines of their own (or joins a short struct onto
one line), which moves such shared docs; the dump therefore leaves out a
member's doc when it equals the doc of its declaration or of the member
before it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from enum import Enum

from specc import ast
from specc.span import Span

# Declarations whose members carry docs, and the field that holds the members.
_MEMBERS = {ast.EnumDecl: "variants", ast.StructDecl: "fields", ast.InterfaceDecl: "ops",
            ast.ConfigBlock: "keys", ast.DevicesBlock: "devices"}
_SKIPPED_FIELDS = frozenset({"comments", "path"})


def structure(module: ast.Module) -> object:
    """The dump of ``module`` (see the module docstring)."""
    decls = []
    previous_end = 0
    for decl in module.decls:
        pending = _pending_doc(module, previous_end, decl.span.start)
        decls.append(_dump(decl, pending))
        previous_end = decl.span.end
    return ("Module", tuple(decls))


def comment_texts(module: ast.Module) -> Counter[str]:
    return Counter(c.text.rstrip() for c in module.comments)


def _pending_doc(module: ast.Module, start: int, end: int) -> str | None:
    """The doc the tokenizer attaches to the line of the token at ``end``."""
    lines = []
    for c in module.comments:
        if start <= c.span.start < end and c.text.startswith("##"):
            text = c.text[2:]
            lines.append(text[1:] if text.startswith(" ") else text)
    return "\n".join(lines) if lines else None


def _dump(node: object, line_doc: str | None = None) -> object:
    if isinstance(node, Span):
        return None
    if isinstance(node, tuple | list):
        return tuple(_dump(item) for item in node)
    if isinstance(node, Enum):
        return node.value
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    members = _MEMBERS.get(type(node))
    fields: list[tuple[str, object]] = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if f.name in _SKIPPED_FIELDS or isinstance(value, Span):
            continue
        if f.name == "doc" and isinstance(value, str):
            fields.append((f.name, _clean(value)))
        elif f.name == members:
            fields.append((f.name, _dump_members(value, getattr(node, "doc", None), line_doc)))
        else:
            fields.append((f.name, _dump(value)))
    return (type(node).__name__, tuple(fields))


def _clean(doc: str) -> str:
    """A doc without the line ends' blanks (a `\r` of a CRLF file, say)."""
    return "\n".join(line.rstrip() for line in doc.split("\n"))


def _dump_members(members: tuple[object, ...], *docs: str | None) -> object:
    shared = {_clean(d) for d in docs if d is not None}
    dumped = []
    for member in members:
        doc = getattr(member, "doc", None)
        doc = _clean(doc) if isinstance(doc, str) else None
        item = _dump(member)
        if doc is not None and doc in shared and isinstance(item, tuple):
            name, fields = item
            item = (name, tuple((k, None if k == "doc" else v) for k, v in fields))
        if doc is not None:
            shared.add(doc)
        dumped.append(item)
    return tuple(dumped)
