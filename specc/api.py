"""The library entry points: check a file or a text, get data back.

Nothing here prints, exits or keeps state between calls.  Problems in the
input are diagnostics in the result; a bug in specc itself becomes one
internal-error diagnostic (code E9001) at the span being checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from specc import collector, inputs
from specc.check.checker import ProgramChecker
from specc.check.data import DataCache, read_data
from specc.check.loader import Parser, load_files, load_prelude
from specc.check.program import CheckedProgram
from specc.diagnostics import Diagnostic, DiagnosticSink, Note
from specc.records import Record
from specc.span import SourceFile, Span
from specc.stack import with_headroom

TARGETS = ("hvt", "unix", "python")


@dataclass(repr=False)
class CheckResult(Record):
    """What checking a spec gives: its diagnostics, the sources read, the program."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Every file read, keyed by the path its spans use.
    sources: dict[str, SourceFile] = field(default_factory=dict)
    # The checked program; None only when specc itself failed.
    program: CheckedProgram | None = None

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def internal_error(self) -> bool:
        return any(d.code == "E9001" for d in self.diagnostics)


def read_text(path: str) -> str:
    """A spec or used file, with its line ends made ``\n`` (as text mode would);
    only regular files, of a bounded size (:mod:`specc.inputs`)."""
    text = inputs.read_text(path, inputs.SPEC_LIMIT)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@with_headroom  # the checker walks expressions recursively (specc/stack.py)
def check_source(
    text: str,
    path: str = "<string>",
    *,
    target: str = "hvt",
    overlays: Mapping[str, str] | None = None,
    data_cache: DataCache | None = None,
    parse: Parser | None = None,
    make_checker: Callable[[CheckedProgram, DiagnosticSink], ProgramChecker] | None = None,
) -> CheckResult:
    """Check ``text`` as the application file at ``path``.

    ``overlays`` maps paths of used files to texts that replace what is on disk
    (an editor's unsaved buffers).  The zone files and directories the spec
    names by a literal path are read too (:mod:`specc.check.data`);
    ``data_cache`` keeps what was read until those files change.  ``parse``
    parses ``text`` in place of :func:`specc.syntax.parser.parse_module` (the
    language server's :class:`specc.incremental.parse.IncrementalParser`,
    which gives the same module faster after a small edit); ``make_checker`` makes
    the checker (the language server's
    :meth:`specc.incremental.check.IncrementalCheck.checker`, which gives the
    same diagnostics without checking again the bodies an edit left alone).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; the targets are {', '.join(TARGETS)}")
    sink = DiagnosticSink()
    source = SourceFile(path, text)
    reader = _reader(overlays or {})
    sources: dict[str, SourceFile] = {path: source}
    checker: ProgramChecker | None = None
    data_sources: dict[str, SourceFile] = {}
    collector.pause()  # the AST and tables form no cycles (specc/collector.py)
    try:
        prelude, prelude_source = load_prelude(sink)
        loaded = load_files(source, reader, sink) if parse is None else \
            load_files(source, reader, sink, parse)
        sources.update(loaded.sources)
        sources[prelude_source.path] = prelude_source
        program = CheckedProgram(loaded.root, loaded.used, prelude, sources, target)
        checker = ProgramChecker(program, sink) if make_checker is None else \
            make_checker(program, sink)
        checker.run()
        # The zone files' texts, for carets; not the program's own sources
        # (the manifest lists those as the spec's inputs).
        data_sources = read_data(program, sink, data_cache)
    except RecursionError:
        span = checker.current_span if checker is not None and checker.current_span else \
            source.span(0, 0)
        sink.add("E0008", span, "this is nested too deeply for specc to check",
                 hint="split the expression into smaller ones with `let`")
        return CheckResult(_dedupe(sink.sorted()), sources, None)
    except Exception as error:  # a bug in specc: report it, never a traceback
        span = checker.current_span if checker is not None and checker.current_span else \
            source.span(0, 0)
        sink.add("E9001", span, f"internal compiler error: {type(error).__name__}: {error}; "
                 "please report this bug", notes=[Note(_last_frame(error))])
        return CheckResult(_dedupe(sink.sorted()), sources, None)
    finally:
        collector.resume()
    return CheckResult(_dedupe(sink.sorted()), {**sources, **data_sources}, program)


def check_file(path: str | os.PathLike[str], *, target: str = "hvt",
               overlays: Mapping[str, str] | None = None) -> CheckResult:
    """Check the application file at ``path`` (and the files it uses)."""
    path = os.fspath(path)
    try:
        text = (overlays or {}).get(path)
        if text is None:
            text = read_text(path)
    except (OSError, UnicodeDecodeError) as error:
        sink = DiagnosticSink()
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        sink.add("E0104", Span(path, 1, 1, 1, 1, 0, 0), f"cannot read `{path}`: {reason}")
        return CheckResult(sink.sorted())
    return check_source(text, path, target=target, overlays=overlays)


def _reader(overlays: Mapping[str, str]) -> Callable[[str], str]:
    def read(path: str) -> str:
        if path in overlays:
            return overlays[path]
        return read_text(path)

    return read


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Drop exact repeats (the same code, span and message)."""
    seen: set[tuple[str, Span, str]] = set()
    unique = []
    for d in diagnostics:
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def _last_frame(error: BaseException) -> str:
    import traceback  # only for a bug report: not worth importing with every check

    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "no traceback"
    last = frames[-1]
    return f"raised at {last.filename}:{last.lineno} in {last.name}"
