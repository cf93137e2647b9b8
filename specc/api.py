"""Library entry points (TEMPORARY placeholder).

This stub only fixes the contract the CLI is written against; the real
module runs the front end (parse, resolve, typecheck, stages).  It reads the
file and reports an unreadable one, and otherwise finds nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from specc.diagnostics import Diagnostic, DiagnosticSink
from specc.span import SourceFile, Span


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Every file read, keyed by the path its spans use.
    sources: dict[str, SourceFile] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def check_source(text: str, path: str = "<string>", *, target: str = "hvt") -> CheckResult:
    del target  # the placeholder checks nothing target-specific
    return CheckResult(sources={path: SourceFile(path, text)})


def check_file(path: str, *, target: str = "hvt") -> CheckResult:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        sink = DiagnosticSink()
        sink.add("E0104", Span(path, 1, 1, 1, 1, 0, 0), f"cannot read `{path}`: {exc}")
        return CheckResult(diagnostics=sink.sorted())
    return check_source(text, path, target=target)
