"""The library API: results as data, notes, and internal errors as one diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from specc import api, ast
from specc.api import check_file, check_source
from specc.check.checker import ProgramChecker
from specc.check.declarations import Declarations
from specc.diagnostics import Severity
from specc.span import Span
from specc.types import Type

CLEAN = """\
unikernel app

main {
  print("{1 + 2}")
}
"""


class Boom(Exception):
    pass


def _explode(*args: object, **kwargs: object) -> None:
    raise Boom("checker exploded")


def _explode_in_user_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `ProgramChecker.binary` fail on the user's file (the prelude has
    binary expressions too, and is checked first)."""
    original = ProgramChecker.binary

    def binary(self: ProgramChecker, e: ast.Binary, expected: Type | None) -> Type:
        if e.span.file == "app.spec":
            _explode()
        return original(self, e, expected)

    monkeypatch.setattr(ProgramChecker, "binary", binary)


def test_clean_source_has_no_diagnostics() -> None:
    result = check_source(CLEAN, "app.spec")
    assert result.diagnostics == []
    assert not result.has_errors
    assert not result.internal_error
    assert result.program is not None
    assert "app.spec" in result.sources


def test_internal_error_in_an_expression_is_one_diagnostic_at_its_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _explode_in_user_code(monkeypatch)
    result = check_source(CLEAN, "app.spec")  # no exception escapes
    assert [d.code for d in result.diagnostics] == ["E9001"]
    (diagnostic,) = result.diagnostics
    assert result.internal_error
    assert result.has_errors
    assert result.program is None
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.message == (
        "internal compiler error: Boom: checker exploded; please report this bug"
    )
    # The span is the expression being checked when it failed: `1 + 2` on line 4.
    assert (diagnostic.span.file, diagnostic.span.line, diagnostic.span.column) == ("app.spec", 4, 11)
    assert CLEAN[diagnostic.span.start:diagnostic.span.end] == "1 + 2"
    # The note says where in specc it was raised.
    assert len(diagnostic.notes) == 1
    assert diagnostic.notes[0].message.startswith("raised at ")
    assert diagnostic.notes[0].message.endswith(" in _explode"), diagnostic.notes[0].message


def test_internal_error_before_any_expression_is_at_the_start_of_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Declarations, "collect", _explode)
    result = check_source(CLEAN, "app.spec")
    assert [d.code for d in result.diagnostics] == ["E9001"]
    assert result.internal_error
    span = result.diagnostics[0].span
    assert (span.file, span.line, span.column, span.start, span.end) == ("app.spec", 1, 1, 0, 0)


def test_internal_error_while_loading_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "load_files", _explode)
    result = check_source(CLEAN, "app.spec")
    assert [d.code for d in result.diagnostics] == ["E9001"]
    assert result.internal_error
    assert result.program is None


def test_diagnostics_before_an_internal_error_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _explode_in_user_code(monkeypatch)
    text = CLEAN.replace('print("{1 + 2}")', 'print(nope)\n  print("{1 + 2}")')
    result = check_source(text, "app.spec")
    assert [d.code for d in result.diagnostics] == ["E0101", "E9001"]
    assert result.internal_error


def test_duplicate_declarations_have_a_note_at_the_first_one() -> None:
    text = """\
unikernel dup

config {
  const port: u16 = 53
  const port: u16 = 54
}

devices {
  out = console()
  out = console()
}

fn greet() {
  out.write("a")
}

fn greet() {
  out.write("b")
}

main {
  greet()
}
"""
    result = check_source(text, "dup.spec")
    found = [(d.code, d.span.line, d.span.column) for d in result.diagnostics]
    assert found == [("E0102", 5, 9), ("E0102", 10, 3), ("E0102", 17, 4)]
    first_declared = []
    for diagnostic in result.diagnostics:
        assert len(diagnostic.notes) == 1
        span = diagnostic.notes[0].span
        assert isinstance(span, Span)
        first_declared.append((span.file, span.line, span.column))
    assert first_declared == [("dup.spec", 4, 9), ("dup.spec", 9, 3), ("dup.spec", 13, 4)]


def test_used_files_come_from_overlays(tmp_path: Path) -> None:
    main = tmp_path / "main.spec"
    lib = tmp_path / "lib.spec"  # never written: the overlay stands in for it
    text = 'unikernel app\nuse "lib.spec"\n\nmain {\n  print(greeting())\n}\n'
    overlay = 'fn greeting() -> string {\n  return 5\n}\n'
    result = check_source(text, str(main), overlays={str(lib): overlay})
    assert [(d.code, d.span.file, d.span.line) for d in result.diagnostics] == \
        [("E0201", str(lib), 2)]
    assert result.sources[str(lib)].text == overlay


def test_check_file_of_a_missing_file_is_e0104(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.spec")
    result = check_file(path)
    assert [d.code for d in result.diagnostics] == ["E0104"]
    assert path in result.diagnostics[0].message
    assert not result.internal_error


def test_unknown_target_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        check_source(CLEAN, "app.spec", target="vms")


def test_use_cycle_notes_name_each_use(tmp_path: Path) -> None:
    main = tmp_path / "main.spec"
    files = {
        str(tmp_path / "a.spec"): 'use "b.spec"\n',
        str(tmp_path / "b.spec"): 'use "a.spec"\n',
    }
    result = check_source('unikernel app\nuse "a.spec"\n\nmain {\n}\n', str(main), overlays=files)
    (diagnostic,) = result.diagnostics
    assert (diagnostic.code, diagnostic.span.file, diagnostic.span.line) == \
        ("E0105", str(tmp_path / "b.spec"), 1)
    notes = [(n.message, n.span.file if n.span else None) for n in diagnostic.notes]
    # The cycle closes at b.spec's `use "a.spec"`; the note shows the other use.
    assert notes == [("`a.spec` uses `b.spec`", str(tmp_path / "a.spec"))]
