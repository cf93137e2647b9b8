"""Source files and spans: where in the user's text a thing came from."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from specc.records import Record, assigned_at_run_time


@assigned_at_run_time  # a large file makes tens of thousands of spans
@dataclass(frozen=True, slots=True, repr=False)
class Span(Record):
    """A range of source text.

    Lines and columns are 1-based; ``end_column`` is the column just after the
    last character (so an empty span has ``column == end_column``).  ``start``
    and ``end`` are character offsets into the file's text.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    def to(self, other: Span) -> Span:
        """The span from the start of ``self`` to the end of ``other``."""
        return Span(
            self.file, self.line, self.column, other.end_line, other.end_column, self.start, other.end
        )

    def contains(self, offset: int) -> bool:
        return self.start <= offset <= self.end

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, repr=False)
class SourceFile(Record):
    """A file's path and text, with a line index for turning offsets into positions."""

    path: str
    text: str
    _line_starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.text.find
        at = find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = find("\n", at + 1)
        object.__setattr__(self, "_line_starts", starts)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based (line, column), clamped to the text."""
        if line < 1:
            return 0
        if line > len(self._line_starts):
            return len(self.text)
        return min(self._line_starts[line - 1] + column - 1, len(self.text))

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Span(self.path, line, column, end_line, end_column, start, end)
