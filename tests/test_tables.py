"""The parser tables ship in the package as JSON checked against the
grammar's hash, never as a pickle in a shared directory (issue 8, item 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from specc.syntax import tables
from specc.syntax.tables import (
    TABLES_FILE,
    generated_text,
    grammar_text,
    load_tables,
    read_tables,
)

REGENERATE = "the grammar changed: run `.venv/bin/python -m specc.syntax.tables` and commit " \
    "specc/syntax/tables.json"


def test_the_shipped_tables_are_those_of_the_grammar() -> None:
    assert read_tables(TABLES_FILE, grammar_text()) is not None, REGENERATE


def test_the_shipped_file_is_what_the_generator_writes() -> None:
    # Byte for byte: the generator numbers states in a fixed order, whatever
    # order lark computed them in.
    assert TABLES_FILE.read_text(encoding="utf-8") == generated_text(), REGENERATE


def test_tables_of_another_grammar_are_not_used(tmp_path: Path) -> None:
    data = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    foreign = tmp_path / "tables.json"
    for key, value in (("grammar_sha256", "0" * 64), ("format", tables.FORMAT + 1)):
        foreign.write_text(json.dumps({**data, key: value}), encoding="utf-8")
        assert read_tables(foreign, grammar_text()) is None
    # Broken rows with the right hash are refused too, not half used.
    foreign.write_text(json.dumps({**data, "gotos": data["gotos"][:3]}), encoding="utf-8")
    assert read_tables(foreign, grammar_text()) is None
    for text in ("", "{", "[1, 2]", '{"format": 4}'):
        foreign.write_text(text, encoding="utf-8")
        assert read_tables(foreign, grammar_text()) is None


def test_without_a_valid_file_the_tables_come_from_lark(tmp_path: Path) -> None:
    missing = load_tables(tmp_path / "nothing.json")
    shipped = load_tables()
    # The same automaton (lark may number it differently): as many states and
    # the same start symbols, and no file was written.
    assert len(missing.actions) == len(shipped.actions)
    assert set(missing.start_states) == set(shipped.start_states) == {"expr", "file"}
    assert list(tmp_path.iterdir()) == []


def test_check_reads_nothing_from_the_temporary_directory(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    # A planted pickle with the old cache's name pattern would be ignored; so is anything.
    (temporary / "specc-tables-0123.pickle").write_bytes(b"not a pickle")
    spec = tmp_path / "app.spec"
    spec.write_text("unikernel app\nmain {\n  print(\"hi\")\n}\n", encoding="utf-8")
    code = ("import sys, specc\n"
            f"result = specc.check_file({str(spec)!r})\n"
            "print(len(result.diagnostics), 'lark' in sys.modules, 'pickle' in sys.modules)\n")
    env = {**os.environ, "TMPDIR": str(temporary)}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=env, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "0 False False\n"  # no lark, no pickle at start-up
    assert sorted(p.name for p in temporary.iterdir()) == ["specc-tables-0123.pickle"]
