"""timer(): run a function once after a delay, or repeatedly."""

from __future__ import annotations

from collections.abc import Callable

from .core import Runtime, now


class Impl:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def after(self, d: int, f: Callable[[], None]) -> None:
        self.rt.at_time(now() + d, f)

    def every(self, d: int, f: Callable[[], None]) -> None:
        period = max(d, 1)

        def tick() -> None:
            f()
            self.rt.at_time(now() + period, tick)

        self.rt.at_time(now() + period, tick)
