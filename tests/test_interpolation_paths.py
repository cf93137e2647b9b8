"""The parser's shortcut for interpolations that are a name or a dotted path
(`{acc}`, `{d.src}`, `{config.port}`), or a call of one with such paths as its
arguments (`{label(c)}`, `{len(r.tags)}`), builds the tree the grammar builds.

specc.syntax.parser._ParseSession.simple_path skips the tokenizer and the
LALR automaton for most interpolations; these cases check that whenever it
takes the shortcut, the tree (spans included) is the one the full parse of
the same text gives, and that it declines everything the grammar reads
differently (keywords, other calls, blanks inside a path, non-words).
"""

from __future__ import annotations

import dataclasses
import enum

import pytest

from specc.diagnostics import DiagnosticSink
from specc.span import SourceFile, Span
from specc.syntax.lexer import tokenize
from specc.syntax.parser import _ParseSession, grammar


def _dump(value: object) -> object:
    if isinstance(value, Span):
        return ("span", value.line, value.column, value.end_line, value.end_column,
                value.start, value.end)
    if isinstance(value, tuple):
        return tuple(_dump(v) for v in value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, _dump(getattr(value, f.name))) for f in dataclasses.fields(value)))
    return value


def _parse_both(inner: str) -> tuple[object, object]:
    """(the shortcut's tree or None, the full parse's tree) of ``"{inner}"``
    on the second line of a file, so that lines and offsets both count."""
    text = f'unikernel t\nmain {{ print("x {{{inner}}} y") }}\n'
    offset = text.index("{" + inner + "}") + 1
    source = SourceFile("t.spec", text)
    session = _ParseSession(source, DiagnosticSink())
    shortcut = session.simple_path(offset, inner)
    lexed = tokenize(source, grammar().terminal_of, base_offset=offset, text=inner)
    full = session.drive(lexed.tokens, "expr", end=offset + len(inner))
    return (None if shortcut is None else _dump(shortcut)), _dump(full)


@pytest.mark.parametrize("inner", [
    "acc", " acc", "acc\t", "  d.src ", "d.src_port", "r.owner.name", "_x", "x1.y2",
    "config.port", "config.port.value", " target", "target.name",
    "len(x)", "d.src()", "label0(c)", "f( )", " f( a ,b.c ) ", "a.b.c(d.e,\tf)",
    "len(config.port)", "f(target)", "f(target.name, config.x.y)", "work3(d, acc)", "f(x) ",
])
def test_the_shortcut_builds_the_tree_the_grammar_builds(inner: str) -> None:
    shortcut, full = _parse_both(inner)
    assert shortcut is not None, "the shortcut should take this one"
    assert shortcut == full


@pytest.mark.parametrize("inner", [
    "a + b", "a .b", "a. b", "a..b", "a.", ".a", "1a", "a.1", "if", "a.if",
    "x.match", "config", "none", "true", "a\fb", "a\r", "a-b", "a[0]", "a?", "a ?? b",
    "some(x)", "f(a,)", "f(,)", "f(a,,b)", "f (x)", "f(a b)", "f(g(x))", "f(x)(y)", "f((x))",
    "config.f(x)", "target(x)", "target.f()", "f(x = 1)", "f(1)", "(x)", "f(if)", "if(x)",
    "f(x).y", "f(x", "f)x(", "f(a.)", "f(none)", "f(config)", "f(x)y",
    "naïve", "é.x",  # not names: the tokenizer reports the character (E0003)
])
def test_the_shortcut_declines_what_the_grammar_reads_otherwise(inner: str) -> None:
    shortcut, _ = _parse_both(inner)
    assert shortcut is None
