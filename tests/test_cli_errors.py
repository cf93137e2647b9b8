"""Every command-line error is a coded diagnostic, in all three formats, with
the documented exit status (issue 12, items 2 and 6).

Each case runs three ways: the installed ``specc`` script in a subprocess
(``--format json``: the diagnostic is on stdout, nothing else is), the CLI
in-process with click's ``CliRunner`` in the pretty, gcc and json formats,
and the library function that makes the diagnostic, rendered by
``specc.render``.  The docs' example of every E08xx code is run as well.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from specc import api
from specc.cli import main
from specc.cli_errors import COMMAND_LINE, CommandLine, unknown_name, usage_problem
from specc.codes import CODES
from specc.driver import CompileOptions, compile_file
from specc.fmt.files import format_file
from specc.render import render_gcc, render_json, render_pretty

ROOT = Path(__file__).resolve().parent.parent
SPECC = Path(sys.executable).with_name("specc")
FORMATS = ("pretty", "gcc", "json")
UNFORMATTED = "unikernel demo\nmain {   print(\"hi\")   }\n"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory holding demo.spec (examples/echo.spec), the working directory."""
    shutil.copy(ROOT / "examples" / "echo.spec", tmp_path / "demo.spec")
    (tmp_path / "messy.spec").write_text(UNFORMATTED, encoding="utf-8")
    (tmp_path / "latin1.toml").write_bytes(b"[config]\nport = 53 # caf\xe9\n")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    code: str
    status: int
    file: str = COMMAND_LINE  # where the diagnostic points
    word: str | None = None  # the word of the command line under the caret
    message: str = ""  # a part of the message
    # The text of <command line> when it is not the command as typed: the
    # middle end shows each `-D` as a line of its own.
    line: str | None = None


def case(command: str, code: str, status: int, **fields: Any) -> Any:
    return pytest.param(Case(tuple(shlex.split(command)), code, status, **fields), id=command)


CASES = [
    case("compile demo.spec --bogus", "E0801", 2, word="--bogus",
         message="unknown option `--bogus` for `specc compile`"),
    case("check --colour never demo.spec", "E0801", 2, word="--colour"),
    case("run demo.spec -t python --max-size=100", "E0801", 2, word="--max-size=100"),
    case("compiel demo.spec", "E0801", 2, word="compiel", message="unknown command"),
    case("check --color purple demo.spec", "E0802", 2, word="purple",
         message="invalid value for option `--color`: `purple` is not one of its choices"),
    case("graph demo.spec --as pdf", "E0802", 2, word="pdf"),
    case("run demo.spec -t python --net tap", "E0802", 2, word="tap",
         message="`--net tap` is for hvt images"),
    case("compile demo.spec -o", "E0802", 2, word="-o", message="option `-o` needs a value"),
    case("compile -t unx demo.spec", "E0803", 2, word="unx", message="unknown target `unx`"),
    case("check --target=pyhton demo.spec", "E0803", 2, word="--target=pyhton"),
    case("explain -tfoo demo.spec port", "E0803", 2, word="-tfoo"),
    case("compile", "E0804", 2, message="`specc compile` needs argument `FILE`"),
    case("compile demo.spec other.spec", "E0804", 2, word="other.spec"),
    case("explain demo.spec prot", "E0805", 1, word="prot", message="`prot` is not a device"),
    case("graph demo.spec -o demo.spec/graph.dot", "E0806", 1, word="demo.spec/graph.dot"),
    case("compile demo.spec -t python -o out --depfile demo.spec/x.d", "E0806", 1,
         word="demo.spec/x.d"),
    case("compile demo.spec -D port", "E0402", 1, message="`-D port` is not of the form",
         word="port", line="-D port"),
    case("compile demo.spec --config .", "E0405", 1, file=".",
         message="cannot read config file `.`: it is a directory"),
    case("compile demo.spec --config nope.toml", "E0405", 1, file="nope.toml"),
    case("compile demo.spec --config latin1.toml", "E0405", 1, file="latin1.toml",
         message="not UTF-8"),
    case("check .", "E0104", 1, file=".", message="is a directory"),
    case("compile .", "E0104", 1, file=".", message="is a directory"),
    case("check nope.spec", "E0104", 1, file="nope.spec", message="No such file"),
    case("compile nope.spec", "E0104", 1, file="nope.spec", message="No such file"),
    case("fmt nope.spec", "E0104", 1, file="nope.spec", message="No such file"),
    case("explain . port", "E0104", 1, file="."),
]


def with_format(argv: tuple[str, ...], output_format: str) -> list[str]:
    # Right after the command's name, so it cannot be taken for the value of
    # an option the case leaves without one (`compile demo.spec -o`).
    return [argv[0], "--format", output_format, *argv[1:]]


def invoke(argv: list[str]) -> Any:
    return CliRunner().invoke(main, argv, prog_name="specc")


def check_located(found: dict[str, Any], expected: Case, argv: list[str]) -> None:
    assert found["code"] == expected.code
    assert found["file"] == expected.file
    assert expected.message in found["message"]
    if expected.file == COMMAND_LINE:
        line = expected.line or CommandLine.of(argv).source.text
        under = line[found["column"] - 1 : found["end_column"] - 1]
        if expected.word is not None:
            assert under == shlex.quote(expected.word), (line, found)
        else:
            assert found["column"] == found["end_column"] == len(line) + 1  # just past the end


@pytest.mark.parametrize("expected", CASES)
def test_through_the_installed_script_in_json(expected: Case, work: Path) -> None:
    argv = with_format(expected.argv, "json")
    completed = subprocess.run([str(SPECC), *argv], capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == expected.status, completed.stderr
    assert completed.stderr == ""
    assert "Traceback" not in completed.stdout
    [found] = json.loads(completed.stdout)
    check_located(found, expected, argv)


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("expected", CASES)
def test_in_process_in_every_format(expected: Case, output_format: str, work: Path) -> None:
    argv = with_format(expected.argv, output_format)
    result = invoke(argv)
    assert result.exit_code == expected.status, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if output_format == "json":
        assert result.stderr == ""
        [found] = json.loads(result.stdout)
        check_located(found, expected, argv)
    elif output_format == "gcc":
        assert result.stderr == ""
        first = result.stdout.splitlines()[0]
        assert re.match(rf"{re.escape(expected.file)}:1:\d+: error\[{expected.code}\]: ", first)
        assert expected.message in first
    else:
        assert result.stdout == ""
        assert f"error[{expected.code}]: " in result.stderr
        assert expected.message in result.stderr
        assert f" --> {expected.file}:1:" in result.stderr
        assert result.stderr.endswith("error: 1 error emitted\n")
        if expected.word is not None and expected.line is None:  # the caret is under the word
            lines = result.stderr.splitlines()
            text = next(x for x in lines if x.startswith("1 | "))[4:]
            carets = lines[lines.index("1 | " + text) + 1][4:]
            start = carets.index("^")
            assert text[start : len(carets)] == shlex.quote(expected.word)


def test_a_bad_format_value_is_reported_in_pretty(work: Path) -> None:
    result = invoke(["check", "demo.spec", "--format", "yaml"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error[E0802]: invalid value for option `--format`: `yaml` is not one" in result.stderr
    assert "= help: one of `pretty`, `gcc`, `json`" in result.stderr


def test_words_after_double_dash_are_not_options(work: Path) -> None:
    # After `--`, `--format json` is two file names, not specc's format.
    result = invoke(["check", "--bogus", "--", "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error[E0801]: unknown option `--bogus`" in result.stderr


# --- the library: the same diagnostics, made without the CLI --------------------------


def parse_error(argv: list[str]) -> click.ClickException:
    """The exception click raises for ``specc ARGV`` (the command's own
    parser, not the group that turns it into a report)."""
    command = main.commands[argv[0]]
    with pytest.raises(click.ClickException) as raised:
        command.make_context(argv[0], argv[1:], parent=click.Context(main, info_name="specc"))
    return raised.value


def test_library_renders_usage_problems_in_every_format() -> None:
    argv = ["compile", "-t", "unx", "demo.spec"]
    diagnostic, source, status = usage_problem(parse_error(argv), argv)
    assert (diagnostic.code, status) == ("E0803", 2)
    assert diagnostic.hint == "did you mean `unix`?"
    assert render_gcc([diagnostic]).startswith(
        "<command line>:1:18: error[E0803]: unknown target `unx`\n")
    assert json.loads(render_json([diagnostic]))[0]["end_column"] == 21
    pretty = render_pretty([diagnostic], {COMMAND_LINE: source}, color=False)
    assert "1 | specc compile -t unx demo.spec\n  |                  ^^^\n" in pretty


def test_library_unknown_option_and_explain_name() -> None:
    argv = ["check", "--formt", "json", "x.spec"]
    diagnostic, _, status = usage_problem(parse_error(argv), argv)
    assert (diagnostic.code, status, diagnostic.hint) == ("E0801", 2, "did you mean `--format`?")
    explained, source = unknown_name(["explain", "a.spec", "prot"], "prot", "a.spec",
                                     ["port", "udp4"])
    assert explained.code == "E0805" and explained.hint == "did you mean `port`?"
    assert render_gcc([explained]).splitlines()[0].startswith("<command line>:1:22: error[E0805]")
    assert "1 | specc explain a.spec prot" in render_pretty([explained], {COMMAND_LINE: source},
                                                           color=False)


def test_library_file_and_override_problems(work: Path) -> None:
    assert [d.code for d in api.check_file(".").diagnostics] == ["E0104"]
    defined = compile_file("demo.spec", CompileOptions("python", ("port",)))
    assert [d.code for d in defined.diagnostics] == ["E0402"]
    configured = compile_file("demo.spec", CompileOptions("python", (), "."))
    assert [(d.code, d.span.file) for d in configured.diagnostics] == [("E0405", ".")]
    for rendered in (render_gcc(configured.diagnostics), render_json(configured.diagnostics)):
        assert "E0405" in rendered


# --- fmt never loses the file ------------------------------------------------------------


def test_fmt_write_failure_keeps_the_file_in_process(work: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    outcome = format_file("messy.spec", write=True)
    assert outcome.error is not None and outcome.error.code == "E0806"
    assert outcome.error.message == "cannot write `messy.spec`: No space left on device"
    assert outcome.error.hint == "`messy.spec` was left as it was"
    result = invoke(["fmt", "messy.spec", "--format", "gcc"])
    assert result.exit_code == 1
    assert result.stdout.startswith("messy.spec:1:1: error[E0806]: cannot write `messy.spec`")
    assert (work / "messy.spec").read_text(encoding="utf-8") == UNFORMATTED
    assert sorted(p.name for p in work.iterdir()) == ["demo.spec", "latin1.toml", "messy.spec"]


def limit_file_size() -> None:
    # Writes past 16 bytes fail with EFBIG (SIGXFSZ ignored): a full disk, even for root.
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_fmt_write_failure_keeps_the_file_through_the_script(work: Path) -> None:
    completed = subprocess.run([str(SPECC), "fmt", "messy.spec", "--format", "json"],
                               capture_output=True, text=True, timeout=60, check=False,
                               preexec_fn=limit_file_size)
    assert completed.returncode == 1, completed.stderr
    [found] = json.loads(completed.stdout)
    assert found["code"] == "E0806"
    assert found["message"] == "cannot write `messy.spec`: File too large"
    assert (work / "messy.spec").read_text(encoding="utf-8") == UNFORMATTED
    assert sorted(p.name for p in work.iterdir()) == ["demo.spec", "latin1.toml", "messy.spec"]


# --- graph without Graphviz ------------------------------------------------------------------


@pytest.mark.parametrize("output_format", FORMATS)
def test_graph_without_graphviz(work: Path, output_format: str) -> None:
    # The script's interpreter is an absolute path, so an empty PATH only hides `dot`.
    completed = subprocess.run(
        [str(SPECC), "graph", "demo.spec", "--as", "svg", "--format", output_format],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "PATH": ""})
    assert completed.returncode == 1, completed.stderr
    report = completed.stderr if output_format == "pretty" else completed.stdout
    assert "E0807" in report and "Graphviz's `dot` is not installed" in report
    assert "`--as dot` writes DOT without it" in report
    if output_format == "json":
        [found] = json.loads(completed.stdout)
        check_located(found, Case((), "E0807", 1, word="svg"),
                      ["graph", "demo.spec", "--as", "svg", "--format", "json"])


# --- -t on every command ---------------------------------------------------------------------


TARGET_SPEC = """unikernel demo

devices {
  log = console_log()
}

main {
  log.info("{target}")
}
"""


@pytest.mark.parametrize("command", [
    ["check", "demo.spec"],
    ["compile", "demo.spec", "--dump-after", "config"],
    ["run", "demo.spec", "--print-command"],
    ["explain", "demo.spec", "port"],
    ["graph", "demo.spec"],
    ["fmt", "--check", "demo.spec"],
    ["new", "fresh"],
])
def test_every_command_takes_t(command: list[str], work: Path) -> None:
    result = invoke([*command, "-t", "python"])
    assert result.exit_code == 0, result.output
    if command[0] == "graph":
        assert "echo (target python)" in result.stdout  # the target changes the graph
    if command[0] == "new":
        assert "specc run fresh/fresh.spec -t python" in result.stderr


def test_check_t_changes_what_is_checked(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = api.check_file

    def spy(path: str, *, target: str = "hvt") -> Any:
        seen.append(target)
        return real(path, target=target)

    monkeypatch.setattr(api, "check_file", spy)
    assert invoke(["check", "-t", "unix", "demo.spec"]).exit_code == 0
    assert seen == ["unix"]


def test_lsp_t_is_the_default_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from specc.lsp import server

    started: list[str] = []
    monkeypatch.setattr(server.SpeccLanguageServer, "start_io",
                        lambda self: started.append(self.documents.settings.target))
    assert invoke(["lsp", "-t", "unix"]).exit_code == 0
    assert invoke(["lsp"]).exit_code == 0
    assert started == ["unix", "hvt"]


def test_run_says_where_an_image_parameter_goes(work: Path) -> None:
    result = invoke(["run", "demo.spec", "--max-size=100"])
    assert result.exit_code == 2
    assert "= note: a parameter of the image goes after `--`: `specc run FILE -- --max-size" \
        in result.stderr


def test_run_hands_the_words_after_double_dash_to_the_image(work: Path) -> None:
    result = invoke(["run", "demo.spec", "-t", "python", "-o", "out", "--print-command", "-q",
                     "--", "--max-size=100"])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("out/echo.py --max-size=100")


def test_run_writes_a_depfile(work: Path) -> None:
    result = invoke(["run", "demo.spec", "-t", "python", "-o", "out",
                                       "--depfile", "out/demo.d", "--print-command", "-q"])
    assert result.exit_code == 0, result.output
    rule = (work / "out" / "demo.d").read_text(encoding="utf-8")
    assert rule.startswith("out/echo.py: \\\n") and "/demo.spec \\\n" in rule


# --- the docs' examples ------------------------------------------------------------------------


DOC = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(c for c in CODES if c.startswith("E08")))
def test_the_docs_example_gives_its_code(code: str, work: Path) -> None:
    found = re.search(rf"^### {code} .*?```text\n(specc .*?)\n```", DOC, re.M | re.S)
    assert found is not None, code
    argv = shlex.split(found.group(1))[1:]
    env = {**os.environ, "PATH": ""} if code == "E0807" else None
    completed = subprocess.run([str(SPECC), *argv, "--format", "gcc"], capture_output=True,
                               text=True, timeout=60, check=False, env=env)
    assert f"error[{code}]" in completed.stdout.splitlines()[0], completed.stdout
    assert completed.returncode == (2 if code <= "E0804" else 1)


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_failure_of_specc_in_a_command_is_e9001(work: Path, output_format: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from specc import dot

    def explode(result: object) -> str:
        raise KeyError("oops")

    monkeypatch.setattr(dot, "to_dot", explode)
    result = invoke(["graph", "demo.spec", "--format", output_format])
    assert result.exit_code == 3
    report = result.stderr if output_format == "pretty" else result.stdout
    assert "Traceback" not in report
    if output_format == "json":
        [found] = json.loads(report)
        assert (found["code"], found["file"]) == ("E9001", "demo.spec")
        assert found["message"] == "internal compiler error: KeyError: 'oops'; please report this bug"
    else:
        assert "E9001" in report and "raised at " in report and "explode" in report


@pytest.mark.parametrize("command", [
    ["graph", "demo.spec"],
    ["explain", "demo.spec", "port", "--json"],
    ["compile", "demo.spec", "--dump-after", "fold"],
    ["run", "demo.spec", "-t", "python", "-o", "out", "-q", "--print-command"],
])
def test_a_product_on_stdout_sends_the_report_to_stderr(command: list[str], work: Path) -> None:
    result = invoke([*command, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stderr) == []
    assert "[]" not in result.stdout.splitlines()
    if "--json" in command:
        assert json.loads(result.stdout)[0]["name"] == "port"
