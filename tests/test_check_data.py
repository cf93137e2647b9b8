"""``specc check`` reads compile-time data (issue 12, item 3): a zone file or
a ``dir(...)`` that is missing or broken is a located diagnostic, a zone
error quotes the zone's line with a caret under the part at fault, and its
help fits the error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from specc.api import check_source
from specc.check.data import DataCache

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
ZONE = (ROOT / "examples" / "zones" / "example.org.zone").read_text()
SPEC = """unikernel z

config {
  const zone: Zone = zonefile("zones/z.zone")
  const site: Files = dir("site")
}

devices {
  db    = dns_zone(config.zone)
  files = kv_ro(config.site)
}

main {}
"""


def check(cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPECC, "check", "z.spec", "--color", "never", *extra],
                          capture_output=True, text=True, cwd=cwd, timeout=60)


def project(tmp_path: Path, zone: str | None = ZONE, site: bool = True) -> Path:
    (tmp_path / "z.spec").write_text(SPEC)
    (tmp_path / "zones").mkdir()
    if zone is not None:
        (tmp_path / "zones" / "z.zone").write_text(zone)
    if site:
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "index.html").write_text("hi\n")
    return tmp_path


def test_good_data_checks_clean(tmp_path: Path) -> None:
    result = check(project(tmp_path))
    assert result.returncode == 0, result.stderr


def test_a_missing_zone_file_and_directory_are_located_at_their_calls(tmp_path: Path) -> None:
    result = check(project(tmp_path, zone=None, site=False), "--format", "json")
    assert result.returncode == 1
    found = [(d["code"], d["line"], d["column"], d["end_column"]) for d in json.loads(result.stdout)]
    assert found == [("E0501", 4, 22, 46), ("E0502", 5, 23, 34)]


def test_a_zone_error_quotes_its_line_with_a_caret(tmp_path: Path) -> None:
    bad = ZONE.replace("www             IN  A     192.0.2.80", "www             IN  A     192.0.2.800")
    line = bad.split("\n").index("www             IN  A     192.0.2.800") + 1
    result = check(project(tmp_path, zone=bad))
    assert result.returncode == 1
    lines = result.stderr.split("\n")
    at = lines.index(f"  --> zones/z.zone:{line}:27")
    assert lines[at + 2] == f"{line} | www             IN  A     192.0.2.800"
    assert lines[at + 3] == " " * len(str(line)) + " | " + " " * 26 + "^" * 11
    assert "the zone is read here" in result.stderr and "z.spec:4:22" in result.stderr
    assert "help: the data of an A record is an IPv4 address" in result.stderr


def test_a_cname_beside_other_data_gets_a_fitting_help(tmp_path: Path) -> None:
    bad = ZONE + "www IN CNAME alias\n"
    result = check(project(tmp_path, zone=bad), "--format", "json")
    assert result.returncode == 1
    [d] = json.loads(result.stdout)
    assert d["code"] == "E0501" and d["file"] == "zones/z.zone"
    assert d["line"] == len(ZONE.split("\n")) and (d["column"], d["end_column"]) == (1, 4)
    assert "`www` has a CNAME record and other records" in d["message"]
    assert "RFC 1034" in d["hint"] and "$ORIGIN" not in d["hint"]
    www = ZONE.split("\n").index("www             IN  A     192.0.2.80") + 1
    assert [(n["message"], n["line"]) for n in d["notes"]] == [
        ("the record it clashes with", www), ("the zone is read here", 4)]


def test_the_data_cache_reads_a_file_again_only_when_it_changes(tmp_path: Path) -> None:
    project(tmp_path)
    spec = str(tmp_path / "z.spec")
    cache = DataCache()
    assert not check_source(SPEC, spec, data_cache=cache).has_errors
    entry = next(iter(cache.entries.values()))
    # Edited above the call: the same outcome object, moved to the call's new place.
    moved = check_source("\n\n" + SPEC, spec, data_cache=cache)
    assert not moved.has_errors and next(iter(cache.entries.values())) is entry
    (tmp_path / "zones" / "z.zone").write_text("; emptied\n")
    result = check_source("\n\n" + SPEC, spec, data_cache=cache)
    [d] = result.diagnostics
    assert d.code == "E0501" and d.span.line == 6 and "holds no records" in d.message
