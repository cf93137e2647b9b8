"""Where an expression is being checked: what it may use and what it must give."""

from __future__ import annotations

from dataclasses import dataclass

from specc.records import Record
from specc.types import Type

# Contexts whose expressions are evaluated at compile time.
COMPILE_TIME_CONTEXTS = frozenset({"config", "devices", "composition", "drop", "default",
                                   "var"})


@dataclass(repr=False)
class Context(Record):
    """The kind of code being checked, and what it may use there (a docstring
    of its own: dataclasses would make one with inspect.signature at import)."""

    kind: str  # "fn", "main", "config", "devices", "composition", "drop", "default",
    # "var" (the initializer of a top-level `var`)
    result: Type | None = None  # a function's result type; None: it gives no value
    fn_name: str | None = None
    loops: int = 0
    # Blocks and `match` arms around the statement being checked (MAX_NESTING).
    nesting: int = 0

    @property
    def allows_components(self) -> bool:
        return self.kind in ("devices", "composition")

    @property
    def allows_statements(self) -> bool:
        return self.kind in ("fn", "main")
