"""The three renderings of diagnostics, on hand-made diagnostics."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from specc.diagnostics import Diagnostic, Note, Severity
from specc.render import render_gcc, render_json, render_pretty
from specc.span import SourceFile, Span

TEXT = (
    "unikernel dns\n"  # 1
    "config {\n"  # 2
    "\tconst port: u16 = 53\n"  # 3: starts with a tab
    "}\n"  # 4
    "main {\n"  # 5
    "  prot = 1\n"  # 6
    "}\n"  # 7
)
SOURCE = SourceFile("dns.spec", TEXT)
SOURCES = {"dns.spec": SOURCE}


def span(line: int, column: int, end_line: int, end_column: int, file: str = "dns.spec") -> Span:
    source = SourceFile(file, TEXT)
    start, end = source.offset(line, column), source.offset(end_line, end_column)
    return Span(file, line, column, end_line, end_column, start, end)


def unknown_name(
    notes: tuple[Note, ...] = (),
    hint: str | None = None,
    fix: tuple[Span, str] | None = None,
) -> Diagnostic:
    return Diagnostic(
        "E0101", Severity.ERROR, "unknown name `prot`", span(6, 3, 6, 7), notes, hint, fix
    )


def caret_line_under(output: str, source_line: str) -> str:
    """The line that follows the excerpt line ending in ``source_line``."""
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith(source_line))
    return lines[index + 1]


def test_pretty_header_location_and_carets() -> None:
    out = render_pretty([unknown_name()], SOURCES, color=False)
    lines = out.splitlines()
    assert lines[0] == "error[E0101]: unknown name `prot`"
    assert lines[1] == " --> dns.spec:6:3"
    assert "6 |   prot = 1" in lines
    carets = caret_line_under(out, "  prot = 1")
    excerpt = next(line for line in lines if line.endswith("prot = 1"))
    # The carets sit exactly under `prot`.
    start = excerpt.index("prot")
    assert carets[start : start + 4] == "^^^^"
    assert carets.rstrip().endswith("^^^^")
    assert carets.count("^") == 4


def test_pretty_tab_before_span_keeps_carets_aligned() -> None:
    # `port` on line 3 follows a tab; the caret line must account for it.
    d = Diagnostic("E0102", Severity.ERROR, "duplicate declaration", span(3, 8, 3, 12))
    out = render_pretty([d], SOURCES, color=False)
    excerpt = next(line for line in out.splitlines() if "const port" in line)
    assert "\t" not in excerpt
    carets = caret_line_under(out, "const port: u16 = 53")
    start = excerpt.index("port")
    assert carets[start : start + 4] == "^^^^"
    assert carets.count("^") == 4


def test_pretty_tab_inside_span_is_underlined_in_full() -> None:
    # The span covers the tab itself: four cells shown, four carets.
    d = Diagnostic("E0003", Severity.ERROR, "invalid character", span(3, 1, 3, 2))
    out = render_pretty([d], SOURCES, color=False)
    assert caret_line_under(out, "const port: u16 = 53").endswith("| ^^^^")


def test_pretty_empty_span_gets_one_caret() -> None:
    d = Diagnostic("E0002", Severity.ERROR, "unexpected end of file", span(7, 2, 7, 2))
    out = render_pretty([d], SOURCES, color=False)
    excerpt = next(line for line in out.splitlines() if line.startswith("7 |"))
    carets = caret_line_under(out, excerpt)
    assert carets.count("^") == 1
    assert carets.index("^") == len(excerpt)


def test_pretty_multiline_span_underlines_first_line_and_says_so() -> None:
    d = Diagnostic("W0002", Severity.WARNING, "unused", span(2, 1, 4, 2))
    out = render_pretty([d], SOURCES, color=False)
    carets = caret_line_under(out, "config {")
    assert "^" * len("config {") in carets
    assert "line 4" in carets


def test_pretty_notes_and_hint() -> None:
    d = unknown_name(
        notes=(Note("declared here", span(3, 8, 3, 12)), Note("names are case-sensitive")),
        hint="did you mean `port`?",
    )
    out = render_pretty([d], SOURCES, color=False)
    lines = out.splitlines()
    note_at = lines.index("note: declared here")
    assert lines[note_at + 1] == " --> dns.spec:3:8"
    assert any("const port" in line for line in lines[note_at:])
    assert "  = note: names are case-sensitive" in lines
    assert "  = help: did you mean `port`?" in lines
    # Notes come after the primary excerpt, the hint last before the summary.
    assert lines.index("  = help: did you mean `port`?") > note_at


def test_pretty_gutter_is_as_wide_as_the_widest_line_number() -> None:
    text = "".join(f"line {i}\n" for i in range(1, 13))
    source = SourceFile("long.spec", text)
    d = Diagnostic(
        "E0101",
        Severity.ERROR,
        "unknown name",
        source.span(source.offset(12, 1), source.offset(12, 5)),
        notes=(Note("declared here", source.span(source.offset(3, 1), source.offset(3, 5))),),
    )
    lines = render_pretty([d], {"long.spec": source}, color=False).splitlines()
    assert "12 | line 12" in lines
    assert " 3 | line 3" in lines
    assert "  --> long.spec:12:1" in lines


def test_pretty_without_source_shows_location_only() -> None:
    d = Diagnostic(
        "E0104", Severity.ERROR, "cannot read `x.spec`", Span("x.spec", 1, 1, 1, 1, 0, 0)
    )
    lines = render_pretty([d], {}, color=False).splitlines()
    assert lines[:2] == ["error[E0104]: cannot read `x.spec`", " --> x.spec:1:1"]
    assert not any("|" in line for line in lines)


def test_pretty_summary() -> None:
    warning = Diagnostic("W0002", Severity.WARNING, "unused variable `x`", span(6, 3, 6, 7))
    out = render_pretty([unknown_name(), unknown_name(), warning], SOURCES, color=False)
    assert out.splitlines()[-1] == "error: 2 errors, 1 warning emitted"
    only_warning = render_pretty([warning], SOURCES, color=False)
    assert only_warning.splitlines()[-1] == "warning: 1 warning emitted"
    assert render_pretty([], SOURCES, color=False) == ""


def test_pretty_color_uses_ansi_and_keeps_brackets() -> None:
    out = render_pretty([unknown_name()], SOURCES, color=True)
    assert "\x1b[" in out
    # `[E0101]` must not be swallowed as rich markup.
    assert "[E0101]" in out
    assert "\x1b[" not in render_pretty([unknown_name()], SOURCES, color=False)


def test_pretty_control_characters_are_made_visible() -> None:
    source = SourceFile("c.spec", "a\x0cb = 1\n")
    d = Diagnostic("E0003", Severity.ERROR, "invalid character", source.span(4, 5))
    out = render_pretty([d], {"c.spec": source}, color=False)
    assert "\x0c" not in out
    excerpt = next(line for line in out.splitlines() if line.startswith("1 |"))
    carets = caret_line_under(out, excerpt)
    assert carets.index("^") == excerpt.index("=")


def test_gcc_exact_lines() -> None:
    d = unknown_name(
        notes=(Note("declared here", span(3, 8, 3, 12)), Note("no place")),
        hint="did you mean `port`?",
    )
    assert render_gcc([d]).splitlines() == [
        "dns.spec:6:3: error[E0101]: unknown name `prot`",
        "dns.spec:3:8: note: declared here",
        "dns.spec:6:3: note: no place",
        "dns.spec:6:3: note: hint: did you mean `port`?",
    ]
    assert render_gcc([]) == ""


def test_gcc_keeps_order_and_one_line_per_message() -> None:
    warning = Diagnostic("W0002", Severity.WARNING, "unused\nvariable", span(2, 1, 2, 7))
    lines = render_gcc([warning, unknown_name()]).splitlines()
    assert lines == [
        "dns.spec:2:1: warning[W0002]: unused variable",
        "dns.spec:6:3: error[E0101]: unknown name `prot`",
    ]


def test_json_round_trip() -> None:
    d = unknown_name(
        notes=(Note("declared here", span(3, 8, 3, 12)), Note("no place")),
        hint="did you mean `port`?",
        fix=(span(6, 3, 6, 7), "port"),
    )
    text = render_json([d])
    data = json.loads(text)
    assert data == [
        {
            "code": "E0101",
            "severity": "error",
            "message": "unknown name `prot`",
            "file": "dns.spec",
            "line": 6,
            "column": 3,
            "end_line": 6,
            "end_column": 7,
            "notes": [
                {
                    "message": "declared here",
                    "file": "dns.spec",
                    "line": 3,
                    "column": 8,
                    "end_line": 3,
                    "end_column": 12,
                },
                {
                    "message": "no place",
                    "file": None,
                    "line": None,
                    "column": None,
                    "end_line": None,
                    "end_column": None,
                },
            ],
            "hint": "did you mean `port`?",
            "fix": {
                "file": "dns.spec",
                "line": 6,
                "column": 3,
                "end_line": 6,
                "end_column": 7,
                "replacement": "port",
            },
        }
    ]
    # Key order is fixed, so the text itself is stable (golden files rely on it).
    assert list(data[0]) == [
        "code", "severity", "message", "file", "line", "column",
        "end_line", "end_column", "notes", "hint", "fix",
    ]  # fmt: skip
    assert render_json([d]) == text


def test_json_empty_and_no_fix() -> None:
    assert json.loads(render_json([])) == []
    (entry,) = json.loads(render_json([unknown_name()]))
    assert entry["fix"] is None
    assert entry["hint"] is None
    assert entry["notes"] == []


@given(
    text=st.text(max_size=60),
    data=st.data(),
    color=st.booleans(),
)
def test_any_span_into_any_text_renders(text: str, data: st.DataObject, color: bool) -> None:
    # Rendering is the last step before the user; it must never fail,
    # whatever the text (tabs, control characters, wide characters, CRLF).
    source = SourceFile("f.spec", text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    d = Diagnostic("E0001", Severity.ERROR, "m", source.span(start, end), (Note("n", None),), "h")
    out = render_pretty([d], {"f.spec": source}, color=color)
    assert re.sub(r"\x1b\[[0-9;]*m", "", out).endswith("error: 1 error emitted\n")
    assert render_gcc([d]).count("\n") == 3
    assert json.loads(render_json([d]))[0]["line"] == source.position(start)[0]
