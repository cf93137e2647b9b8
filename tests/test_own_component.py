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
