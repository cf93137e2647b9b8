"""The token the tokenizer produces and the parser consumes.

A token is a plain tuple ``(type, value, start, line, column, end_column,
end)``, read by the index names below: its terminal, its text, its
character offsets (``end`` exclusive), its 1-based line and its columns
(``end_column`` exclusive).  A token never spans lines, so it has one line.
A tuple rather than a class: the tokenizer makes one per token, and creating
and freeing an instance of a slotted class, about fifteen times a tuple's
cost, was a sixth of the instructions of checking a large file (issue 13).
Nothing else in a parse is a bare tuple (the builder's lists are cons pairs
of two, never seen where a token is), so ``x.__class__ is tuple`` tells a
token from a node.
"""

from __future__ import annotations

from typing import Final

Token = tuple[str, str, int, int, int, int, int]

TYPE: Final = 0
VALUE: Final = 1
START: Final = 2
LINE: Final = 3
COLUMN: Final = 4
END_COLUMN: Final = 5
END: Final = 6

