"""A spec with a component of its own (issue 8, item 5), built and run from a
temporary directory outside the repository on python, unix and hvt.

tests/data/own_component/: `tally.spec` uses `lib/counter.spec`, which
declares `counter(out: Console, const start, const step) -> Counter` with
`impl c "impl/counter.c"` and `impl python "impl/counter.py"`: paths
relative to lib/counter.spec, not to tally.spec or to the working
directory.  The implementations keep a running total (state across calls),
take their constants as docs/components.md says (SC_CONST_start,
`START: Final[int]`) and write to their device parameter when they boot.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from targets import HAVE_GCC, HAVE_QEMU, TARGETS

import specc

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "own_component"
EXPECTED = ("counter ready\nround 1: 12\nround 2: 16\nround 3: 22\nround 4: 30\ntotal 30\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(DATA, copy)
    assert not copy.resolve().is_relative_to(ROOT)
    return copy


@pytest.mark.skipif(not (HAVE_GCC and HAVE_QEMU), reason="needs gcc and QEMU")
def test_a_counter_of_its_own_runs_on_every_target(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"  # the working directory is neither file's
    elsewhere.mkdir()
    outputs = {}
    for target in TARGETS:
        run = subprocess.run([sys.executable, "-m", "specc", "run", str(project / "tally.spec"),
                              "-t", target, "-o", str(tmp_path / target), "--", "--rounds=4"],
                             capture_output=True, text=True, cwd=elsewhere, timeout=300)
        assert run.returncode == 0, (target, run.stdout, run.stderr)
        outputs[target] = run.stdout.replace("\r\n", "\n")
    assert outputs == {t: EXPECTED for t in TARGETS}


def test_the_build_reads_the_implementation_beside_its_declaration(project: Path,
                                                                    tmp_path: Path) -> None:
    result = specc.build(str(project / "tally.spec"), target="python",
                         output_dir=str(tmp_path / "out"))
    assert result.ok, result.diagnostics
    assert str((project / "lib" / "impl" / "counter.py").resolve()) in result.inputs
    assert result.image is not None
    ran = subprocess.run([sys.executable, result.image, "--rounds=1"], capture_output=True,
                         text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (0, "counter ready\nround 1: 12\ntotal 12\n")


@pytest.mark.parametrize(("target", "language"), [("python", "python"), ("unix", "c")])
def test_a_missing_implementation_is_located(project: Path, tmp_path: Path, target: str,
                                             language: str) -> None:
    (project / "lib" / "impl" / f"counter.{'py' if language == 'python' else 'c'}").unlink()
    result = specc.build(str(project / "tally.spec"), target=target,
                         output_dir=str(tmp_path / "out"))
    assert not result.ok and result.image is None
    [error] = [d for d in result.diagnostics if d.is_error]
    assert error.code == "E0701"
    declaring = (project / "lib" / "counter.spec").read_text().splitlines()
    assert error.span.file.endswith("lib/counter.spec")
    assert f'impl {language} "impl/counter.' in declaring[error.span.line - 1]
    assert "does not exist" in error.message
    cli = subprocess.run([sys.executable, "-m", "specc", "compile", str(project / "tally.spec"),
                          "-t", target, "-o", str(tmp_path / "cli")], capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 1 and "E0701" in cli.stdout + cli.stderr
    assert "Traceback" not in cli.stdout + cli.stderr


# ---- an implementation of one's own that does not build: E0702 at its `impl` line

def _impl_line(project: Path, language: str) -> int:
    lines = (project / "lib" / "counter.spec").read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if f'impl {language} "' in text)


def _only_error(project: Path, tmp_path: Path, target: str) -> specc.Diagnostic:
    result = specc.build(str(project / "tally.spec"), target=target,
                         output_dir=str(tmp_path / "out"))
    assert not result.ok and result.image is None
    [error] = [d for d in result.diagnostics if d.is_error]
    return error


def _cli_fails_cleanly(project: Path, tmp_path: Path, target: str) -> str:
    cli = subprocess.run([sys.executable, "-m", "specc", "compile", str(project / "tally.spec"),
                          "-t", target, "-o", str(tmp_path / "cli")], capture_output=True,
                         text=True, timeout=180)
    output = cli.stdout + cli.stderr
    assert cli.returncode == 1, output
    assert "E0702" in output and "E9001" not in output and "Traceback" not in output
    return output


C_TARGETS = pytest.mark.skipif(not HAVE_GCC, reason="needs gcc")


@pytest.mark.parametrize("target", ["python", pytest.param("unix", marks=C_TARGETS),
                                    pytest.param("hvt", marks=C_TARGETS)])
def test_a_missing_operation_is_named_with_its_definition(project: Path, tmp_path: Path,
                                                          target: str) -> None:
    language = "python" if target == "python" else "c"
    impl = project / "lib" / "impl" / f"counter.{'py' if language == 'python' else 'c'}"
    text = impl.read_text()
    if language == "c":
        kept = [line for line in text.splitlines() if "SC_FN(total)" not in line]
    else:
        kept = text.replace("    def total(self) -> int:\n        return self.count\n",
                            "").splitlines()
    assert len(kept) < len(text.splitlines())
    impl.write_text("\n".join(kept) + "\n")
    error = _only_error(project, tmp_path, target)
    assert error.code == "E0702"
    assert error.span.file.endswith("lib/counter.spec")
    assert error.span.line == _impl_line(project, language)
    assert "`total`" in error.message and "`add`" not in error.message
    wanted = "uint64_t SC_FN(total)(void)" if language == "c" else "def total(self)"
    assert any(wanted in note.message for note in error.notes), error.notes
    assert any(note.span is not None and note.span.file.endswith("tally.spec")
               for note in error.notes)
    _cli_fails_cleanly(project, tmp_path, target)


@pytest.mark.parametrize("target", ["python", pytest.param("unix", marks=C_TARGETS),
                                    pytest.param("hvt", marks=C_TARGETS)])
def test_a_file_that_does_not_compile_is_the_users_error(project: Path, tmp_path: Path,
                                                         target: str) -> None:
    language = "python" if target == "python" else "c"
    impl = project / "lib" / "impl" / f"counter.{'py' if language == 'python' else 'c'}"
    broken = "int stray = ;\n" if language == "c" else "def stray(:\n"
    impl.write_text(impl.read_text() + broken)
    error = _only_error(project, tmp_path, target)
    assert error.code == "E0702"
    assert error.span.line == _impl_line(project, language)
    said = "\n".join(note.message for note in error.notes)
    line = len(impl.read_text().splitlines())
    assert f"counter.{'py' if language == 'python' else 'c'}:{line}:" in said, said
    output = _cli_fails_cleanly(project, tmp_path, target)
    assert "does not compile" in output or "does not parse" in output


@C_TARGETS
def test_a_warning_stops_the_hvt_build_as_the_users_error(project: Path, tmp_path: Path) -> None:
    impl = project / "lib" / "impl" / "counter.c"
    impl.write_text(impl.read_text() + "static int spare(void) { int unused; return 0; }\n")
    error = _only_error(project, tmp_path, "hvt")
    assert error.code == "E0702"
    assert any("-Werror=unused-variable" in note.message for note in error.notes), error.notes
    unix = specc.build(str(project / "tally.spec"), target="unix",
                       output_dir=str(tmp_path / "unix"))
    assert unix.ok, unix.diagnostics  # unix builds without -Werror
