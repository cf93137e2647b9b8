"""The token the tokenizer produces and the parser consumes."""

from __future__ import annotations


class Token:
    """A token with its position: 1-based line and columns (end exclusive) and
    character offsets.  A plain slotted class: the parser makes tens of
    thousands of these for a large file."""

    __slots__ = ("column", "end_column", "end_line", "end_pos", "line", "start_pos", "type",
                 "value")

    def __init__(self, type: str, value: str, start_pos: int, line: int, column: int,
                 end_line: int, end_column: int, end_pos: int) -> None:
        self.type = type
        self.value = value
        self.start_pos = start_pos
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.end_pos = end_pos

    def retyped(self, type: str, value: str | None = None) -> Token:
        return Token(type, self.value if value is None else value, self.start_pos, self.line,
                     self.column, self.end_line, self.end_column, self.end_pos)

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r}, {self.line}:{self.column})"
