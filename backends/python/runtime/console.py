"""console(): text to the console (standard output on hosted targets)."""

from __future__ import annotations

from .core import Runtime, console_write


class Impl:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def write(self, s: str) -> None:
        console_write(s)
