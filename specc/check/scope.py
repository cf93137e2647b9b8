"""Local scopes inside bodies: variables, parameters and pattern bindings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from specc.records import Record
from specc.span import Span
from specc.types import Type


@dataclass(repr=False)
class Local(Record):
    """A name a body binds: its type, where it was bound, and how."""

    name: str
    type: Type
    span: Span
    # "let", "var", "binding" (if let / match / for), "param" (function),
    # "const-param" and "device-param" (component), "config-const" and
    # "config-param" (a key's bare name inside its own `requires`); "global-var"
    # stands for a top-level `var` while an assignment to it is checked.
    kind: str
    doc: str | None = None
    used: bool = False

    @property
    def mutable(self) -> bool:
        return self.kind in ("var", "global-var")


class Scope:
    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.names: dict[str, Local] = {}

    def lookup(self, name: str) -> Local | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.names.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def bind(self, local: Local) -> None:
        self.names[local.name] = local

    def child(self) -> Scope:
        return Scope(self)

    def visible(self) -> Iterator[str]:
        scope: Scope | None = self
        while scope is not None:
            yield from scope.names
            scope = scope.parent
