"""The command line's own behaviour: version, exit statuses, internal errors.

``specc.api.check_file`` is replaced by stubs here, so these tests exercise
the CLI alone, whatever state the front end is in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc import api
from specc.cli import main
from specc.diagnostics import Diagnostic, Severity
from specc.span import SourceFile, Span


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


class FakeResult:
    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, SourceFile]) -> None:
        self.diagnostics = diagnostics
        self.sources = sources

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def internal_error(self) -> bool:
        return any(d.code == "E9001" for d in self.diagnostics)


@pytest.fixture
def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "app.spec"
    path.write_text("unikernel app\nmain {\n  boom\n}\n", encoding="utf-8")
    return str(path)


def test_version() -> None:
    status, out, _ = run("--version")
    assert status == 0
    assert out == "specc 0.1.0\n"


def test_missing_file_is_e0104_and_status_1(tmp_path: Path) -> None:
    missing = tmp_path / "nope.spec"
    status, out, err = run("check", str(missing))
    assert status == 1
    assert out == ""
    assert err.splitlines() == [
        f"error[E0104]: cannot read `{missing}`: No such file or directory",
        f" --> {missing}:1:1", "", "error: 1 error emitted"]


def test_internal_error_is_a_diagnostic_with_status_3(
    monkeypatch: pytest.MonkeyPatch, spec_file: str
) -> None:
    def explode(path: str, *, target: str = "hvt") -> FakeResult:
        raise KeyError("oops")

    monkeypatch.setattr(api, "check_file", explode)
    status, out, err = run("check", "--format", "gcc", spec_file)
    assert status == 3
    assert "Traceback" not in out + err
    lines = out.splitlines()
    assert lines[0] == (
        f"{spec_file}:1:1: error[E9001]: internal compiler error: KeyError: 'oops'; "
        "please report this bug"
    )
    # The last frame is reported as a note, so the bug report says where.
    assert lines[1].startswith(f"{spec_file}:1:1: note: raised at ")
    assert "explode" in lines[1]


def test_internal_error_uses_the_exception_span(
    monkeypatch: pytest.MonkeyPatch, spec_file: str
) -> None:
    class PassFailure(Exception):
        def __init__(self, message: str, span: Span) -> None:
            super().__init__(message)
            self.span = span

    def explode(path: str, *, target: str = "hvt") -> FakeResult:
        raise PassFailure("fold went wrong", Span(path, 3, 3, 3, 7, 24, 28))

    monkeypatch.setattr(api, "check_file", explode)
    status, _, err = run("check", "--color", "never", spec_file)
    assert status == 3
    assert f" --> {spec_file}:3:3" in err
    # The file is read back so the report can show the offending line.
    assert "3 |   boom" in err
    assert "^^^^" in err


def _result_with(severity: Severity, path: str) -> FakeResult:
    source = SourceFile(path, "unikernel app\n")
    diagnostic = Diagnostic("W0002" if severity is Severity.WARNING else "E0101",
                            severity, "something", source.span(0, 9))  # fmt: skip
    return FakeResult([diagnostic], {path: source})


@pytest.mark.parametrize(("severity", "expected"), [(Severity.ERROR, 1), (Severity.WARNING, 0)])
def test_status_follows_errors_not_warnings(
    monkeypatch: pytest.MonkeyPatch, spec_file: str, severity: Severity, expected: int
) -> None:
    def fake(path: str, *, target: str = "hvt") -> FakeResult:
        return _result_with(severity, path)

    monkeypatch.setattr(api, "check_file", fake)
    status, out, _ = run("check", "--format", "json", spec_file)
    assert status == expected
    (entry,) = json.loads(out)
    assert entry["severity"] == severity.value
    assert entry["file"] == spec_file


def test_target_is_passed_through(monkeypatch: pytest.MonkeyPatch, spec_file: str) -> None:
    seen: list[str] = []

    def fake(path: str, *, target: str = "hvt") -> FakeResult:
        seen.append(target)
        return FakeResult([], {})

    monkeypatch.setattr(api, "check_file", fake)
    status, out, err = run("check", "--target", "unix", spec_file)
    assert (status, out, err) == (0, "", "")
    assert seen == ["unix"]
