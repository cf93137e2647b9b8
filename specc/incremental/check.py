"""Checking a document again without checking every function body again.

:class:`IncrementalCheck` keeps, for one document, what checking each
function body did in the last check (:class:`_Record`: its diagnostics, the
side-table entries of its nodes, its calls, its reason to be impure, its
compile-time values and data calls, the top-level `var`s it read).  The next
check runs the whole checker as usual (declarations, configuration,
devices, `main`, stages) except for the bodies it can replay.

A body's check depends only on its own tree and on what the program
declares: the declarations other than functions, every function's header
(name, parameters, result, doc comment, and where they are: notes and
symbols carry their spans), the files it uses, the prelude and the target.
So a record is replayed only when the body is the very same tree (the
incremental parser reuses a piece's tree only for the same text at the same
place) and that environment (:func:`_environment`) is equal to the last
check's; otherwise every body is checked.  Records are replayed in the
order the checker meets the functions, so the diagnostics, the side tables
and the purity facts come out in the order a full check gives.

If the checker ever writes a body's side-table entries somewhere this
module does not see (it swaps in fresh tables while a body is checked and
expects the real ones untouched), records are no longer kept: the check is
then always a full one, never a wrong one.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from specc import ast
from specc.check.checker import ProgramChecker
from specc.check.program import CheckedProgram, Symbol
from specc.diagnostics import Diagnostic, DiagnosticSink
from specc.span import Span
from specc.types import Type


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
        self.environment = _environment(program)
        same = state._environment is not None and state._environment == self.environment
        self.reusable = state._records if same and not state._disabled else {}
        self.records: dict[ast.FnDecl, _Record] = {}
        state.stats = CheckStats()

    def run(self) -> None:
        state = self.state
        # Until this check ends well, the next one replays nothing.
        state._records, state._environment = {}, None
        super().run()
        if not state._disabled:
            state._records, state._environment = self.records, self.environment

    def function(self, decl: ast.FnDecl) -> None:
        record = self.reusable.get(decl)
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
                self.current_span)
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


def _environment(program: CheckedProgram) -> tuple[Hashable, ...]:
    """What a function body's check may read besides its own tree."""
    root = program.root
    text = program.sources[root.path].text if root.path in program.sources else ""
    parts: list[Hashable] = [program.target, program.prelude, root.broken_names]
    parts.extend((path, source.text) for path, source in sorted(program.sources.items())
                 if path != root.path)
    for decl in root.decls:
        if isinstance(decl, ast.FnDecl):
            header = text[decl.span.start:decl.body.span.start]
            parts.append((decl.span.start, decl.span.line, header, decl.doc))
        elif not isinstance(decl, ast.Unikernel | ast.MainDecl | ast.Use):
            # The same node is the same text at the same place (nodes compare
            # by identity); no body can refer to `unikernel`, `main` or a
            # `use` (the used files' texts are above).
            parts.append(decl)
    return tuple(parts)
