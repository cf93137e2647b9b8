"""The record of branches that constants decided, so that every removal can
say which condition removed it (for `explain`, `graph` and the manifest)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from specc import ast
from specc.span import Span
from specc.values import Value, source_text


@dataclass(frozen=True)
class Decision:
    """A constant condition that chose one branch and removed the others."""

    span: Span  # the condition or scrutinee
    owner: str  # where the branch was: "devices", "main", a function's name
    condition: str  # as the user wrote it: "config.tcp", "target"
    value: str  # what it evaluated to: "false", "Target.unix"
    pruned: tuple[object, ...]  # the removed branches (AST nodes)

    def describe(self) -> str:
        return f"`{self.condition}` is {self.value} ({where(self.span)})"


@dataclass
class BranchLog:
    decisions: list[Decision] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # file -> text, for conditions
    owner: str = "devices"  # set by the pass that records
    _index: dict[str, list[Decision]] | None = field(default=None, repr=False)
    _indexed: int = field(default=0, repr=False)

    def record(self, condition: ast.Expr, value: Value, pruned: list[object]) -> None:
        if not pruned:
            return
        text = self.texts.get(condition.span.file)
        written = text[condition.span.start:condition.span.end] if text else "condition"
        self.decisions.append(Decision(condition.span, self.owner, written, source_text(value),
                                       tuple(pruned)))

    def reason_for(self, name: str, live: set[str] | None = None) -> Decision | None:
        """The first decision whose removed branches mention ``name`` (among
        decisions made in ``live`` owners, when given)."""
        for decision in self.mentioning().get(name, ()):
            if live is None or decision.owner in live:
                return decision
        return None

    def mentioning(self) -> dict[str, list[Decision]]:
        """name -> the decisions whose removed branches mention it, in order;
        built once (each pruned branch is walked once, not once per name)."""
        if self._index is None or self._indexed != len(self.decisions):
            index: dict[str, list[Decision]] = {}
            for decision in self.decisions:
                names: set[str] = set()
                for node in decision.pruned:
                    names |= mentioned_names(node)
                for found in sorted(names):
                    index.setdefault(found, []).append(decision)
            self._index, self._indexed = index, len(self.decisions)
        return self._index


def where(span: Span) -> str:
    """A position as users see it; the shipped prelude is `<prelude>` rather
    than wherever it is installed, so reasons read the same everywhere."""
    from specc.check.loader import prelude_path

    path = "<prelude>" if span.file == prelude_path() else span.file
    return f"{path}:{span.line}:{span.column}"


def mentioned_names(node: object) -> set[str]:
    """Every bare name (function, device, component, top-level `var`) a
    subtree mentions, or assigns."""
    names: set[str] = set()
    for item in walk(node):
        if isinstance(item, ast.Name):
            names.add(item.name)
        elif isinstance(item, ast.Assign):
            names.add(item.target)
    return names


def walk(node: object) -> Iterator[object]:
    """Every AST node under ``node`` (inclusive)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, str | int | bytes | bool | Span):
            continue
        if isinstance(item, tuple | list):
            stack.extend(item)
            continue
        yield item
        fields = getattr(item, "__dataclass_fields__", None)
        if fields:
            for name in fields:
                if name != "span" and not name.endswith("_span"):
                    stack.append(getattr(item, name))
