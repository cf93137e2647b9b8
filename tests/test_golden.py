"""Golden tests for diagnostics.

A case is either a file ``tests/golden/<name>.spec``, or a directory
``tests/golden/<name>/`` whose ``main.spec`` is the application file and whose
other ``.spec`` files (at any depth) are files it may ``use``.

The expected diagnostics are written inline, as marker lines placed directly
after the line that the diagnostic's primary span starts on::

    main {
      print(prot)
    #^ E0101 9: unknown name `prot` [hint: did you mean `config.port`?]
    }

that is ``#^ <code> <column>: <message>``, followed by `` [hint: <hint>]``
when the diagnostic has a hint (a newline inside a message or hint is written
``\\n``, and the case's directory, when a message names a path in it, is
written ``<case>/`` so that the expectations do not depend on where the
repository is).  Several markers may follow one line, in the order the checker
reports them.  A marker line starts with ``#^`` in column 1.  Notes are not
shown by markers (``tests/test_api.py`` checks some).

Before checking, every marker line is removed from every file of the case,
together with the line break that precedes it; line numbers refer to that
stripped text.  (So a marker placed after the empty last "line" of a file
that ends in a newline, e.g. for an end-of-file error, still describes a file
that ends in exactly one newline.)  The stripped application file is checked
with :func:`specc.api.check_source` at its real path, with the stripped used
files as overlays, for target ``hvt`` -- or the target named by a first line
``# target: unix`` (or ``python``) of the application file.

The test compares the lists of (file, line, column, code, message, hint), in
order, and on a mismatch shows a unified diff between the case as written and
the case as ``--update-golden`` would rewrite it.  A diagnostic in the prelude,
or an internal error (E9001), always fails a golden case.

``pytest tests/test_golden.py --update-golden`` (or ``SPECC_UPDATE_GOLDEN=1``)
rewrites the markers instead: old ones are removed and fresh ones inserted;
no other line is touched, and a file is only written when it changes.  Read
every rewritten marker before committing: the markers are the specification.

A case listed in ``KNOWN_CHECKER_BUGS`` has hand-written markers that show the
correct behaviour; it runs as a strict xfail and is never rewritten.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from specc.api import TARGETS, check_source
from specc.codes import CODES
from specc.diagnostics import Diagnostic

GOLDEN = Path(__file__).resolve().parent / "golden"
MARKER_START = "#^"
MARKER_RE = re.compile(r"#\^ (?P<code>[A-Z]\d{4}) (?P<column>[1-9]\d*): (?P<rest>.*)\Z")
TARGET_RE = re.compile(r"#\s*target:\s*(?P<target>\S+)\s*\Z")
INTERNAL_ERROR = "E9001"

CASE_DIR = "<case>/"  # stands for the case's directory in messages (see marker_text)

# Codes of the catalogue that `specc check` does not report (yet): they belong to
# compile-time evaluation, config overrides, compile-time data and target
# selection, to building the image (E07xx), or to the command line (E08xx, tested
# in tests/test_cli_errors.py).
# Every other code must appear in a golden case; when one of these gets a golden
# case, take it out of this set.
NOT_REPORTED_BY_CHECK: frozenset[str] = frozenset({
    "E0801", "E0802", "E0803", "E0804", "E0805", "E0806", "E0807",
    "E0303", "E0304",
    "E0401", "E0402", "E0403", "E0404", "E0405", "E0406",
    "E0601",
    "E0701", "E0702",  # E0702: tests/test_own_component.py
    "W0003", "W0004",
})


class GoldenError(Exception):
    """A golden case that is malformed (not a checker failure)."""


@dataclass(frozen=True)
class Case:
    name: str
    main: Path  # the application file; its directory is the case's directory
    used: tuple[Path, ...]  # the other .spec files of a directory case, sorted

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.main, *self.used)

    def relative(self, path: Path) -> str:
        return path.relative_to(GOLDEN).as_posix()


@dataclass(frozen=True)
class Marker:
    """One expected or actual diagnostic, as the marker line that shows it."""

    file: Path
    line: int  # 1-based, in the stripped text
    text: str  # the whole marker line, e.g. "#^ E0101 13: unknown name `x`"


def discover() -> list[Case]:
    cases: list[Case] = []
    if not GOLDEN.is_dir():
        return cases
    for entry in sorted(GOLDEN.iterdir()):
        if entry.is_file() and entry.suffix == ".spec":
            cases.append(Case(entry.stem, entry, ()))
        elif entry.is_dir():
            main = entry / "main.spec"
            used = tuple(sorted(p for p in entry.rglob("*.spec") if p != main))
            cases.append(Case(entry.name, main, used))
    return cases


# --- marker text -------------------------------------------------------------


def is_marker(line: str) -> bool:
    return line.startswith(MARKER_START)


def strip_markers(path: Path, text: str) -> tuple[str, list[Marker]]:
    """The text without marker lines, and the markers with the stripped line
    each one follows."""
    kept: list[str] = []
    markers: list[Marker] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not is_marker(line):
            kept.append(line)
            continue
        if MARKER_RE.match(line) is None:
            raise GoldenError(f"{path}:{number}: malformed marker {line!r}; expected "
                              "`#^ <code> <column>: <message>` and an optional ` [hint: <hint>]`")
        if not kept:
            raise GoldenError(f"{path}:{number}: a marker must follow the line it is about")
        markers.append(Marker(path, len(kept), line))
    return "\n".join(kept), markers


def insert_markers(stripped: str, markers: Iterable[Marker]) -> str:
    """The inverse of :func:`strip_markers`: ``stripped`` with each marker
    inserted after its line (markers of one line keep their order)."""
    lines = stripped.split("\n")
    after: dict[int, list[str]] = {}
    for marker in markers:
        if not 1 <= marker.line <= len(lines):
            raise GoldenError(f"{marker.file}: no line {marker.line} for marker {marker.text!r}")
        after.setdefault(marker.line, []).append(marker.text)
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        out.append(line)
        out.extend(after.get(number, ()))
    return "\n".join(out)


def _one_line(text: str, case_dir: str | None) -> str:
    if case_dir is not None:
        text = text.replace(case_dir.rstrip(os.sep) + os.sep, CASE_DIR)
    return text.replace("\n", "\\n")


def marker_text(diagnostic: Diagnostic, case_dir: str | None = None) -> str:
    """The marker line for ``diagnostic``; the path ``case_dir`` (where the case
    lives on this machine), when a message names it, is written ``<case>/``."""
    message = _one_line(diagnostic.message, case_dir)
    text = f"{MARKER_START} {diagnostic.code} {diagnostic.span.column}: {message}"
    if diagnostic.hint is not None:
        text += f" [hint: {_one_line(diagnostic.hint, case_dir)}]"
    return text


def case_target(case: Case, main_text: str) -> str:
    first = main_text.split("\n", 1)[0]
    found = TARGET_RE.match(first)
    if found is None:
        return "hvt"
    target = found.group("target")
    if target not in TARGETS:
        raise GoldenError(f"{case.main}:1: unknown target {target!r}; the targets are {TARGETS}")
    return target


# --- running a case ----------------------------------------------------------


@dataclass
class Outcome:
    originals: dict[Path, str]
    stripped: dict[Path, str]
    expected: list[Marker]
    actual: list[Marker]
    problems: list[str]  # failures no update can fix (prelude, internal error)

    def rewritten(self, path: Path) -> str:
        return insert_markers(self.stripped[path], (m for m in self.actual if m.file == path))


def run_case(case: Case) -> Outcome:
    if not case.main.is_file():
        raise GoldenError(f"{case.main}: a directory case needs a `main.spec`")
    originals = {path: path.read_text(encoding="utf-8") for path in case.files}
    stripped: dict[Path, str] = {}
    expected: list[Marker] = []
    for path in case.files:
        stripped[path], markers = strip_markers(path, originals[path])
        expected.extend(markers)

    by_name = {os.path.normpath(str(path)): path for path in case.files}
    result = check_source(
        stripped[case.main],
        path=str(case.main),
        target=case_target(case, stripped[case.main]),
        overlays={str(path): stripped[path] for path in case.used},
    )
    problems: list[str] = []
    actual: list[Marker] = []
    for diagnostic in result.diagnostics:
        where = f"{diagnostic.span}: {diagnostic.code}: {diagnostic.message}"
        if diagnostic.code == INTERNAL_ERROR:
            problems.append(f"internal error (a checker bug) at {where}")
        file = by_name.get(os.path.normpath(diagnostic.span.file))
        if file is None:
            problems.append(f"diagnostic outside the case's files (prelude?) at {where}")
            continue
        actual.append(Marker(file, diagnostic.span.line,
                             marker_text(diagnostic, str(case.main.parent))))
    # Markers can only show one file's diagnostics line by line; the checker
    # already reports them in source order, and a stable sort keeps the order
    # of the diagnostics of one line.
    order = {path: index for index, path in enumerate(case.files)}
    actual.sort(key=lambda m: (order[m.file], m.line))
    expected.sort(key=lambda m: (order[m.file], m.line))
    return Outcome(originals, stripped, expected, actual, problems)


def _key(markers: list[Marker]) -> list[tuple[Path, int, str]]:
    return [(m.file, m.line, m.text) for m in markers]


def diff(case: Case, outcome: Outcome) -> str:
    chunks: list[str] = []
    for path in case.files:
        before = outcome.originals[path]
        after = outcome.rewritten(path)
        if before != after:
            name = case.relative(path)
            chunks.extend(difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True),
                fromfile=f"{name} (expected)", tofile=f"{name} (actual)",
            ))
    text = "".join(chunks)
    return text if text.endswith("\n") else text + "\n"


CASES = discover()

# Cases whose markers show the correct behaviour, which the checker does not
# have yet (each is a checker bug).  They run as strict xfails -- when the bug
# is fixed the case passes, the XPASS fails, and the entry must go -- and
# --update-golden leaves them alone, so that the wrong output is never recorded.
KNOWN_CHECKER_BUGS: dict[str, str] = {}


def _param(case: Case) -> object:
    bug = KNOWN_CHECKER_BUGS.get(case.name)
    marks = [pytest.mark.xfail(strict=True, reason=f"checker bug: {bug}")] if bug else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_golden(case: Case, update_golden: bool) -> None:
    if update_golden and case.name in KNOWN_CHECKER_BUGS:
        pytest.skip("expectation written by hand (known checker bug); not rewritten")
    outcome = run_case(case)
    assert not outcome.problems, "\n".join(outcome.problems)
    if update_golden:
        for path in case.files:
            text = outcome.rewritten(path)
            if text != outcome.originals[path]:
                path.write_text(text, encoding="utf-8")
        return
    if _key(outcome.expected) != _key(outcome.actual):
        pytest.fail(
            f"diagnostics of golden case `{case.name}` differ "
            "(rerun with --update-golden to accept):\n" + diff(case, outcome),
            pytrace=False,
        )


def test_known_bugs_name_cases() -> None:
    assert sorted(set(KNOWN_CHECKER_BUGS) - {case.name for case in CASES}) == []


def test_every_code_has_a_golden_case() -> None:
    shown: set[str] = set()
    for case in CASES:
        for path in case.files:
            _, markers = strip_markers(path, path.read_text(encoding="utf-8"))
            for marker in markers:
                found = MARKER_RE.match(marker.text)
                assert found is not None
                shown.add(found.group("code"))
    wanted = set(CODES) - {INTERNAL_ERROR} - NOT_REPORTED_BY_CHECK
    assert sorted(wanted - shown) == [], "codes without a golden case"
    assert sorted(NOT_REPORTED_BY_CHECK & shown) == [], \
        "these codes have golden cases now: take them out of NOT_REPORTED_BY_CHECK"
    assert sorted(NOT_REPORTED_BY_CHECK - set(CODES)) == [], "codes no longer in the catalogue"


# --- the marker format itself --------------------------------------------------


@pytest.mark.parametrize("text", [
    "a\nb\n",
    "a\nb",
    "",
    "\n",
    "a\n\n\nb\n\n",
    "  indented\n\ttabs  \n",
])
def test_markers_round_trip(text: str) -> None:
    path = Path("x.spec")
    lines = text.split("\n")
    markers = [Marker(path, n, f"#^ E0001 1: m{n}") for n in range(1, len(lines) + 1)]
    markers.append(Marker(path, len(lines), "#^ E0002 2: second on the last line"))
    marked = insert_markers(text, markers)
    stripped, found = strip_markers(path, marked)
    assert stripped == text
    assert _key(found) == _key(markers)
    # Rewriting is deterministic: the same markers give the same file.
    assert insert_markers(stripped, found) == marked


def test_marker_placement() -> None:
    path = Path("x.spec")
    marked = "main {\n  x\n#^ E0101 3: unknown name `x`\n}\n"
    stripped, markers = strip_markers(path, marked)
    assert stripped == "main {\n  x\n}\n"
    assert _key(markers) == [(path, 2, "#^ E0101 3: unknown name `x`")]
    # An end-of-file marker after the empty last line of a file that ends in a newline.
    stripped, markers = strip_markers(path, "main {\n\n#^ E0002 1: eof")
    assert stripped == "main {\n"
    assert [m.line for m in markers] == [2]


@pytest.mark.parametrize("bad", ["#^E0001 1: x", "#^ E0001 x: y", "#^ E0001 0: y", "#^ nope"])
def test_malformed_marker_is_reported(bad: str) -> None:
    with pytest.raises(GoldenError, match="malformed marker"):
        strip_markers(Path("x.spec"), f"main {{\n{bad}\n}}\n")


def test_marker_shows_hint() -> None:
    from specc.span import SourceFile

    span = SourceFile("f.spec", "  prot\n").span(2, 6)
    diagnostic = Diagnostic("E0101", CODES["E0101"].severity, "unknown name `prot`", span,
                            hint="did you mean `port`?")
    assert marker_text(diagnostic) == "#^ E0101 3: unknown name `prot` [hint: did you mean `port`?]"


@pytest.mark.parametrize(("first", "target"), [
    ("# target: unix", "unix"),
    ("#target:python", "python"),
    ("# target: hvt", "hvt"),
    ("unikernel app", "hvt"),
    ("# targets everywhere", "hvt"),
])
def test_case_target(first: str, target: str) -> None:
    case = Case("x", GOLDEN / "x.spec", ())
    assert case_target(case, f"{first}\nmain {{\n}}\n") == target


def test_case_target_must_be_known() -> None:
    with pytest.raises(GoldenError, match="unknown target"):
        case_target(Case("x", GOLDEN / "x.spec", ()), "# target: vms\n")
