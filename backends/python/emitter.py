"""An indenting line emitter for generated code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Emitter:
    """Lines at the current indentation.  ``empty_body`` fills a block that
    got no lines (Python needs `pass`; C needs nothing)."""

    def __init__(self, empty_body: str | None = "pass") -> None:
        self.lines: list[str] = []
        self.depth = 0
        self.empty_body = empty_body

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self.depth + text) if text else "")

    @contextmanager
    def indent(self) -> Iterator[None]:
        self.depth += 1
        start = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == start and self.empty_body is not None:
                self.line(self.empty_body)
            self.depth -= 1

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
