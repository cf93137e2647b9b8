"""Reading compile-time data: `zonefile(path)` and `dir(path)`.

Paths in a spec are relative to the file that names them.  A bad zone file
is a compile error pointing at the zone file's line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from specc import inputs
from specc.diagnostics import DiagnosticSink, Note
from specc.evaluate.errors import NotConstant
from specc.records import Record
from specc.span import SourceFile, Span
from specc.values import FilesV, ZoneV

if TYPE_CHECKING:
    from specc.evaluate import zone_errors

MAX_FILES_BYTES = 64 << 20  # a baked-in directory larger than this is surely a mistake
MAX_FILES = 10_000  # and so is one of more files than this (`dir("/")`)


@dataclass(repr=False)
class DataLog(Record):
    """Every file compile-time data was read from, with its hash, and every
    directory a `dir(...)` walked (the manifest's inputs and the depfile)."""

    files: dict[str, str] = field(default_factory=dict)  # path as opened -> sha256
    directories: list[str] = field(default_factory=list)  # as opened
    # The text of each zone file read, by the path its diagnostics' spans use.
    sources: dict[str, SourceFile] = field(default_factory=dict)

    def note(self, path: str, data: bytes) -> None:
        import hashlib  # here: most specs read no data, and it loads OpenSSL

        self.files[path] = hashlib.sha256(data).hexdigest()

    def walked(self, directory: str) -> None:
        if directory not in self.directories:
            self.directories.append(directory)


def resolve(path: str, span: Span) -> str:
    if os.path.isabs(path) or span.file.startswith("<"):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(os.path.dirname(span.file), path))


def _resolved(path: str, full: str) -> str:
    """`` (the path it resolves to)`` when that says more than ``path``."""
    return "" if os.path.normpath(path) == full else f" ({full})"


def read_zone(path: str, span: Span, sink: DiagnosticSink, log: DataLog | None = None) -> ZoneV:
    """The zone at ``path`` (relative to the spec naming it at ``span``).

    Problems are E0501: one the zone file cannot be read at the call (a
    missing file, a FIFO, a device, too large); one in the zone's text at its
    line in the zone file, with the call as a note (``log.sources`` then holds
    the zone's text, for the caret)."""
    full = resolve(path, span)
    try:
        data = inputs.read_bytes(full, inputs.ZONE_LIMIT)
        if log is not None:
            log.note(full, data)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        sink.add("E0501", span, f"cannot read zone file `{path}`{_resolved(path, full)}: {reason}")
        raise NotConstant("the zone file could not be read", span) from None
    source = SourceFile(full, text)
    if log is not None:
        log.sources[full] = source
    # dnspython only when a spec reads a zone: importing it is a third of
    # `specc check`'s start-up (bench/frontend.py).
    import dns.exception
    import dns.zone

    from specc.evaluate import zone_errors

    try:
        zone = dns.zone.from_text(text, origin=None, relativize=False, filename=full)
    except dns.exception.SyntaxError as error:
        message = str(error)
        match = re.match(rf"{re.escape(full)}:(\d+): (.*)", message, re.S)
        if match:
            line = zone_errors.error_line(text, full, int(match.group(1)), match.group(2))
            problem = zone_errors.syntax_problem(text.split("\n"), line, match.group(2))
        else:
            problem = zone_errors.ZoneProblem(message)
        _report(sink, source, path, span, problem)
        raise NotConstant("the zone file does not parse", span) from None
    except Exception as error:  # dnspython's zone checks (and any surprise of its): the input's fault
        _report(sink, source, path, span, zone_errors.zone_problem(text, full, error))
        raise NotConstant("the zone file is not a valid zone", span) from None
    records = sum(len(rdataset) for node in zone.nodes.values() for rdataset in node.rdatasets)
    origin = zone.origin.to_text() if zone.origin is not None else "."
    import hashlib

    return ZoneV(path, origin, records, hashlib.sha256(data).hexdigest(), zone)


def _report(sink: DiagnosticSink, source: SourceFile, path: str, call: Span,
            problem: zone_errors.ZoneProblem) -> None:
    """A zone problem at its line of the zone file (at the call when it is
    about the whole zone), with the call as a note."""
    if problem.line is None:
        sink.add("E0501", call, f"zone file `{path}`: {problem.message}", hint=problem.hint)
        return
    line = min(max(problem.line, 1), source.line_count)
    start = source.offset(line, 1)
    text = source.line_text(line)
    first, last = problem.columns or (0, len(text))
    first = min(first, len(text))
    last = max(min(last, len(text)), first)  # empty: a point after the line's last token
    where = source.span(start + first, start + last)
    notes = []
    if problem.other_line is not None:
        other = min(max(problem.other_line, 1), source.line_count)
        other_start = source.offset(other, 1)
        notes.append(Note("the record it clashes with",
                          source.span(other_start, other_start + len(source.line_text(other)))))
    notes.append(Note("the zone is read here", call))
    sink.add("E0501", where, f"zone file `{path}`: {problem.message}", notes=notes,
             hint=problem.hint)


def read_directory(path: str, span: Span, sink: DiagnosticSink,
                   log: DataLog | None = None) -> FilesV:
    full = resolve(path, span)
    if not os.path.isdir(full):
        sink.add("E0502", span, f"`{path}`{_resolved(path, full)} is not a directory")
        raise NotConstant("the directory could not be read", span)
    files: list[tuple[str, bytes]] = []
    total = 0
    for root, dirs, names in os.walk(full):
        dirs.sort()
        if log is not None:
            log.walked(root)  # a file added here must rebuild the image
        for name in sorted(names):
            file_path = os.path.join(root, name)
            if os.path.islink(file_path) or not os.path.isfile(file_path):
                continue
            if len(files) == MAX_FILES:
                sink.add("E0502", span, f"`{path}` holds more than {MAX_FILES} files; an image "
                         "bakes every file in")
                raise NotConstant("the directory is too large", span)
            try:
                data = inputs.read_bytes(file_path, MAX_FILES_BYTES - total)
            except inputs.InputError as error:
                if error.too_large:
                    sink.add("E0502", span, f"`{path}` holds more than {MAX_FILES_BYTES >> 20} MiB; "
                             "an image bakes every file in")
                    raise NotConstant("the directory is too large", span) from None
                sink.add("E0502", span, f"cannot read `{file_path}`: {error.reason}")
                raise NotConstant("the directory could not be read", span) from None
            if log is not None:
                log.note(file_path, data)
            total += len(data)
            if total > MAX_FILES_BYTES:
                sink.add("E0502", span, f"`{path}` holds more than {MAX_FILES_BYTES >> 20} MiB; "
                         "an image bakes every file in")
                raise NotConstant("the directory is too large", span)
            files.append((os.path.relpath(file_path, full).replace(os.sep, "/"), data))
    return FilesV(path, tuple(files))
