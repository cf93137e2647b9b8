"""Pure conversions between specc's data and the LSP's.

specc counts lines and columns from 1, in code points (Python string
indices).  The LSP counts from 0, and its columns are in the code units of
the negotiated position encoding: UTF-16 unless client and server agreed on
something else, so a character outside the Basic Multilingual Plane (an
emoji in a string) is two columns wide.  Everything here is a function of
its arguments: no server, no state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from lsprotocol import types as lsp

from specc.diagnostics import Diagnostic, Severity
from specc.span import SourceFile, Span

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"

# Warnings about things that could be deleted: editors grey them out.
_UNNECESSARY = frozenset({"W0002", "W0003"})

_SEVERITIES = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.NOTE: lsp.DiagnosticSeverity.Information,
}


# ---------------------------------------------------------------------------
# columns: code points <-> code units


def code_units(text: str, encoding: str = UTF16) -> int:
    """The length of ``text`` in the code units of ``encoding``."""
    if encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    # UTF-16: one unit per character, two for those outside the BMP.
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def units_to_chars(line: str, units: int, encoding: str = UTF16) -> int:
    """How many characters of ``line`` the first ``units`` code units cover.

    A position inside a character (the second half of a surrogate pair) or
    past the end of the line is clamped, as the LSP asks.
    """
    if units <= 0:
        return 0
    if encoding == UTF32:
        return min(units, len(line))
    count = 0
    for index, ch in enumerate(line):
        width = _width(ch, encoding)
        if count + width > units:
            return index
        count += width
    return len(line)


def _width(ch: str, encoding: str) -> int:
    code = ord(ch)
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 2 if code > 0xFFFF else 1


# ---------------------------------------------------------------------------
# positions and ranges


def offset_to_position(source: SourceFile, offset: int, encoding: str = UTF16) -> lsp.Position:
    line, column = source.position(offset)
    prefix = source.line_text(line)[: column - 1]
    return lsp.Position(line=line - 1, character=code_units(prefix, encoding))


def position_to_offset(source: SourceFile, position: lsp.Position,
                       encoding: str = UTF16) -> int:
    """The character offset of an LSP position, clamped to the text."""
    line = position.line + 1
    if line > source.line_count:
        return len(source.text)
    chars = units_to_chars(source.line_text(line), position.character, encoding)
    return source.offset(line, chars + 1)


def span_to_range(span: Span, source: SourceFile | None, encoding: str = UTF16) -> lsp.Range:
    """The LSP range of a span.  Without the source text (a file specc did not
    read) columns are taken as they are, which is exact for ASCII."""
    if source is None:
        return lsp.Range(
            start=lsp.Position(line=max(span.line - 1, 0), character=max(span.column - 1, 0)),
            end=lsp.Position(line=max(span.end_line - 1, 0), character=max(span.end_column - 1, 0)),
        )
    return lsp.Range(start=offset_to_position(source, span.start, encoding),
                     end=offset_to_position(source, span.end, encoding))


def range_to_offsets(source: SourceFile, rng: lsp.Range,
                     encoding: str = UTF16) -> tuple[int, int]:
    start = position_to_offset(source, rng.start, encoding)
    end = position_to_offset(source, rng.end, encoding)
    return (start, end) if start <= end else (end, start)


def whole_range(source: SourceFile, encoding: str = UTF16) -> lsp.Range:
    return lsp.Range(start=lsp.Position(line=0, character=0),
                     end=offset_to_position(source, len(source.text), encoding))


# ---------------------------------------------------------------------------
# URIs and paths


def uri_to_path(uri: str) -> str:
    """The file system path of a ``file:`` URI; any other URI is its own "path"
    (an unsaved buffer still gets checked, it just cannot `use` files)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri
    path = unquote(parsed.path)
    if parsed.netloc:  # a UNC path on Windows
        path = f"//{parsed.netloc}{path}"
    if os.name == "nt" and len(path) > 2 and path[0] == "/" and path[2] == ":":
        path = path[1:]
    return os.path.normpath(path)


def path_to_uri(path: str) -> str:
    if "://" in path or path.startswith("untitled:"):
        return path  # already a URI (see uri_to_path)
    absolute = Path(os.path.abspath(path))
    return "file://" + quote(absolute.as_posix() if os.name != "nt" else "/" +
                             absolute.as_posix(), safe="/:")


# ---------------------------------------------------------------------------
# diagnostics


SourceLookup = Callable[[str], SourceFile | None]


def diagnostic_to_lsp(d: Diagnostic, sources: SourceLookup,
                      encoding: str = UTF16) -> lsp.Diagnostic:
    """A specc diagnostic as the LSP shows it: the code, the message with the
    hint and span-less notes appended (the LSP has no field for them), and the
    notes that point somewhere as related information."""
    lines = [d.message]
    related: list[lsp.DiagnosticRelatedInformation] = []
    for note in d.notes:
        if note.span is None:
            lines.append(f"note: {note.message}")
            continue
        related.append(lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=path_to_uri(note.span.file),
                                  range=span_to_range(note.span, sources(note.span.file),
                                                      encoding)),
            message=note.message,
        ))
    if d.hint:
        lines.append(f"hint: {d.hint}")
    tags = [lsp.DiagnosticTag.Unnecessary] if d.code in _UNNECESSARY else None
    return lsp.Diagnostic(
        range=span_to_range(d.span, sources(d.span.file), encoding),
        message="\n".join(lines),
        severity=_SEVERITIES.get(d.severity, lsp.DiagnosticSeverity.Error),
        code=d.code,
        source="specc",
        related_information=related or None,
        tags=tags,
    )


def diagnostics_to_lsp(diagnostics: Iterable[Diagnostic], sources: SourceLookup,
                       encoding: str = UTF16) -> list[lsp.Diagnostic]:
    return [diagnostic_to_lsp(d, sources, encoding) for d in diagnostics]


def location(span: Span, sources: SourceLookup, encoding: str = UTF16) -> lsp.Location:
    return lsp.Location(uri=path_to_uri(span.file),
                        range=span_to_range(span, sources(span.file), encoding))


def text_edit(span: Span, new_text: str, sources: SourceLookup,
              encoding: str = UTF16) -> lsp.TextEdit:
    return lsp.TextEdit(range=span_to_range(span, sources(span.file), encoding),
                        new_text=new_text)
