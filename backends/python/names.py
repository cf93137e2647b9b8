"""Python names for specc names: never a keyword, never a runtime name."""

from __future__ import annotations

import builtins
import keyword

_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


class Namer:
    """Gives each specc name a Python name that collides with nothing taken."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken) | _RESERVED

    def fresh(self, wanted: str) -> str:
        name = wanted
        counter = 1
        while name in self.taken:
            counter += 1
            name = f"{wanted}_{counter}" if counter > 1 else f"{wanted}_"
        self.taken.add(name)
        return name
