"""The shipped examples, and the complete files of the language brief, check clean.

Every ``examples/*.spec`` must check with no diagnostic at all (no warning
either) for every target.  Every fenced code block of LANGUAGE.md that is a
whole file is copied to ``tests/data/language_blocks`` (the brief lives
outside the repository; see ``tests/data/extract_language_blocks.py``) and
must check with no error for every target.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from specc.api import TARGETS, check_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.spec"))
DATA = Path(__file__).resolve().parent / "data"
BLOCKS = sorted((DATA / "language_blocks").glob("*.spec"))
EXTRACTOR = DATA / "extract_language_blocks.py"


def _describe(path: Path, target: str) -> str:
    result = check_file(str(path), target=target)
    return "\n".join(f"{d.span}: {d.code}: {d.message}" for d in result.diagnostics)


def test_there_are_examples_and_blocks() -> None:
    assert EXAMPLES, "no examples/*.spec found"
    assert BLOCKS, "no copied LANGUAGE.md blocks: run tests/data/extract_language_blocks.py"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_checks_without_diagnostics(path: Path, target: str) -> None:
    result = check_file(str(path), target=target)
    assert result.diagnostics == [], _describe(path, target)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("path", BLOCKS, ids=[p.name for p in BLOCKS])
def test_language_block_checks_without_errors(path: Path, target: str) -> None:
    result = check_file(str(path), target=target)
    assert not result.has_errors, _describe(path, target)


def _extractor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_language_blocks", EXTRACTOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_language_blocks_are_up_to_date() -> None:
    """When the brief is at hand (not in CI), the copies must match it."""
    extractor = _extractor()
    source: Path = extractor.DEFAULT_SOURCE
    if not source.is_file():
        pytest.skip(f"{source} is not here (a fresh clone); the copies are checked as they are")
    blocks: list[tuple[str, str]] = extractor.complete_blocks(source.read_text(encoding="utf-8"))
    expected = {name: text for name, text in blocks}
    actual = {p.name: p.read_text(encoding="utf-8") for p in BLOCKS}
    assert actual == expected, "rerun tests/data/extract_language_blocks.py"
