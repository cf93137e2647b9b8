"""Diagnostics as data: collected while compiling, rendered at the edge.

Nothing in the compiler raises an exception at the user for a problem in
their input; it adds a :class:`Diagnostic` to a :class:`DiagnosticSink` and
carries on, so one run reports every independent problem.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from specc.codes import CODES
from specc.records import Record, assigned_at_run_time
from specc.span import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@assigned_at_run_time  # the checker makes one for every call it checks
@dataclass(frozen=True, slots=True, repr=False)
class Note(Record):
    """A secondary location that explains the primary one ("declared here")."""

    message: str
    span: Span | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Diagnostic(Record):
    """A problem found in the input (or in specc), at a span of it."""

    code: str
    severity: Severity
    message: str
    span: Span
    notes: tuple[Note, ...] = ()
    hint: str | None = None
    # A machine-applicable fix for the hint: replace `span` with `replacement`.
    fix: tuple[Span, str] | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.start, self.span.end, self.code)


@dataclass(repr=False)
class DiagnosticSink(Record):
    """Collects diagnostics; passes add to it and never raise for user errors."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(
        self,
        code: str,
        span: Span,
        message: str,
        *,
        notes: Iterable[Note] = (),
        hint: str | None = None,
        fix: tuple[Span, str] | None = None,
        severity: Severity | None = None,
    ) -> Diagnostic:
        entry = CODES[code]
        diagnostic = Diagnostic(
            code=code,
            severity=severity or entry.severity,
            message=message,
            span=span,
            notes=tuple(notes),
            hint=hint,
            fix=fix,
        )
        self.items.append(diagnostic)
        return diagnostic

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=Diagnostic.sort_key)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def internal_error(exc: BaseException, path: str) -> Diagnostic:
    """An E9001 diagnostic for an exception that escaped the compiler.

    The location is the exception's own ``span`` attribute when a pass
    attached one, else the start of the file being compiled, so the user
    at least knows which input to attach to the bug report.
    """
    import traceback

    span = getattr(exc, "span", None)
    if not isinstance(span, Span):
        span = Span(path, 1, 1, 1, 1, 0, 0)
    notes: tuple[Note, ...] = ()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        code = f": {last.line.strip()}" if last.line else ""
        notes = (Note(f"raised at {last.filename}:{last.lineno} in {last.name}(){code}"),)
    return Diagnostic("E9001", Severity.ERROR, ice_message(exc), span, notes)


def ice_message(exc: BaseException) -> str:
    return f"internal compiler error: {type(exc).__name__}: {exc}; please report this bug"
