"""counter(out, start, step): a total kept across calls."""

from __future__ import annotations

from typing import Any, Final

from .core import Runtime


class Impl:
    START: Final[int] = 0
    STEP: Final[int] = 1

    def __init__(self, rt: Runtime, out: Any) -> None:
        self.rt = rt
        self.count = self.START
        out.write("counter ready\n")

    def add(self, n: int) -> int:
        self.count += n * self.STEP
        return self.count

    def total(self) -> int:
        return self.count
