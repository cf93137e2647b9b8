"""Checking a document again without checking every function body again.

:class:`IncrementalCheck` keeps, for one document, what checking each
function body did in the last check (:class:`_Record`: its diagnostics, the
side-table entries of its nodes, its calls, its reason to be impure, its
compile-time values and data calls, the top-level `var`s it read).  The next
check runs the whole checker as usual (declarations, configuration,
devices, `main`, stages) except for the bodies it can replay.

A body's check depends only on its own tree and on what the program
declares: the declarations other than functions, every function's header
(name, parameters, result, doc comment), the files it uses, the prelude and
the target (:func:`_environment`, which holds their texts, not their
places); when that changed, every body is checked.  Otherwise a record is
replayed when the body is the very same tree (the incremental parser reuses
a piece's tree only for the same text at the same place) and every span of
this file that the record holds outside the body (the declarations its
notes, symbols and types point to) lies in a declaration, or a function
header, that is still the same text at the same place
(:class:`_Stable`).  An edit that moves the declarations below it so
checks again the bodies below it, and those that refer to what moved.  Records are replayed in the
order the checker meets the functions, so the diagnostics, the side tables
and the purity facts come out in the order a full check gives.

If the checker ever writes a body's side-table entries somewhere this
module does not see (it swaps in fresh tables while a body is checked and
expects the real ones untouched), records are no longer kept: the check is
then always a full one, never a wrong one.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from specc import ast
from specc.check.checker import ProgramChecker
from specc.check.program import CheckedProgram, Symbol
from specc.diagnostics import Diagnostic, DiagnosticSink
from specc.span import Span
from specc.types import EnumT, FnT, ListT, OptionT, StructT, Type


@dataclass
class _Record:
    """What checking one function body did."""

    diagnostics: list[Diagnostic]
    types: dict[object, Type]
    references: dict[object, Symbol]
    let_values: dict[Span, ast.Expr]
    calls: set[str] | None
    impure: str | None
    compile_time_values: list[ast.Expr]
    data_calls: list[ast.Call]
    vars_read: list[str]
    current_span: Span | None
    # (start, end) of every span in the application file outside the body.
    outside: frozenset[tuple[int, int]]


@dataclass
class CheckStats:
    """What the last check did with the bodies (for tests and timings)."""

    replayed: int = 0
    checked: int = 0


class IncrementalCheck:
    """The function-body records of one document's last check."""

    def __init__(self) -> None:
        self._records: dict[ast.FnDecl, _Record] = {}
        self._environment: tuple[Hashable, ...] | None = None
        # The application file's declarations and text when the records were made.
        self._decls: tuple[ast.Decl, ...] = ()
        self._text = ""
        self._disabled = False
        self.stats = CheckStats()

    def checker(self, program: CheckedProgram, sink: DiagnosticSink) -> ProgramChecker:
        """A checker for ``program`` that replays what it can (for
        :func:`specc.api.check_source`'s ``checker``)."""
        return _ReplayingChecker(program, sink, self)


class _ReplayingChecker(ProgramChecker):
    def __init__(self, program: CheckedProgram, sink: DiagnosticSink,
                 state: IncrementalCheck) -> None:
        super().__init__(program, sink)
        self.state = state
        self.text = _text(program)
        self.environment = _environment(program, self.text)
        same = state._environment is not None and state._environment == self.environment
        self.reusable = state._records if same and not state._disabled else {}
        self.stable = _Stable(state._decls, state._text, program.root.decls, self.text) \
            if self.reusable else None
        self.records: dict[ast.FnDecl, _Record] = {}
        state.stats = CheckStats()

    def run(self) -> None:
        state = self.state
        # Until this check ends well, the next one replays nothing.
        state._records, state._environment = {}, None
        super().run()
        if not state._disabled:
            state._records, state._environment = self.records, self.environment
            state._decls, state._text = self.program.root.decls, self.text

    def function(self, decl: ast.FnDecl) -> None:
        record = self.reusable.get(decl)
        if record is not None and self.stable is not None \
                and not all(self.stable.holds(start, end) for start, end in record.outside):
            record = None
        if record is None:
            record = self._checked(decl)
            self.state.stats.checked += 1
        else:
            self._replay(decl, record)
            self.state.stats.replayed += 1
        self.records[decl] = record

    def _checked(self, decl: ast.FnDecl) -> _Record:
        p = self.program
        types, references, let_values = p.types, p.references, p.let_values
        sizes = len(types), len(references), len(let_values)
        first_diagnostic = len(self.sink.items)
        first_value, first_data = len(self.compile_time_values), len(p.data_calls)
        read_before = {name for name, var in p.vars.items() if var.used}
        p.types, p.references, p.let_values = {}, {}, {}
        try:
            super().function(decl)
        finally:
            record = _Record(
                self.sink.items[first_diagnostic:], p.types, p.references, p.let_values,
                set(self.calls[decl.name]) if decl.name in self.calls else None,
                self.impure.get(decl.name), self.compile_time_values[first_value:],
                p.data_calls[first_data:],
                [name for name, var in p.vars.items() if var.used and name not in read_before],
                self.current_span, frozenset())
            record.outside = frozenset((sp.start, sp.end) for sp in _spans(record)
                                       if sp.file == p.root.path
                                       and not decl.span.start <= sp.start <= sp.end
                                       <= decl.span.end)
            if (len(types), len(references), len(let_values)) != sizes:
                self.state._disabled = True  # written past the swapped tables: see above
            types.update(record.types)
            references.update(record.references)
            let_values.update(record.let_values)
            p.types, p.references, p.let_values = types, references, let_values
        return record

    def _replay(self, decl: ast.FnDecl, record: _Record) -> None:
        p = self.program
        self.sink.items.extend(record.diagnostics)
        p.types.update(record.types)
        p.references.update(record.references)
        p.let_values.update(record.let_values)
        if record.calls is not None:
            self.calls[decl.name] = set(record.calls)
        if record.impure is not None:
            self.impure[decl.name] = record.impure
        self.compile_time_values.extend(record.compile_time_values)
        p.data_calls.extend(record.data_calls)
        for name in record.vars_read:
            p.vars[name].used = True
        self.current_span = record.current_span


def _text(program: CheckedProgram) -> str:
    source = program.sources.get(program.root.path)
    return source.text if source is not None else ""


def _environment(program: CheckedProgram, text: str) -> tuple[Hashable, ...]:
    """What a function body's check may read besides its own tree (as text:
    where it is, is the business of :class:`_Stable`)."""
    root = program.root
    parts: list[Hashable] = [program.target, program.prelude, root.broken_names]
    parts.extend((path, source.text) for path, source in sorted(program.sources.items())
                 if path != root.path)
    for decl in root.decls:
        # No body can refer to `unikernel`, `main` or a `use` (the used files'
        # texts are above).
        if not isinstance(decl, ast.Unikernel | ast.MainDecl | ast.Use):
            parts.append((type(decl).__name__, _header(decl, text), getattr(decl, "doc", None)))
    return tuple(parts)


def _header(decl: ast.Decl, text: str) -> str:
    """A function's text up to its body; any other declaration's whole text."""
    end = decl.body.span.start if isinstance(decl, ast.FnDecl) else decl.span.end
    return text[decl.span.start:end]


class _Stable:
    """The parts of the application file that are the same text at the same
    place in two checks: declarations that are the same tree, and the
    headers of functions that kept their header text and place."""

    def __init__(self, old: tuple[ast.Decl, ...], old_text: str,
                 new: tuple[ast.Decl, ...], new_text: str) -> None:
        kept = set(new)  # nodes hash by identity
        new_functions = {d.span.start: d for d in new if isinstance(d, ast.FnDecl)}
        self.starts: list[int] = []
        self.ends: list[int] = []
        for decl in old:
            end = -1
            if decl in kept:
                end = decl.span.end
            elif isinstance(decl, ast.FnDecl):
                now = new_functions.get(decl.span.start)
                if now is not None and now.span.line == decl.span.line \
                        and now.doc == decl.doc \
                        and _header(now, new_text) == _header(decl, old_text):
                    end = decl.body.span.start
            if end >= 0:
                self.starts.append(decl.span.start)
                self.ends.append(end)

    def holds(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and end <= self.ends[i]


def _spans(record: _Record) -> Iterator[Span]:
    """Every span a record holds that may point outside its body: in its
    diagnostics, its symbols and the types it gives (struct and enum types
    carry where they are declared)."""
    for d in record.diagnostics:
        yield d.span
        yield from (n.span for n in d.notes if n.span is not None)
        if d.fix is not None:
            yield d.fix[0]
    seen: set[int] = set()
    for symbol in record.references.values():
        if symbol.span is not None:
            yield symbol.span
        if symbol.type is not None:
            yield from _type_spans(symbol.type, seen)
    for t in record.types.values():
        yield from _type_spans(t, seen)


def _type_spans(t: Type, seen: set[int]) -> Iterator[Span]:
    if id(t) in seen:
        return
    seen.add(id(t))
    if isinstance(t, EnumT | StructT):
        if t.span is not None:
            yield t.span
    elif isinstance(t, OptionT):
        yield from _type_spans(t.inner, seen)
    elif isinstance(t, ListT):
        yield from _type_spans(t.element, seen)
    elif isinstance(t, FnT):
        for param in t.params:
            yield from _type_spans(param, seen)
        if t.result is not None:
            yield from _type_spans(t.result, seen)
