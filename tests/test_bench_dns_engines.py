"""bench/dns_engines.py end to end on the small zone (a few seconds): both
engines built, measured in C and in Python, their replies compared, and a
result written where the test says, not into bench/results."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_a_small_run_writes_a_result(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "dns_engines.py"),
                           "--zones", "example.org", "--runs", "1", "--repeats", "1",
                           "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = tmp_path.glob("dns-engines-*.json")
    rows = json.loads(result.read_text())["rows"]
    assert [(row["zone"], row["engine"]) for row in rows] == [
        ("example.org", "precomputed"), ("example.org", "generic")]
    for row in rows:
        assert row["queries"] == 10 and row["replies"] == 10
        assert row["c_object_sections"][".rodata"] > 0 and row["python_literal_bytes"] > 0
        assert row["c_ns_per_query"][0] > 0 and row["python_us_per_query"][0] > 0
    # The precomputed table holds every answer; the records are smaller.
    assert rows[1]["c_object_sections"][".rodata"] < rows[0]["c_object_sections"][".rodata"]
    assert "byte-identical replies" in result.with_suffix(".md").read_text()


def test_an_unknown_zone_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "dns_engines.py"),
                           "--zones", "example.org,nowhere"],
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert proc.returncode == 2
    assert "zones are example.org, generated" in proc.stderr
    assert "Traceback" not in proc.stderr
