"""Golden tests for the middle end: what ``specc compile --dump-after PASS``
prints after each pass, and the diagnostics of specs the middle end rejects.

A case is a directory ``tests/middle_golden/<case>/`` holding

- ``input.spec``: the application file, plus any data files it reads (zone
  files, TOML config files, ...).  A case may make ``input.spec`` (or a data
  directory) a symbolic link, e.g. to ``examples/dns.spec``, so that the
  golden output follows the shipped example;
- ``args`` (optional): command-line arguments of ``specc compile``, one per
  line (``-t`` / ``--target``, ``-D``, ``--config``), e.g.::

      -t
      unix
      -D
      tcp=true

  Blank lines and lines starting with ``#`` are ignored; a ``--config`` path
  is relative to the case's directory;
- the expected outputs:

  - ``after-config.txt``, ``after-devices.txt``, ``after-fold.txt``,
    ``after-dce.txt`` and ``after-image.txt``: the text ``--dump-after
    config|devices|fold|dce|image`` prints, when the compile has no error
    (all but ``after-image.txt`` when the only errors are E0701: the target
    cannot build a kept device);
  - ``diagnostics.txt``: every diagnostic of the whole compile in GCC's
    one-line format (``specc.render.render_gcc``), when there is any
    (errors, or warnings such as W0003 of a spec that compiles).

  In all of them the case's directory is written ``<case>`` and the shipped
  prelude ``<prelude>`` (without a line and column, so that editing the
  prelude does not change every case), so that they do not depend on where
  the repository is.

Cases run in-process (``specc.driver.compile_file`` with ``stop_after`` set
to each pass, then ``specc.dumps.dump``, exactly as the CLI does), which is
much faster than a subprocess per pass; ``tests/test_middle_e2e.py`` checks
that the CLI prints the same text.

``pytest tests/test_middle_golden.py --update-golden`` (or
``SPECC_UPDATE_GOLDEN=1``) rewrites the expected outputs from what the
compiler does now, deletes expectation files a case no longer produces, and
writes a file only when it changes.  Read every rewritten file before
committing: the golden files are the specification.

A case listed in ``KNOWN_MIDDLE_END_BUGS`` has hand-written expectations that
show the correct behaviour.  It runs as a strict xfail and is never
rewritten.  For such a case only the primary lines of ``diagnostics.txt`` are
compared (``note:`` lines are left out on both sides), so that a fix that
words its notes differently still turns the case into an XPASS (a failure
that says: take the entry out and run ``--update-golden``).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from specc.check.loader import prelude_path
from specc.driver import CompileOptions, compile_file
from specc.dumps import dump
from specc.render import render_gcc

GOLDEN = Path(__file__).resolve().parent / "middle_golden"
PASSES = ("config", "devices", "fold", "dce", "image")
DUMP_FILES = tuple(f"after-{name}.txt" for name in PASSES)
DIAGNOSTICS_FILE = "diagnostics.txt"
EXPECTATION_FILES = (*DUMP_FILES, DIAGNOSTICS_FILE)
INTERNAL_ERROR = "E9001"
CASE_DIR = "<case>"
PRELUDE = "<prelude>"
PRELUDE_POSITION = re.compile(r"<prelude>:\d+:\d+")

# The codes the middle end reports (the front end reports the others: see
# NOT_REPORTED_BY_CHECK in tests/test_golden.py).  Each needs a case here.
MIDDLE_END_CODES = frozenset({
    "E0303", "E0304",
    "E0401", "E0402", "E0403", "E0404", "E0405", "E0406",
    "E0501", "E0502",
    "E0601",
    "E0701",
    "W0003", "W0004",
})

# Cases whose expectations show the correct behaviour, which the middle end
# does not have yet (each is a bug).  They run as strict xfails and
# --update-golden leaves them alone, so that the wrong output is never
# recorded.  When a bug is fixed, the case XPASSes (a failure): take its entry
# out and run --update-golden to record the notes too.
KNOWN_MIDDLE_END_BUGS: dict[str, str] = {
}


class GoldenError(Exception):
    """A golden case that is malformed (not a compiler failure)."""


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path

    @property
    def input(self) -> Path:
        return self.directory / "input.spec"

    def expectations(self) -> dict[str, str]:
        """The expected outputs the case has now, by file name."""
        found: dict[str, str] = {}
        for name in EXPECTATION_FILES:
            path = self.directory / name
            if path.is_file():
                found[name] = path.read_text(encoding="utf-8")
        return found


def discover() -> list[Case]:
    if not GOLDEN.is_dir():
        return []
    return [Case(entry.name, entry) for entry in sorted(GOLDEN.iterdir()) if entry.is_dir()]


def read_args(case: Case) -> list[str]:
    path = case.directory / "args"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    return [line for line in lines if line.strip() and not line.startswith("#")]


def options(case: Case, stop_after: str | None) -> CompileOptions:
    """The case's ``args`` as compile options (the subset of the CLI a case may use)."""
    args = iter(read_args(case))
    target = "hvt"
    defines: list[str] = []
    config_file: str | None = None
    for arg in args:
        value = next(args, None)
        if value is None:
            raise GoldenError(f"{case.directory / 'args'}: `{arg}` needs a value on the next line")
        if arg in ("-t", "--target"):
            target = value
        elif arg == "-D":
            defines.append(value)
        elif arg == "--config":
            config_file = str(case.directory / value)
        else:
            raise GoldenError(f"{case.directory / 'args'}: unsupported argument `{arg}` "
                              "(use -t/--target, -D or --config)")
    return CompileOptions(target, tuple(defines), config_file, stop_after)


def normalize(text: str, case: Case) -> str:
    """Machine-independent text: the case's directory and the prelude by name
    (positions in the prelude are left out, so that editing the prelude does
    not change every case)."""
    text = PRELUDE_POSITION.sub(PRELUDE, text.replace(prelude_path(), PRELUDE))
    return text.replace(str(case.directory) + os.sep, CASE_DIR + "/")


@dataclass
class Outcome:
    outputs: dict[str, str]  # by expectation file name
    problems: list[str]  # failures no update can fix (internal error, prelude)


def run_case(case: Case) -> Outcome:
    """What the compiler produces for ``case``."""
    if not case.input.is_file():
        raise GoldenError(f"{case.directory}: a case needs an `input.spec`")
    path = str(case.input)
    whole = compile_file(path, options(case, None))
    outcome = Outcome({}, [])
    for d in whole.diagnostics:
        where = f"{d.span}: {d.code}: {d.message}"
        if d.code == INTERNAL_ERROR:
            outcome.problems.append(f"internal error (a compiler bug) at {where}")
        elif d.span.file == prelude_path():
            outcome.problems.append(f"diagnostic in the prelude at {where}")
    if whole.diagnostics:
        outcome.outputs[DIAGNOSTICS_FILE] = normalize(render_gcc(whole.diagnostics), case)
    # A spec whose only errors say a target cannot build a device (E0701,
    # the image pass) still has its middle end shown, up to dce.
    if whole.has_errors and whole.last_pass != "image":
        return outcome
    for name, file in zip(PASSES, DUMP_FILES, strict=True):
        if name == "image" and whole.has_errors:
            break
        stopped = compile_file(path, options(case, name))
        if stopped.has_errors:  # cannot happen when the whole compile succeeds
            raise AssertionError(f"--dump-after {name} reports errors the whole compile "
                                 f"does not:\n{render_gcc(stopped.diagnostics)}")
        outcome.outputs[file] = normalize(dump(stopped, name), case)
    return outcome


def primary_lines(text: str) -> str:
    """Diagnostics without their `note:` lines (for known-bug cases)."""
    return "".join(line for line in text.splitlines(keepends=True) if ": note: " not in line)


def compared(case: Case, outputs: dict[str, str]) -> dict[str, str]:
    if case.name not in KNOWN_MIDDLE_END_BUGS or DIAGNOSTICS_FILE not in outputs:
        return outputs
    return {**outputs, DIAGNOSTICS_FILE: primary_lines(outputs[DIAGNOSTICS_FILE])}


def diff(expected: dict[str, str], actual: dict[str, str]) -> Iterator[str]:
    for name in EXPECTATION_FILES:
        before, after = expected.get(name), actual.get(name)
        if before == after:
            continue
        yield from difflib.unified_diff(
            (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
            fromfile=f"{name} (expected)" if before is not None else "/dev/null",
            tofile=f"{name} (actual)" if after is not None else "/dev/null",
        )


def write(case: Case, outputs: dict[str, str]) -> None:
    for name in EXPECTATION_FILES:
        path = case.directory / name
        text = outputs.get(name)
        if text is None:
            if path.exists():
                path.unlink()
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


CASES = discover()


def _param(case: Case) -> object:
    bug = KNOWN_MIDDLE_END_BUGS.get(case.name)
    marks = [pytest.mark.xfail(strict=True, reason=f"middle-end bug: {bug}")] if bug else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_middle_golden(case: Case, update_golden: bool) -> None:
    if update_golden and case.name in KNOWN_MIDDLE_END_BUGS:
        pytest.skip("expectation written by hand (known middle-end bug); not rewritten")
    outcome = run_case(case)
    assert not outcome.problems, "\n".join(outcome.problems)
    if update_golden:
        write(case, outcome.outputs)
        return
    expected = case.expectations()
    actual = compared(case, outcome.outputs)
    if expected != actual:
        pytest.fail(f"middle-end output of golden case `{case.name}` differs (rerun with "
                    "--update-golden to accept):\n" + "".join(diff(expected, actual)),
                    pytrace=False)


def test_there_are_cases() -> None:
    assert len(CASES) >= 20


def test_cases_are_well_formed() -> None:
    for case in CASES:
        assert case.input.is_file(), f"{case.name}: no input.spec"
        options(case, None)  # raises on a malformed args file
        found = case.expectations()
        assert found, f"{case.name}: no expected output (run with --update-golden)"
        dumps = [name for name in DUMP_FILES if name in found]
        # All of them; or all but the image's when a target cannot build a device.
        assert dumps in ([], list(DUMP_FILES), list(DUMP_FILES[:-1])), \
            f"{case.name}: some after-*.txt are missing"
        if not dumps:
            assert DIAGNOSTICS_FILE in found, f"{case.name}: neither dumps nor diagnostics"


def test_known_bugs_name_cases() -> None:
    assert sorted(set(KNOWN_MIDDLE_END_BUGS) - {case.name for case in CASES}) == []


def test_every_middle_end_code_has_a_case() -> None:
    shown: set[str] = set()
    for case in CASES:
        text = case.expectations().get(DIAGNOSTICS_FILE, "")
        shown.update(code for code in MIDDLE_END_CODES if f"[{code}]" in text)
    assert sorted(MIDDLE_END_CODES - shown) == []


# --- the harness itself --------------------------------------------------------


def test_args_are_read(tmp_path: Path) -> None:
    (tmp_path / "args").write_text("# a comment\n-t\nunix\n\n-D\ntcp=true\n--config\nc.toml\n",
                                   encoding="utf-8")
    got = options(Case("x", tmp_path), "fold")
    assert got == CompileOptions("unix", ("tcp=true",), str(tmp_path / "c.toml"), "fold")


@pytest.mark.parametrize("text", ["-t\n", "--dump-after\nfold\n", "-o\nout\n"])
def test_bad_args_are_reported(tmp_path: Path, text: str) -> None:
    (tmp_path / "args").write_text(text, encoding="utf-8")
    with pytest.raises(GoldenError):
        options(Case("x", tmp_path), None)


def test_normalize_names_the_case_and_the_prelude(tmp_path: Path) -> None:
    case = Case("x", tmp_path)
    text = f"{tmp_path}/input.spec:1:2: error\n{prelude_path()}:3:4: note (at {prelude_path()})\n"
    assert normalize(text, case) == "<case>/input.spec:1:2: error\n<prelude>: note (at <prelude>)\n"


def test_primary_lines_leave_out_notes() -> None:
    text = "a.spec:1:1: error[E0303]: x\na.spec:1:1: note: hint: y\nb.spec:2:2: note: z\n"
    assert primary_lines(text) == "a.spec:1:1: error[E0303]: x\n"
