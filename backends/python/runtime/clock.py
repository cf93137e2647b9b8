"""clock(): monotonic time since boot."""

from __future__ import annotations

from .core import Runtime, now


class Impl:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def now(self) -> int:
        return now()
