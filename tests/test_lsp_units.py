"""The language server's pure parts, without a client: position conversion,
diagnostics as LSP data, quick fixes, settings, debouncing."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from specc.diagnostics import Diagnostic, Note, Severity
from specc.lsp.convert import (
    UTF8,
    UTF16,
    UTF32,
    code_units,
    diagnostic_to_lsp,
    offset_to_position,
    path_to_uri,
    position_to_offset,
    span_to_range,
    units_to_chars,
    uri_to_path,
)
from specc.lsp.features.actions import quick_fix
from specc.lsp.features.formatting import formatting
from specc.lsp.workspace import Settings, Workspace
from specc.span import SourceFile, Span

EMOJI = "\U0001f600"  # outside the BMP: two UTF-16 units, four UTF-8 bytes


# ---------------------------------------------------------------------------
# positions


def test_code_units_per_encoding() -> None:
    text = f"a{EMOJI}é"
    assert code_units(text, UTF16) == 4
    assert code_units(text, UTF8) == 1 + 4 + 2
    assert code_units(text, UTF32) == 3


def test_units_to_chars_clamps_inside_a_character_and_past_the_end() -> None:
    line = f"x{EMOJI}y"
    assert units_to_chars(line, 0) == 0
    assert units_to_chars(line, 1) == 1
    assert units_to_chars(line, 2) == 1  # half an emoji: stay before it
    assert units_to_chars(line, 3) == 2
    assert units_to_chars(line, 4) == 3
    assert units_to_chars(line, 99) == 3
    assert units_to_chars(line, 5, UTF8) == 2
    assert units_to_chars(line, 3, UTF8) == 1


def test_positions_round_trip_through_utf16() -> None:
    source = SourceFile("f.spec", f'let s = "{EMOJI}{EMOJI}" + nme\nnext line\n')
    offset = source.text.index("nme")
    position = offset_to_position(source, offset)
    assert position == lsp.Position(line=0, character=offset + 2)
    assert position_to_offset(source, position) == offset
    assert offset_to_position(source, offset, UTF32).character == offset
    # Past the end of a line: the end of that line; past the last line: the end.
    assert position_to_offset(source, lsp.Position(line=0, character=500)) == \
        source.text.index("\n")
    assert position_to_offset(source, lsp.Position(line=40, character=0)) == len(source.text)


def test_span_to_range() -> None:
    text = f"{EMOJI} ab\n  cd"
    source = SourceFile("f.spec", text)
    span = source.span(text.index("ab"), text.index("cd") + 2)
    assert span_to_range(span, source) == lsp.Range(start=lsp.Position(line=0, character=3),
                                                    end=lsp.Position(line=1, character=4))
    # Without the text, columns are used as they are (exact for ASCII).
    assert span_to_range(span, None).start == lsp.Position(line=0, character=2)


def test_uris_and_paths_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "with space" / "a#b.spec")
    uri = path_to_uri(path)
    assert uri.startswith("file:///") and " " not in uri and "#" not in uri
    assert uri_to_path(uri) == path
    assert uri_to_path("untitled:Untitled-1") == "untitled:Untitled-1"


# ---------------------------------------------------------------------------
# diagnostics and quick fixes


def _span(source: SourceFile, needle: str) -> Span:
    start = source.text.index(needle)
    return source.span(start, start + len(needle))


def test_diagnostic_to_lsp_keeps_code_notes_and_hint() -> None:
    source = SourceFile("/w/a.spec", "fn f() {}\nfn f() {}\n")
    first = source.span(3, 4)
    second = source.span(13, 14)
    d = Diagnostic("E0102", Severity.ERROR, "`f` is declared twice", second,
                   notes=(Note("`f` is declared here", first), Note("names are per scope")),
                   hint="rename one of them")
    sources: Mapping[str, SourceFile] = {"/w/a.spec": source}
    out = diagnostic_to_lsp(d, sources.get)
    assert out.code == "E0102" and out.source == "specc"
    assert out.severity == lsp.DiagnosticSeverity.Error
    assert out.message == ("`f` is declared twice\nnote: names are per scope\n"
                           "hint: rename one of them")
    assert out.range.start == lsp.Position(line=1, character=3)
    assert out.related_information is not None
    related = out.related_information[0]
    assert related.message == "`f` is declared here"
    assert related.location.uri == "file:///w/a.spec"
    assert related.location.range.start == lsp.Position(line=0, character=3)
    warning = Diagnostic("W0002", Severity.WARNING, "`x` is never used", first)
    converted = diagnostic_to_lsp(warning, sources.get)
    assert converted.severity == lsp.DiagnosticSeverity.Warning
    assert converted.tags == [lsp.DiagnosticTag.Unnecessary]


def test_quick_fix_from_did_you_mean() -> None:
    text = "main {\n  udp.listen(prot, config.prot, answr)\n}\n"
    source = SourceFile("a.spec", text)
    bare = _span(source, "prot,")
    bare = source.span(bare.start, bare.start + 4)
    keyed = source.span(text.index("config.prot") + 7, text.index("config.prot") + 11)
    hint = "did you mean `config.port`?"
    assert quick_fix(Diagnostic("E0101", Severity.ERROR, "?", bare, hint=hint), text) == \
        (bare, "config.port")
    assert quick_fix(Diagnostic("E0107", Severity.ERROR, "?", keyed, hint=hint), text) == \
        (keyed, "port")
    answr = _span(source, "answr")
    assert quick_fix(Diagnostic("E0101", Severity.ERROR, "?", answr,
                                hint="did you mean `answer`?"), text) == (answr, "answer")
    assert quick_fix(Diagnostic("E0101", Severity.ERROR, "?", answr, hint="no idea"),
                     text) is None
    explicit = Diagnostic("E0101", Severity.ERROR, "?", answr, hint="did you mean `x`?",
                          fix=(answr, "y"))
    assert quick_fix(explicit, text) == (answr, "y")


# ---------------------------------------------------------------------------
# settings


def test_settings_accept_flat_or_nested_and_reject_bad_values() -> None:
    settings, problems = Settings().updated({"specc": {"target": "unix",
                                                       "defines": {"port": 53, "tcp": True},
                                                       "configFile": "prod.toml",
                                                       "logTimings": True}})
    assert problems == []
    assert settings.log_timings
    assert settings.target == "unix"
    assert dict(settings.defines) == {"port": "53", "tcp": "true"}
    assert settings.config_file == "prod.toml"
    kept, problems = settings.updated({"target": "vax", "defines": [1], "debounceMs": -1})
    assert kept.target == "unix" and dict(kept.defines) == dict(settings.defines)
    assert len(problems) == 3 and "unknown target 'vax'" in problems[0]
    same, problems = settings.updated(None)
    assert same == settings and problems == []


# ---------------------------------------------------------------------------
# the workspace


class Published:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, uri: str, version: int | None, diagnostics: list[Diagnostic],
                 sources: Mapping[str, SourceFile]) -> None:
        self.calls.append((uri, [d.code for d in diagnostics]))

    def last(self, uri: str) -> list[str] | None:
        return next((codes for u, codes in reversed(self.calls) if u == uri), None)


APP = 'unikernel app\nuse "lib.spec"\nmain {\n  print("{double(2)}")\n}\n'
LIB = "fn double(x: u32) -> u32 {\n  return x * 2\n}\n"


def test_used_files_library_files_and_closing(tmp_path: Path) -> None:
    (tmp_path / "lib.spec").write_text(LIB.replace("x * 2", "x * nope"), encoding="utf-8")
    published = Published()
    ws = Workspace(published, lambda message: None)
    app_uri = path_to_uri(str(tmp_path / "app.spec"))
    lib_uri = path_to_uri(str(tmp_path / "lib.spec"))

    ws.open(app_uri, APP, 1)
    # The problem in the used file (not open) is published to that file.
    assert published.last(app_uri) == []
    assert published.last(lib_uri) == ["E0101"]

    # Opened, the library reports its own problems (and no missing `unikernel`);
    # its unsaved text is what the application sees.
    ws.open(lib_uri, LIB, 1)
    assert published.last(lib_uri) == []
    ws.change(lib_uri, LIB.replace("fn double", "fn twice"), 2)  # no loop: checks at once
    state = ws.fresh(app_uri)
    assert state is not None and state.result is not None
    assert [d.code for d in state.result.diagnostics] == ["E0101"]

    ws.close(app_uri)
    ws.close(lib_uri)
    assert published.last(app_uri) == [] and published.last(lib_uri) == []


def test_changes_are_debounced() -> None:
    published = Published()
    ws = Workspace(published, lambda message: None)
    ws.configure({"debounceMs": 30})

    async def edit() -> None:
        ws.open("untitled:a", "unikernel a\nmain {}\n", 1)
        for version in range(2, 12):
            ws.change("untitled:a", "unikernel a\nmain { print(x) }\n", version)
        assert len(published.calls) == 1  # only the check on open, so far
        await asyncio.sleep(0.2)

    asyncio.run(edit())
    assert [codes for _, codes in published.calls] == [[], ["E0101"]]


# ---------------------------------------------------------------------------
# formatting


def test_formatting_uses_specc_fmt_and_survives_without_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(Published(), lambda message: None)
    state = ws.open("untitled:f", "unikernel f\nmain {\n}\n", 1)
    fake = types.ModuleType("specc.fmt")
    fake.format_source = lambda text, path: "unikernel f\n\nmain {}\n"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "specc.fmt", fake)
    edits = formatting(state, UTF16)
    assert [e.new_text for e in edits] == ["unikernel f\n\nmain {}\n"]
    assert edits[0].range == lsp.Range(start=lsp.Position(line=0, character=0),
                                       end=lsp.Position(line=3, character=0))
    fake.format_source = lambda text, path: None  # type: ignore[attr-defined]
    assert formatting(state, UTF16) == []  # syntax errors: nothing to do
    monkeypatch.setitem(sys.modules, "specc.fmt", None)  # import fails
    assert formatting(state, UTF16) == []
