"""led(): a Python-only component (the hvt target has no C for it)."""

from __future__ import annotations


class Impl:
    def __init__(self, rt: object) -> None:
        self.rt = rt

    def blink(self) -> None:
        print("blink")
