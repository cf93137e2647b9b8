"""tables.marshal, the decoded tables.json kept by scripts/setup.sh: the same
data as decoding the JSON and the same grammar digest as hashing it, used
only for the very bytes it was made from, never trusted when damaged
(issue 13)."""

from __future__ import annotations

import json
import marshal
from pathlib import Path

import pytest

from specc.syntax import tables


def _same(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


GRAMMAR = tables.grammar_text()


def _json(raw: bytes, grammar: str = GRAMMAR) -> tuple[object, str]:
    return json.loads(raw), tables.grammar_digest(grammar)


def test_the_decoded_copy_is_what_json_decodes(tmp_path: Path) -> None:
    target = str(tmp_path / "tables.marshal")
    tables.write_decoded(tables.TABLES_FILE, target)
    raw = tables.TABLES_FILE.read_bytes()
    stored = marshal.loads(Path(target).read_bytes())
    assert stored[2:4] == (raw, GRAMMAR)
    data, digest = tables.decoded(raw, GRAMMAR, target)
    assert _same(data, json.loads(raw))
    assert digest == tables.grammar_digest(GRAMMAR) == json.loads(raw)["grammar_sha256"]
    assert tables.decoded(raw, GRAMMAR, target)[0] is not data  # fresh each time


def test_other_bytes_are_decoded_from_the_json(tmp_path: Path) -> None:
    other = tmp_path / "tables.json"
    other.write_text('{"format": 4, "rules": [[1, "a", "b", true, [false]]]}', encoding="utf-8")
    target = str(tmp_path / "tables.marshal")
    tables.write_decoded(other, target, grammar="start: x")
    raw = other.read_bytes()
    assert tables.decoded(raw, "start: x", target) == _json(raw, "start: x")
    changed = raw.replace(b"true", b"false")
    assert tables.decoded(changed, "start: x", target) == _json(changed, "start: x")
    assert tables.decoded(changed, "start: x", target) != tables.decoded(raw, "start: x", target)
    assert tables.decoded(raw, "start: y", target) == _json(raw, "start: y")
    assert tables.decoded(raw, "start: y", target)[1] != tables.decoded(raw, "start: x", target)[1]


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "other version"])
def test_a_damaged_copy_is_not_trusted(damage: str, tmp_path: Path) -> None:
    target = tmp_path / "tables.marshal"
    tables.write_decoded(tables.TABLES_FILE, str(target))
    good = target.read_bytes()
    raw = tables.TABLES_FILE.read_bytes()
    bad = {"empty": b"", "garbage": b"\x00garbage", "truncated": good[: len(good) // 2],
           "other version": marshal.dumps((tables.DECODED_FORMAT, "2.7.18", raw, GRAMMAR, {},
                                           "0"))}[damage]
    target.write_bytes(bad)
    data, digest = tables.decoded(raw, GRAMMAR, str(target))
    assert _same(data, json.loads(raw))
    assert digest == tables.grammar_digest(GRAMMAR)


def test_without_a_copy_the_json_is_decoded(tmp_path: Path) -> None:
    raw = tables.TABLES_FILE.read_bytes()
    data, digest = tables.decoded(raw, GRAMMAR, str(tmp_path / "none.marshal"))
    assert _same(data, json.loads(raw))
    assert digest == tables.grammar_digest(GRAMMAR)
    with pytest.raises(OSError):
        tables.write_decoded(tables.TABLES_FILE, str(tmp_path / "no such dir" / "t.marshal"))
    assert not (tmp_path / "no such dir").exists()


def test_the_shipped_tables_load_the_same_either_way(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "DECODED_FILE", str(tmp_path / "missing.marshal"))
    from_json = tables.load_tables()
    target = str(tmp_path / "tables.marshal")
    tables.write_decoded(tables.TABLES_FILE, target)
    monkeypatch.setattr(tables, "DECODED_FILE", target)
    assert tables.load_tables() == from_json


def test_with_the_copy_another_grammar_still_gets_no_tables(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(tmp_path / "tables.marshal")
    tables.write_decoded(tables.TABLES_FILE, target)
    monkeypatch.setattr(tables, "DECODED_FILE", target)
    assert tables.read_tables(tables.TABLES_FILE, GRAMMAR) is not None
    assert tables.read_tables(tables.TABLES_FILE, GRAMMAR + "\n// changed\n") is None
