"""Splitting a document into pieces that parse independently.

A piece starts at a line that begins, at column 1, with a word that starts a
top-level declaration, together with the comment and blank lines directly
above it (its doc comment travels with it).  Nothing here proves that such a
line really is at the top level (a `var` in a badly indented function body
looks the same); :mod:`specc.incremental.parse` only trusts a split when
every piece parses without a single diagnostic, which a piece cut inside a
brace, a bracket or a string never does.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# The words of specc.syntax.lexer's _DECLARATION_STARTS, at the start of a
# line.  Matched as the newline before them: a pattern that starts with a
# literal is searched for quickly, where `^` in MULTILINE mode is tried at
# every character (about ten times slower on a 1,000-line file).
_DECLARATION_LINE = re.compile(
    r"\n(?=(?:fn|main|struct|enum|interface|component|config|devices|unikernel|use|var)\b)")


class Chunk(NamedTuple):
    """``text`` starts at character ``start`` of the document, at the start of
    (1-based) line ``line``."""

    start: int
    line: int
    text: str


def split(text: str) -> list[Chunk]:
    """``text`` as consecutive chunks (their texts concatenate to ``text``).
    A declaration on the first line starts the first chunk anyway."""
    starts = [0]
    for match in _DECLARATION_LINE.finditer(text):
        start = match.end()
        while start > 0:  # take the comment and blank lines above along
            above = text.rfind("\n", 0, start - 1) + 1
            content = text[above:start - 1].strip()
            if content and not content.startswith("#"):
                break
            start = above
        if start > starts[-1]:
            starts.append(start)
    chunks = []
    line = 1
    ends = [*starts[1:], len(text)]
    for start, end in zip(starts, ends, strict=True):
        if end > start:
            chunks.append(Chunk(start, line, text[start:end]))
            line += text.count("\n", start, end)
    return chunks
