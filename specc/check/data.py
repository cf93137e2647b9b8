"""Compile-time data at check time: the files ``zonefile("...")`` and
``dir("...")`` name, read by ``specc check`` and the language server.

Only calls whose path is a plain string literal are read here (the usual
case); a path computed from configuration is read by the config pass of
``specc compile``, as before.  The problems are those of
:mod:`specc.evaluate.data` (E0501, E0502), at the call or at the zone
file's line with the call as a note.

A :class:`DataCache` (the language server keeps one) remembers each file's
outcome until the file changes on disk: its modification time, size or
inode, or for a directory those of every file in it.  The outcome is kept
against a placeholder call span and moved to the real one on use, so
editing the spec does not read the zone again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from specc import ast
from specc.check.program import CheckedProgram
from specc.diagnostics import Diagnostic, DiagnosticSink, Note
from specc.evaluate.data import DataLog, read_directory, read_zone, resolve
from specc.evaluate.errors import NotConstant
from specc.records import Record
from specc.span import SourceFile, Span


def _placeholder(call: Span) -> Span:
    """Stands for the call while reading: in its file (paths resolve against
    it), at an offset no real span has."""
    return Span(call.file, 0, 0, 0, 0, -1, -1)


def _is_placeholder(span: Span) -> bool:
    return span.start == -1

Stamp = tuple[tuple[str, int, int, int], ...]


@dataclass(repr=False)
class _Outcome(Record):
    """What reading a spec's data files gave, and the stamp of the files read."""

    stamp: Stamp
    diagnostics: list[Diagnostic]
    sources: dict[str, SourceFile]


@dataclass(repr=False)
class DataCache(Record):
    """Outcomes of reading compile-time files, by (kind, resolved path)."""

    entries: dict[tuple[str, str, str], _Outcome] = field(default_factory=dict)

    def forget(self, paths: set[str] | None = None) -> None:
        """Forget what was read from ``paths`` (everything when None)."""
        if paths is None:
            self.entries.clear()
            return
        wanted = {os.path.normpath(os.path.abspath(p)) for p in paths}
        for key in list(self.entries):
            full = os.path.normpath(os.path.abspath(key[1]))
            if full in wanted or any(p.startswith(full + os.sep) for p in wanted):
                del self.entries[key]


def literal_path(call: ast.Call) -> str | None:
    """The path of ``zonefile("...")`` when it is a string without interpolation."""
    if len(call.args) != 1 or call.args[0].name not in (None, "path"):
        return None
    value = call.args[0].value
    if not isinstance(value, ast.StringLit) or not all(isinstance(p, str) for p in value.parts):
        return None
    return "".join(p for p in value.parts if isinstance(p, str))


def data_files(program: CheckedProgram) -> list[tuple[str, str, ast.Call]]:
    """(kind, path, call) of each data call with a literal path, in source order."""
    found = []
    for call in program.data_calls:
        path = literal_path(call)
        if path is not None and isinstance(call.callee, ast.Name):
            found.append((call.callee.name, path, call))
    return sorted(found, key=lambda f: (f[2].span.file, f[2].span.start))


def read_data(program: CheckedProgram, sink: DiagnosticSink,
              cache: DataCache | None = None) -> dict[str, SourceFile]:
    """Read every literal zone file and directory; report their problems in
    ``sink``; return the zone files' texts (for rendering carets)."""
    sources: dict[str, SourceFile] = {}
    done: set[tuple[str, str]] = set()
    for kind, path, call in data_files(program):
        full = resolve(path, call.span)
        if (kind, full) in done:
            continue  # one report per file
        done.add((kind, full))
        outcome = _read(kind, path, full, call.span, cache)
        sources.update(outcome.sources)
        sink.extend(_moved(d, call.span) for d in outcome.diagnostics)
    return sources


def _read(kind: str, path: str, full: str, call: Span, cache: DataCache | None) -> _Outcome:
    stamp = _stamp(full, kind)
    key = (kind, full, path)
    if cache is not None and key in cache.entries and cache.entries[key].stamp == stamp:
        return cache.entries[key]
    local = DiagnosticSink()
    log = DataLog()
    try:
        if kind == "zonefile":
            read_zone(path, _placeholder(call), local, log)
        else:
            read_directory(path, _placeholder(call), local, log)
    except NotConstant:
        pass  # reported in `local`
    outcome = _Outcome(stamp, list(local.items), dict(log.sources))
    if cache is not None:
        cache.entries[key] = outcome
    return outcome


def _moved(d: Diagnostic, call: Span) -> Diagnostic:
    def at(span: Span) -> Span:
        return call if _is_placeholder(span) else span

    notes = tuple(Note(n.message, at(n.span)) if n.span is not None else n for n in d.notes)
    return replace(d, span=at(d.span), notes=notes)


def _stamp(full: str, kind: str) -> Stamp:
    """What changes when the file (or a file in the directory) changes."""
    def one(path: str) -> tuple[str, int, int, int]:
        try:
            info = os.stat(path)
        except (OSError, ValueError):  # ValueError: a NUL in the path
            return (path, -1, -1, -1)
        return (path, info.st_mtime_ns, info.st_size, info.st_ino)

    if kind == "zonefile" or not os.path.isdir(full):
        return (one(full),)
    stamps = [one(full)]
    for root, dirs, names in os.walk(full):
        dirs.sort()
        stamps += [one(os.path.join(root, name)) for name in sorted(names)]
        if len(stamps) > 20_000:
            break
    return tuple(stamps)
