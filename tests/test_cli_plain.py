"""`specc check` without click (specc.cli_check.run_plain) is click's
`specc check`, byte for byte and status for status (issue 13).

Three things make it so, and each is tried here: every command line the
plain path takes, click parses to the same values; a run through the entry
point (which tries the plain path first) writes the same bytes and exits
with the same status as click's command alone, for clean, failing and
warning checks in every format and for command lines it leaves to click;
and a check handed over to click is not made twice, ^C included.
"""

from __future__ import annotations

import gc
import itertools
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import specc.cli
from specc import api, cli_check, entry
from specc.cli_check import Request, plain_request


def _click_request(argv: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> Request:
    """The check command's arguments as click parses ``argv``."""
    seen: dict[str, Any] = {}

    def check_files(files: tuple[str, ...], target: str) -> cli_check.Checked:
        seen.update(files=files, target=target)
        return [], {}, 0

    def emit(_diagnostics: object, _sources: object, output_format: str, color: str) -> None:
        seen.update(output_format=output_format, color=color)

    monkeypatch.setattr(specc.cli, "check_files", check_files)
    monkeypatch.setattr(specc.cli, "_emit", emit)
    status = specc.cli.main.main(args=list(argv), prog_name="specc", standalone_mode=False)
    assert status == 0, argv
    return seen["files"], seen["output_format"], seen["target"], seen["color"]


_OPTION_FORMS = {
    "output_format": [["--format", "gcc"], ["--format=gcc"], ["--format", "pretty"],
                      ["--format=json"]],
    "target": [["-t", "unix"], ["--target", "python"], ["--target=unix"], ["-t", "hvt"]],
    "color": [["--color", "never"], ["--color=always"], ["--color", "auto"]],
}
_FILES = [["a.spec"], ["a.spec", "b.spec"], ["check"], [""], ["dir/x y.spec"]]


def _plain_command_lines() -> list[list[str]]:
    lines = []
    for files in _FILES:
        for format_, target, color in itertools.product(
                [[], *_OPTION_FORMS["output_format"]], [[], *_OPTION_FORMS["target"]],
                [[], *_OPTION_FORMS["color"]]):
            options = [*format_, *target, *color]
            lines.append(["check", *options, *files])
            lines.append(["check", *files, *options])
            lines.append(["check", files[0], *options, *files[1:]])
    return lines


def test_every_plain_command_line_is_parsed_as_click_parses_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the files need not exist: click.Path() takes them
    lines = _plain_command_lines()
    assert len(lines) > 1000
    for argv in lines:
        plain = plain_request(argv, {})
        assert plain is not None, argv
        assert plain == _click_request(argv, monkeypatch), argv


# Command lines click takes, or refuses, that are not plain.
_NOT_PLAIN = [
    ["check"], ["check", "--format", "json"], ["check", "-thvt", "a.spec"],
    ["check", "-t=hvt", "a.spec"], ["check", "--", "a.spec"], ["check", "-", "a.spec"],
    ["check", "--format=", "a.spec"], ["check", "--format", "xml", "a.spec"],
    ["check", "--colour", "never", "a.spec"], ["check", "-h"], ["check", "--help", "a.spec"],
    ["check", "a.spec", "--target"], ["check", "--format", "gcc", "--format", "json", "a.spec"],
    ["check", "-t", "unix", "--target", "hvt", "a.spec"], ["check", "-x", "a.spec"],
    ["check", "--format", "--color", "a.spec"], ["check", "--target", "HVT", "a.spec"],
    ["--version"], ["-h"], ["compile", "a.spec"], ["checks", "a.spec"], [],
]


@pytest.mark.parametrize("argv", _NOT_PLAIN, ids=" ".join)
def test_the_rest_is_left_to_click(argv: list[str]) -> None:
    assert plain_request(argv, {}) is None


def test_shell_completion_is_left_to_click() -> None:
    assert plain_request(["check", "a.spec"], {"PATH": "/bin"}) is not None
    assert plain_request(["check", "a.spec"], {"_SPECC_COMPLETE": "bash_complete"}) is None


def test_an_unreadable_file_is_left_to_click(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # click.Path() refuses a file that exists and cannot be read (the tests
    # run as root, who can read anything, so os.access is made to say no).
    spec = tmp_path / "a.spec"
    spec.write_text("unikernel a\nmain {\n}\n", encoding="utf-8")
    assert plain_request(["check", str(spec)], {}) is not None
    monkeypatch.setattr(os, "access", lambda _path, _mode: False)
    assert plain_request(["check", str(spec)], {}) is None
    assert plain_request(["check", str(tmp_path / "missing.spec")], {}) is not None


# --------------------------------------------------------------------------
# the entry point against click's command alone, as subprocesses

_THROUGH_ENTRY = "import sys; sys.argv = ['specc', *sys.argv[1:]]; " \
                 "from specc.entry import main; main()"
_CLICK_ALONE = "import sys; sys.argv = ['specc', *sys.argv[1:]]; " \
               "from specc.cli import main; main()"

_SPECS = {
    "clean.spec": 'unikernel clean\nmain {\n  print("hi")\n}\n',
    "bad.spec": "unikernel bad\nmain {\n  print(x)\n}\n",
    "warn.spec": 'unikernel warn\nmain {\n  let x = 1\n  print("hi")\n}\n',
    "escape.spec": 'unikernel escape\nmain {\n  print(\x1b[31mx)\n}\n',
}
_RUNS = [
    ["check", "clean.spec"], ["check", "clean.spec", "clean.spec"],
    ["check", "--format", "gcc", "clean.spec"], ["check", "--format=json", "clean.spec"],
    ["check", "-t", "unix", "clean.spec"], ["check", "bad.spec"], ["check", "clean.spec", "bad.spec"],
    ["check", "--format", "gcc", "bad.spec"], ["check", "--format", "json", "bad.spec"],
    ["check", "--color", "always", "bad.spec"], ["check", "warn.spec"],
    ["check", "--format", "gcc", "warn.spec"], ["check", "escape.spec"],
    ["check", "--color=always", "escape.spec"], ["check", "missing.spec"], ["check", "."],
    ["check", "--format", "xml", "clean.spec"], ["check", "-thvt", "clean.spec"], ["check"],
    ["check", "--help"],
]


def _run(program: str, argv: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    proc = subprocess.run([sys.executable, "-c", program, *argv], cwd=cwd, env=env,
                          capture_output=True, timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("argv", _RUNS, ids=" ".join)
def test_the_entry_point_writes_what_click_writes(argv: list[str], tmp_path: Path) -> None:
    for name, text in _SPECS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    through_entry = _run(_THROUGH_ENTRY, argv, tmp_path)
    assert through_entry == _run(_CLICK_ALONE, argv, tmp_path)
    if argv in (["check", "clean.spec"], ["check", "bad.spec"]):
        assert through_entry[0] == (0 if argv[1] == "clean.spec" else 1)  # it did check


# --------------------------------------------------------------------------
# the hand-over, in this process


def _counting_check_file(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = api.check_file

    def check_file(path: str, target: str = "hvt") -> api.CheckResult:
        calls.append(path)
        return real(path, target=target)

    monkeypatch.setattr(api, "check_file", check_file)
    monkeypatch.setattr(gc, "freeze", lambda: None)  # keep this process's collector as it is
    return calls


def _through_entry(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["specc", *argv])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    code = stopped.value.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize("name", ["clean.spec", "bad.spec", "warn.spec"])
def test_a_check_is_made_once(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / name).write_text(_SPECS[name], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    calls = _counting_check_file(monkeypatch)
    status = _through_entry(["check", name, name], monkeypatch)
    assert status == (1 if name == "bad.spec" else 0)
    assert calls == [name, name]
    assert (capsys.readouterr().err == "") == (name == "clean.spec")
    assert cli_check._handed_over == {}


def test_an_interrupted_check_is_aborted_as_click_aborts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    calls = _counting_check_file(monkeypatch)

    def interrupted(path: str, target: str = "hvt") -> api.CheckResult:
        calls.append(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "check_file", interrupted)
    assert _through_entry(["check", "a.spec"], monkeypatch) == 1
    through_entry = capsys.readouterr()
    assert calls == ["a.spec"]  # not checked again by click
    with pytest.raises(SystemExit) as stopped:
        specc.cli.main.main(args=["check", "a.spec"], prog_name="specc")
    assert stopped.value.code == 1
    assert capsys.readouterr() == through_entry
    assert through_entry.err == "\nAborted!\n"
