"""The parsed prelude kept on disk (specc.prelude.cache): the same tree as a
parse, used only when made from exactly the files a parse would read now,
never trusted when damaged, and never needed (issue 13)."""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from specc.api import check_file
from specc.check import loader
from specc.diagnostics import DiagnosticSink
from specc.prelude import cache
from specc.render import render_json

ROOT = Path(__file__).resolve().parent.parent


def _prelude() -> tuple[str, str]:
    path = loader.prelude_path()
    return path, Path(path).read_text(encoding="utf-8")


@pytest.fixture
def written(tmp_path: Path) -> tuple[str, list[str]]:
    """A cache in tmp_path, made with one more file of its own in the stamp."""
    extra = tmp_path / "extra.py"
    extra.write_text("x = 1\n", encoding="utf-8")
    files = [*cache.key_files(), str(extra)]
    path, text = _prelude()
    module, source, problems = loader.parse_prelude(path, text)
    assert problems == ()
    target = str(tmp_path / "prelude.pickle")
    cache.write(path, text, module, source, cache_file=target, files=files)
    return target, files


def test_the_cached_tree_is_the_parsed_tree(written: tuple[str, list[str]]) -> None:
    target, files = written
    path, text = _prelude()
    cached = cache.read(path, text, cache_file=target, files=files)
    assert cached is not None
    parsed, source, _ = loader.parse_prelude(path, text)
    # specc's records show every field, all the way down: same text, same tree.
    assert repr(cached[0]) == repr(parsed)
    assert cached[1] == source
    assert cached[1].line_count == source.line_count
    assert [cached[1].position(k) for k in range(0, len(text), 97)] == \
        [source.position(k) for k in range(0, len(text), 97)]


def test_a_changed_prelude_is_parsed(written: tuple[str, list[str]]) -> None:
    target, files = written
    path, text = _prelude()
    assert cache.read(path, text + "\n", cache_file=target, files=files) is None
    assert cache.read(path, text.replace("fn ", "fn  ", 1), cache_file=target,
                      files=files) is None
    assert cache.read(path + ".moved", text, cache_file=target, files=files) is None
    assert cache.read(path, text, cache_file=target, files=files) is not None


def test_a_changed_source_file_is_parsed(written: tuple[str, list[str]]) -> None:
    target, files = written
    path, text = _prelude()
    Path(files[-1]).write_text("x = 2\n", encoding="utf-8")  # same size, other bytes
    assert cache.read(path, text, cache_file=target, files=files) is None
    assert cache.read(path, text, cache_file=target, files=files[:-1]) is None
    Path(files[-1]).unlink()
    assert cache.read(path, text, cache_file=target, files=files) is None


def _damaged(good: bytes) -> Iterator[bytes]:
    yield b""
    yield b"garbage"
    yield good[: len(good) // 2]
    yield marshal.dumps(("not", "a", "cache"))
    stamp, pickled = marshal.loads(good)
    yield marshal.dumps((stamp, pickled[: len(pickled) // 2]))
    yield marshal.dumps((stamp, b"\x80\x05K\x01."))  # a pickle of 1, not of a tree
    yield marshal.dumps((stamp, pickled.replace(b"specc.ast", b"specc.xyz")))


def test_a_damaged_file_is_never_trusted(written: tuple[str, list[str]]) -> None:
    target, files = written
    path, text = _prelude()
    good = Path(target).read_bytes()
    for bad in _damaged(good):
        Path(target).write_bytes(bad)
        assert cache.read(path, text, cache_file=target, files=files) is None
    Path(target).unlink()
    assert cache.read(path, text, cache_file=target, files=files) is None


def test_an_unwritable_place_leaves_no_cache_and_no_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cache, "CACHE_FILE", str(tmp_path / "no such dir" / "prelude.pickle"))
    assert cache.main() == 0
    assert "not written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_stamp_covers_every_module_the_parse_imports() -> None:
    program = """
import json, sys
before = set(sys.modules)
from specc.check.loader import parse_prelude, prelude_path
path = prelude_path()
parse_prelude(path, open(path, encoding="utf-8").read())
print(json.dumps(sorted(getattr(sys.modules[m], "__file__", None) or ""
                        for m in set(sys.modules) - before if m.startswith("specc"))))
"""
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, check=True)
    imported = {str(Path(f).resolve()) for f in json.loads(proc.stdout)}
    stamped = {str(Path(f).resolve()) for f in cache.key_files()}
    assert len(imported) > 10
    assert imported <= stamped, imported - stamped
    assert str((Path(loader.__file__).parent.parent / "grammar" / "spec.lark").resolve()) \
        in stamped
    assert str((Path(loader.__file__).parent.parent / "syntax" / "tables.json").resolve()) \
        in stamped


@pytest.mark.parametrize("spec", ["dns.spec", "echo.spec", "http.spec", "inventory.spec"])
def test_checks_are_the_same_with_and_without_it(
        spec: str, written: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    target, files = written
    real_read = cache.read
    used: list[bool] = []

    def read(path: str, text: str, cache_file: str | None = None,
             files_: list[str] | None = None) -> object:
        found = real_read(path, text, cache_file=target, files=files)
        used.append(found is not None)
        return found

    reports = []
    for reader in (read, lambda *_args, **_kwargs: None):
        monkeypatch.setattr(cache, "read", reader)
        loader._parsed_prelude.cache_clear()
        result = check_file(str(ROOT / "examples" / spec), target="hvt")
        reports.append((render_json(result.diagnostics), sorted(result.sources),
                        repr(result.program.prelude if result.program else None)))
    loader._parsed_prelude.cache_clear()
    assert used == [True]
    assert reports[0] == reports[1]


def test_what_setup_writes_is_what_a_check_reads(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # scripts/setup.sh runs `python -m specc.prelude.cache`; the loader reads
    # the file with the package's own stamp.
    monkeypatch.setattr(cache, "CACHE_FILE", str(tmp_path / "prelude.pickle"))
    assert cache.main() == 0
    path, text = _prelude()
    assert cache.read(path, text) is not None
    loader._parsed_prelude.cache_clear()
    try:
        module, _ = loader.load_prelude(DiagnosticSink())
        assert repr(module) == repr(loader.parse_prelude(path, text)[0])
    finally:
        loader._parsed_prelude.cache_clear()
