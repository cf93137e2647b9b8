"""console_log(level): log lines at or above `level` to the console."""

from __future__ import annotations

from typing import Final

from .core import Runtime, console_write


class Impl:
    # LogLevel in declaration order: debug 0, info 1, warn 2, error 3.
    LEVEL: Final[int] = 1

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def debug(self, m: str) -> None:
        if self.LEVEL <= 0:
            console_write(f"[debug] {m}\n")

    def info(self, m: str) -> None:
        if self.LEVEL <= 1:
            console_write(f"[info] {m}\n")

    def warn(self, m: str) -> None:
        if self.LEVEL <= 2:
            console_write(f"[warn] {m}\n")

    def error(self, m: str) -> None:
        console_write(f"[error] {m}\n")
