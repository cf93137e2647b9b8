"""Diagnostics rendered for people and for tools.

Three pure functions turn a list of diagnostics into text:

- :func:`render_pretty`: rustc-like, with the source line, a gutter of line
  numbers and carets under the span; optionally coloured with ``rich``;
- :func:`render_gcc`: one ``path:line:col: severity: message`` line per
  message, which editors' "compilation modes" and CI log scanners understand;
- :func:`render_json`: a stable JSON document for programs.

None of them prints or reads files: the caller passes the sources it has and
decides where the text goes, so the library stays free of I/O and the CLI,
LSP and tests share one implementation.  Diagnostics are rendered in the
order given (the driver already sorts them).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence

from specc.diagnostics import Diagnostic, Note, Severity
from specc.span import SourceFile, Span

__all__ = ["render_gcc", "render_json", "render_pretty"]

# A tab is shown as this many spaces.  Any fixed choice works, as long as the
# caret line is measured with the same substitution as the source line.
TAB_WIDTH = 4

# A line of pretty output, as (text, rich style) pieces; style "" is plain.
# Building lines as data lets the coloured and the plain output share code.
_Piece = tuple[str, str]
_Line = list[_Piece]

_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "bold yellow",
    Severity.NOTE: "bold green",
}
_GUTTER_STYLE = "bold blue"
_MESSAGE_STYLE = "bold"
_NOTE_STYLE = "bold green"
_HELP_STYLE = "bold cyan"


# --------------------------------------------------------------------------
# pretty


def render_pretty(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    color: bool,
) -> str:
    """Render diagnostics the way rustc does, ending with a count summary.

    A span whose file is not in ``sources`` (an unreadable file, say) is shown
    by its location alone.  Returns ``""`` when there is nothing to report.
    """
    if not diagnostics:
        return ""
    lines: list[_Line] = []
    for index, diagnostic in enumerate(diagnostics):
        if index:
            lines.append([])
        lines.extend(_diagnostic_lines(diagnostic, sources))
    lines.append([])
    lines.append(_summary_line(diagnostics))
    return _to_ansi(lines) if color else _to_plain(lines)


def _diagnostic_lines(diagnostic: Diagnostic, sources: Mapping[str, SourceFile]) -> list[_Line]:
    style = _SEVERITY_STYLE[diagnostic.severity]
    # One gutter width for the whole diagnostic keeps every `|` in one column.
    spans = [diagnostic.span, *(note.span for note in diagnostic.notes if note.span)]
    width = max(len(str(span.line)) for span in spans)
    pad = " " * width

    lines: list[_Line] = [
        [
            (f"{diagnostic.severity.value}[{diagnostic.code}]", style),
            (": ", _MESSAGE_STYLE),
            (diagnostic.message, _MESSAGE_STYLE),
        ]
    ]
    excerpt = _snippet(diagnostic.span, sources, width, style)
    lines.extend(excerpt)

    # Notes with a place get their own header and excerpt; notes without one
    # and the hint hang off the gutter, as rustc's `= note:` lines do.
    trailing: list[_Line] = []
    for note in diagnostic.notes:
        if note.span is not None:
            lines.append([("note", _NOTE_STYLE), (": ", _MESSAGE_STYLE), (note.message, "")])
            excerpt = _snippet(note.span, sources, width, _NOTE_STYLE)
            lines.extend(excerpt)
        else:
            trailing.append(_hanging(pad, "note", _NOTE_STYLE, note))
    if diagnostic.hint is not None:
        trailing.append(_hanging(pad, "help", _HELP_STYLE, Note(diagnostic.hint)))
    if trailing and len(excerpt) > 1:
        # Close the last excerpt's gutter before the hanging lines, like rustc.
        lines.append([(f"{pad} |", _GUTTER_STYLE)])
    lines.extend(trailing)
    return lines


def _hanging(pad: str, label: str, style: str, note: Note) -> _Line:
    return [(f"{pad} = ", _GUTTER_STYLE), (label, style), (": ", ""), (note.message, "")]


def _snippet(span: Span, sources: Mapping[str, SourceFile], width: int, style: str) -> list[_Line]:
    """The `-->` location line and, when the source is known, the excerpt."""
    pad = " " * width
    lines: list[_Line] = [[(f"{pad}--> ", _GUTTER_STYLE), (str(span), "")]]
    source = sources.get(span.file)
    if source is None:
        return lines

    raw = source.line_text(span.line).rstrip("\r")
    shown = _printable(raw)
    start = max(span.column, 1) - 1  # 0-based index into `raw`
    if span.end_line > span.line:
        # Underline to the end of the first line and say where the span ends;
        # drawing every line of a long block would bury the message.
        underlined = raw[start:]
        suffix = f" (continues to line {span.end_line})"
    else:
        underlined = raw[start : max(span.end_column - 1, start)]
        suffix = ""
    # Measure in terminal cells of the text as displayed, so tabs and wide
    # characters before the span do not shift the carets.  A column past the
    # end of the line (e.g. an error at end of file) is one cell per column.
    # rich is imported only when there is something to render: a clean run
    # of `specc check` should not pay for it at start-up.
    from rich.cells import cell_len

    offset = cell_len(_printable(raw[:start])) + max(0, start - len(raw))
    carets = "^" * max(1, cell_len(_printable(underlined)))

    lines.append([(f"{pad} |", _GUTTER_STYLE)])
    lines.append([(f"{span.line:>{width}} | ", _GUTTER_STYLE), (shown, "")])
    lines.append(
        [(f"{pad} | ", _GUTTER_STYLE), (" " * offset, ""), (carets, style), (suffix, style)]
    )
    return lines


def _printable(text: str) -> str:
    """Source text as shown: tabs expanded, control characters made visible.

    Control characters (say, a stray form feed reported by E0003) would
    otherwise move the terminal's cursor; each becomes its one-cell Unicode
    "control picture".
    """
    out: list[str] = []
    for ch in text:
        if ch == "\t":
            out.append(" " * TAB_WIDTH)
        elif ch < " ":
            out.append(chr(0x2400 + ord(ch)))
        elif ch == "\x7f":
            out.append("\u2421")
        else:
            out.append(ch)
    return "".join(out)


def _summary_line(diagnostics: Sequence[Diagnostic]) -> _Line:
    counts = Counter(d.severity for d in diagnostics)
    parts = [
        _plural(counts[severity], severity.value)
        for severity in (Severity.ERROR, Severity.WARNING, Severity.NOTE)
        if counts[severity]
    ]
    # The summary takes the severity of the worst diagnostic it counts.
    worst = next(s for s in (Severity.ERROR, Severity.WARNING, Severity.NOTE) if counts[s])
    return [
        (worst.value, _SEVERITY_STYLE[worst]),
        (f": {', '.join(parts)} emitted", _MESSAGE_STYLE),
    ]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _to_plain(lines: list[_Line]) -> str:
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def _to_ansi(lines: list[_Line]) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    # An explicit empty environment: the caller already decided on colour, so
    # NO_COLOR, TERM or COLUMNS in this process must not change the output.
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        no_color=False,
        width=10_000,
        legacy_windows=False,
        _environ={},
    )
    for line in lines:
        # Text objects are never parsed as markup, so `[E0101]` stays literal.
        console.print(Text.assemble(*line), soft_wrap=True, highlight=False)
    return buffer.getvalue()


# --------------------------------------------------------------------------
# gcc


def render_gcc(diagnostics: Sequence[Diagnostic]) -> str:
    """One line per message in GCC's ``file:line:col: kind: text`` shape.

    Notes without a place, and the hint, are reported at the primary span so
    every line stays clickable in an editor.
    """
    out: list[str] = []
    for d in diagnostics:
        where = str(d.span)
        out.append(f"{where}: {d.severity.value}[{d.code}]: {_one_line(d.message)}")
        for note in d.notes:
            note_where = str(note.span) if note.span is not None else where
            out.append(f"{note_where}: note: {_one_line(note.message)}")
        if d.hint is not None:
            out.append(f"{where}: note: hint: {_one_line(d.hint)}")
    return "".join(line + "\n" for line in out)


def _one_line(text: str) -> str:
    # A line-oriented format cannot carry a newline inside a message.
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


# --------------------------------------------------------------------------
# json


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON list, one object per diagnostic, with a fixed key order.

    Lines and columns are 1-based as in :class:`Span`; ``end_column`` is the
    column just after the span.  Positions of a note without a place are
    ``null``.
    """
    import json  # here, not with every check: most never print JSON

    document = [_diagnostic_json(d) for d in diagnostics]
    return json.dumps(document, indent=2) + "\n"


_Json = dict[str, object]


def _position_json(span: Span | None) -> _Json:
    if span is None:
        return dict.fromkeys(("file", "line", "column", "end_line", "end_column"))
    return {
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _diagnostic_json(d: Diagnostic) -> _Json:
    fix: _Json | None = None
    if d.fix is not None:
        fix_span, replacement = d.fix
        fix = {**_position_json(fix_span), "replacement": replacement}
    return {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        **_position_json(d.span),
        "notes": [{"message": n.message, **_position_json(n.span)} for n in d.notes],
        "hint": d.hint,
        "fix": fix,
    }
