"""Golden files of the code the back ends emit for each shipped example, so
that a change to an emitter shows in review as a change to its output
(issue 8, item 2).

``tests/emit_golden/<example>/<target>/`` holds, for every example of
``examples/`` and every target that builds it:

- ``hvt`` and ``unix``: every file the C back end generates (``app.c``,
  ``instances.h``, one ``inst_*.c`` per instance, the compile-time data
  tables); the run-time sources it links are not generated and not kept;
- ``python``: the image ``NAME.py``, with each verbatim copy of a run-time
  module (a ``# ---- runtime: NAME`` section) cut down to its heading line,
  since those are the run-time files themselves, not emitted code.

An (example, target) pair the target cannot build (E0701) has no directory.
Only the code generation runs (no C compiler), in-process.

``pytest tests/test_emit_golden.py --update-golden`` (or
``SPECC_UPDATE_GOLDEN=1``) rewrites the files from what the back ends emit
now, deletes files and directories they no longer produce, and writes a file
only when it changes.  Read the diff before committing.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from specc.backends.c.emit import generate_c
from specc.backends.python.emit import python_text
from specc.driver import CompileOptions, compile_file
from specc.passes.image import Image

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "emit_golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.spec"))
TARGETS = ("hvt", "unix", "python")
RUNTIME_SECTION = re.compile(r"^(# ---- runtime: .*\n)(?:(?!# ---- ).*\n)*", re.MULTILINE)


def emitted(image: Image) -> dict[str, str]:
    """File name -> text of what the back end generates for ``image``."""
    if image.target == "python":
        text = RUNTIME_SECTION.sub(lambda m: m.group(1), python_text(image))
        return {f"{image.name}.py": text}
    with tempfile.TemporaryDirectory() as directory:
        return dict(generate_c(image, Path(directory)).files)


def current(example: str, target: str) -> dict[str, str] | None:
    compilation = compile_file(str(ROOT / "examples" / f"{example}.spec"),
                               CompileOptions(target=target))
    if compilation.image is None:
        codes = {d.code for d in compilation.diagnostics if d.is_error}
        assert codes == {"E0701"}, [d.message for d in compilation.diagnostics]
        return None
    return emitted(compilation.image)


def stored(directory: Path) -> dict[str, str] | None:
    if not directory.is_dir():
        return None
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}


def rewrite(directory: Path, files: dict[str, str] | None) -> None:
    if files is None:
        if directory.exists():
            shutil.rmtree(directory)
        return
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_emitted_code_matches_golden(example: str, target: str, update_golden: bool) -> None:
    directory = GOLDEN / example / target
    now = current(example, target)
    if update_golden:
        rewrite(directory, now)
        return
    before = stored(directory)
    if now == before:
        return
    if now is None or before is None:
        pytest.fail(f"{example} on {target}: " + ("no longer builds" if now is None
                    else "builds now and has no golden files") +
                    "; run pytest tests/test_emit_golden.py --update-golden")
    diff: list[str] = []
    for name in sorted(set(now) | set(before)):
        diff += difflib.unified_diff(before.get(name, "").splitlines(keepends=True),
                                     now.get(name, "").splitlines(keepends=True),
                                     f"golden/{name}", f"emitted/{name}")
    pytest.fail(f"{example} on {target} emits different code; if intended, run "
                "pytest tests/test_emit_golden.py --update-golden\n" + "".join(diff[:200]))


def test_emitting_twice_gives_the_same_text() -> None:
    # The golden files are only useful if emitting is deterministic.
    for target in TARGETS:
        assert current("inventory", target) == current("inventory", target)


def test_every_example_has_golden_files() -> None:
    # A test that cannot fail is no test: every example builds on some target.
    assert EXAMPLES and all((GOLDEN / e).is_dir() for e in EXAMPLES)
