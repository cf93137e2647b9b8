"""Reading compile-time data: `zonefile(path)` and `dir(path)`.

Paths in a spec are relative to the file that names them.  A bad zone file
is a compile error pointing at the zone file's line.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

import dns.exception
import dns.zone

from specc.diagnostics import DiagnosticSink, Note
from specc.evaluate.errors import NotConstant
from specc.span import SourceFile, Span
from specc.values import FilesV, ZoneV

MAX_FILES_BYTES = 64 << 20  # a baked-in directory larger than this is surely a mistake


@dataclass
class DataLog:
    """Every file compile-time data was read from, with its hash (for the
    manifest's inputs)."""

    files: dict[str, str] = field(default_factory=dict)  # path -> sha256

    def note(self, path: str, data: bytes) -> None:
        self.files[path] = hashlib.sha256(data).hexdigest()


def resolve(path: str, span: Span) -> str:
    if os.path.isabs(path) or span.file.startswith("<"):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(os.path.dirname(span.file), path))


def read_zone(path: str, span: Span, sink: DiagnosticSink, log: DataLog | None = None) -> ZoneV:
    full = resolve(path, span)
    try:
        with open(full, "rb") as handle:
            data = handle.read()
        if log is not None:
            log.note(path, data)  # as the spec names it: the same from any directory
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        sink.add("E0501", span, f"cannot read zone file `{path}` ({full}): {reason}")
        raise NotConstant("the zone file could not be read", span) from None
    try:
        zone = dns.zone.from_text(text, origin=None, relativize=False, filename=full)
    except dns.exception.SyntaxError as error:
        message = str(error)
        match = re.match(rf"{re.escape(full)}:(\d+): (.*)", message)
        source = SourceFile(full, text)
        if match:
            line = _error_line(text, full, int(match.group(1)), match.group(2))
            start = source.offset(line, 1)
            where = source.span(start, start + len(source.line_text(line)))
            message = match.group(2)
        else:
            where = source.span(0, 0)
        sink.add("E0501", where, f"zone file `{path}`: {message}",
                 notes=[Note("the zone is read here", span)])
        raise NotConstant("the zone file does not parse", span) from None
    except (dns.exception.DNSException, ValueError) as error:
        sink.add("E0501", span, f"zone file `{path}`: {error}",
                 hint="a zone file needs an $ORIGIN (or an absolute owner name), an SOA and NS "
                 "records at the apex")
        raise NotConstant("the zone file is not a valid zone", span) from None
    records = sum(len(rdataset) for node in zone.nodes.values() for rdataset in node.rdatasets)
    origin = zone.origin.to_text() if zone.origin is not None else "."
    return ZoneV(path, origin, records, hashlib.sha256(data).hexdigest(), zone)


def _error_line(text: str, full: str, line: int, message: str) -> int:
    """The line a zone syntax error is on.  dnspython counts the end of the
    line before it rejects a record's data, so its number can be one past
    the record: when the text before that line already fails the same way,
    the record is the line before."""
    lines = text.split("\n")
    while line > 1:
        try:
            dns.zone.from_text("\n".join(lines[:line - 1]) + "\n", origin=None,
                               relativize=False, filename=full)
        except dns.exception.SyntaxError as error:
            if str(error).endswith(message):
                line -= 1
                continue
        except (dns.exception.DNSException, ValueError):
            pass  # fails only for lack of what follows (the SOA, say): not this error
        break
    return line


def read_directory(path: str, span: Span, sink: DiagnosticSink,
                   log: DataLog | None = None) -> FilesV:
    full = resolve(path, span)
    if not os.path.isdir(full):
        sink.add("E0502", span, f"`{path}` ({full}) is not a directory")
        raise NotConstant("the directory could not be read", span)
    files: list[tuple[str, bytes]] = []
    total = 0
    for root, dirs, names in os.walk(full):
        dirs.sort()
        for name in sorted(names):
            file_path = os.path.join(root, name)
            if os.path.islink(file_path) or not os.path.isfile(file_path):
                continue
            try:
                with open(file_path, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                sink.add("E0502", span, f"cannot read `{file_path}`: {error.strerror}")
                raise NotConstant("the directory could not be read", span) from None
            if log is not None:
                relative = os.path.relpath(file_path, full).replace(os.sep, "/")
                log.note(f"{path.rstrip('/')}/{relative}", data)
            total += len(data)
            if total > MAX_FILES_BYTES:
                sink.add("E0502", span, f"`{path}` holds more than {MAX_FILES_BYTES >> 20} MiB; "
                         "an image bakes every file in")
                raise NotConstant("the directory is too large", span)
            files.append((os.path.relpath(file_path, full).replace(os.sep, "/"), data))
    return FilesV(path, tuple(files))
