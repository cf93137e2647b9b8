"""bench/machine.py write_results: a benchmark never overwrites a result
recorded before; a second run of the same day gets NAME-DATE-2, then -3
(issue 13: bench/dns.py wrote over the morning's run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "bench"))  # at the back: bench/dns.py must not hide dnspython

from machine import write_results  # noqa: E402

DATE = "2026-12-03"


def files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}


def test_a_second_and_third_run_of_the_day_get_new_names(tmp_path: Path) -> None:
    first = write_results("dns", DATE, {"run": 1}, "# one\n", tmp_path)
    second = write_results("dns", DATE, {"run": 2}, "# two\n", tmp_path)
    third = write_results("dns", DATE, {"run": 3}, "# three\n", tmp_path)
    assert [first.name, second.name, third.name] == [f"dns-{DATE}", f"dns-{DATE}-2",
                                                     f"dns-{DATE}-3"]
    written = files(tmp_path)
    assert written[f"dns-{DATE}.md"] == "# one\n"
    assert json.loads(written[f"dns-{DATE}.json"]) == {"run": 1}
    assert json.loads(written[f"dns-{DATE}-2.json"]) == {"run": 2}
    assert written[f"dns-{DATE}-3.md"] == "# three\n"
    assert len(written) == 6


def test_either_file_alone_takes_the_name(tmp_path: Path) -> None:
    (tmp_path / f"size-{DATE}.json").write_text("recorded\n")
    (tmp_path / f"size-{DATE}-2.md").write_text("recorded too\n")
    stem = write_results("size", DATE, [], "new\n", tmp_path)
    assert stem == tmp_path / f"size-{DATE}-3"
    assert (tmp_path / f"size-{DATE}.json").read_text() == "recorded\n"
    assert (tmp_path / f"size-{DATE}-2.md").read_text() == "recorded too\n"
    # No half-claimed name is left behind by the names that were taken.
    assert sorted(files(tmp_path)) == [f"size-{DATE}-2.md", f"size-{DATE}-3.json",
                                       f"size-{DATE}-3.md", f"size-{DATE}.json"]


def test_other_names_and_dates_do_not_count(tmp_path: Path) -> None:
    (tmp_path / f"dns-profile-{DATE}.md").write_text("x")
    (tmp_path / "dns-2026-12-02.md").write_text("x")
    assert write_results("dns", DATE, {}, "", tmp_path).name == f"dns-{DATE}"


def test_the_same_run_rewrites_its_own_files(tmp_path: Path) -> None:
    """bench/differential.py writes after every batch, into one pair of files."""
    write_results("differential", DATE, {"run": "earlier"}, "earlier\n", tmp_path)
    stem = write_results("differential", DATE, {"batches": 1}, "one batch\n", tmp_path)
    again = write_results("differential", DATE, {"batches": 2}, "two batches\n", tmp_path,
                          stem=stem)
    assert again == stem == tmp_path / f"differential-{DATE}-2"
    assert json.loads(Path(f"{stem}.json").read_text()) == {"batches": 2}
    assert Path(f"{stem}.md").read_text() == "two batches\n"
    assert Path(tmp_path / f"differential-{DATE}.md").read_text() == "earlier\n"


def test_the_directory_is_made_and_the_json_is_utf8(tmp_path: Path) -> None:
    stem = write_results("middle", DATE, {"phase": "100 → 1,000"}, "→\n", tmp_path / "new")
    assert Path(f"{stem}.json").read_text(encoding="utf-8") == '{\n  "phase": "100 → 1,000"\n}\n'
