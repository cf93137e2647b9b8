"""A small pretty-printing document algebra (Wadler's "prettier printer", in
the style of prettier's doc builders) and its renderer.

A document is a tree of text, line breaks and groups.  A group is printed
flat (its soft line breaks as a space or nothing) when it fits in the
remaining width, else broken (every line break of its own level is a
newline).  A hard line break, or a :data:`BREAK`, breaks every group around
it; a trailing comment uses :func:`comment`, which counts as zero columns so
that comments never change layout decisions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    """Text that counts ``width`` columns when deciding whether a group fits."""

    text: str
    width: int


@dataclass(frozen=True, slots=True)
class Line:
    """A newline in a broken group; ``flat`` (a space or nothing) in a flat one."""

    flat: str


@dataclass(frozen=True, slots=True)
class HardLine:
    """Always a newline."""


@dataclass(frozen=True, slots=True)
class BreakParent:
    """Prints nothing; breaks every group it is in."""


@dataclass(frozen=True, slots=True)
class Concat:
    parts: tuple[Doc, ...]
    hard: bool


@dataclass(frozen=True, slots=True)
class Nest:
    indent: int
    doc: Doc
    hard: bool


@dataclass(frozen=True, slots=True)
class Align:
    """Lines inside break to the column where ``doc`` starts (not to the
    enclosing indentation): ``else`` under its ``if``."""

    doc: Doc
    hard: bool


@dataclass(frozen=True, slots=True)
class Group:
    doc: Doc
    hard: bool


@dataclass(frozen=True, slots=True)
class IfBreak:
    """``broken`` in a broken group, ``flat`` in a flat one."""

    broken: Doc
    flat: Doc
    hard: bool


Doc = str | Text | Line | HardLine | BreakParent | Concat | Nest | Align | Group | IfBreak

LINE = Line(" ")
SOFTLINE = Line("")
HARDLINE = HardLine()
BREAK = BreakParent()
EMPTY: Doc = ""


def is_hard(doc: Doc) -> bool:
    if isinstance(doc, str | Text | Line):
        return False
    if isinstance(doc, HardLine | BreakParent):
        return True
    return doc.hard


def concat(*parts: Doc) -> Doc:
    flat: list[Doc] = []
    for part in parts:
        if isinstance(part, Concat):
            flat.extend(part.parts)
        elif part != "":
            flat.append(part)
    if len(flat) == 1:
        return flat[0]
    return Concat(tuple(flat), any(is_hard(p) for p in flat))


def nest(*parts: Doc, indent: int = 2) -> Doc:
    doc = concat(*parts)
    return Nest(indent, doc, is_hard(doc))


def align(*parts: Doc) -> Doc:
    doc = concat(*parts)
    return Align(doc, is_hard(doc))


def flat_text(doc: Doc) -> str | None:
    """The text of ``doc`` if it is plain text that can never break, else None."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, Concat):
        texts = [flat_text(part) for part in doc.parts]
        return None if any(t is None for t in texts) else "".join(t or "" for t in texts)
    return None


def group(*parts: Doc) -> Doc:
    doc = concat(*parts)
    return Group(doc, is_hard(doc))


def if_break(broken: Doc, flat: Doc = "") -> Doc:
    return IfBreak(broken, flat, is_hard(broken) or is_hard(flat))


def comment(text: str) -> Doc:
    """A comment's text: it never makes a group break for lack of room."""
    return Text(text, 0)


def join(separator: Doc, docs: list[Doc]) -> Doc:
    parts: list[Doc] = []
    for index, doc in enumerate(docs):
        if index:
            parts.append(separator)
        parts.append(doc)
    return concat(*parts)


# A command of the renderer: (indentation, flat?, document).
_Command = tuple[int, bool, Doc]


def render(doc: Doc, width: int) -> str:
    """Lay ``doc`` out in ``width`` columns; lines carry no trailing blanks."""
    out: list[str] = []
    column = 0
    stack: list[_Command] = [(0, False, doc)]
    while stack:
        indent, flat, item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            column += len(item)
        elif isinstance(item, Text):
            out.append(item.text)
            column += len(item.text)
        elif isinstance(item, Concat):
            stack.extend((indent, flat, part) for part in reversed(item.parts))
        elif isinstance(item, Nest):
            stack.append((indent + item.indent, flat, item.doc))
        elif isinstance(item, Align):
            stack.append((column, flat, item.doc))
        elif isinstance(item, Group):
            if not flat and not item.hard:
                flat = _fits((indent, True, item.doc), stack, width - column)
            stack.append((indent, flat and not item.hard, item.doc))
        elif isinstance(item, IfBreak):
            stack.append((indent, flat, item.flat if flat else item.broken))
        elif isinstance(item, Line) and flat:
            out.append(item.flat)
            column += len(item.flat)
        elif isinstance(item, Line | HardLine):
            out.append("\n" + " " * indent)
            column = indent
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))


def _fits(first: _Command, rest: list[_Command], room: int) -> bool:
    """Whether ``first``, then what follows it up to the next line break, fits in ``room``."""
    todo = [first]
    next_rest = len(rest) - 1
    while room >= 0:
        if not todo:
            if next_rest < 0:
                return True
            todo.append(rest[next_rest])
            next_rest -= 1
            continue
        indent, flat, item = todo.pop()
        if isinstance(item, str):
            room -= len(item)
        elif isinstance(item, Text):
            room -= item.width
        elif isinstance(item, Concat):
            todo.extend((indent, flat, part) for part in reversed(item.parts))
        elif isinstance(item, Nest):
            todo.append((indent + item.indent, flat, item.doc))
        elif isinstance(item, Align):
            todo.append((indent, flat, item.doc))  # only the room before a break counts here
        elif isinstance(item, Group):
            todo.append((indent, flat and not item.hard, item.doc))
        elif isinstance(item, IfBreak):
            todo.append((indent, flat, item.flat if flat else item.broken))
        elif isinstance(item, Line) and flat:
            room -= len(item.flat)
        elif isinstance(item, Line | HardLine):
            return True
    return False
