"""`specc compile --depfile` under the real make and ninja (issue 8, deliverable 4).

The Makefile and build.ninja are the ones docs/build-systems.md shows,
taken from it, run on copies of examples/http.spec (unix: a C image, with
its runtime sources in the depfile) and examples/dns.spec (python): a first
build builds both; a second does nothing; a touched zone file rebuilds the
DNS image only; a file added to the site directory rebuilds the HTTP image
only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOC = (ROOT / "docs" / "build-systems.md").read_text(encoding="utf-8")
SPECC = Path(sys.executable).with_name("specc")
IMAGES = ("out/http/http", "out/dns/dns.py")


def doc_block(language: str) -> str:
    match = re.search(rf"```{language}\n(# (?:Makefile|build\.ninja).*?)```", DOC, re.S)
    assert match is not None, f"docs/build-systems.md has no {language} block"
    return match.group(1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("http.spec", "dns.spec"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    shutil.copytree(EXAMPLES / "site", tmp_path / "site")
    shutil.copytree(EXAMPLES / "zones", tmp_path / "zones")
    return tmp_path


def stamps(project: Path) -> dict[str, int]:
    return {image: (project / image).stat().st_mtime_ns for image in IMAGES}


def run(project: Path, command: list[str]) -> str:
    env = {**os.environ, "PATH": f"{SPECC.parent}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run(command, cwd=project, capture_output=True, text=True,
                               timeout=300, check=False, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def later() -> None:
    # Let the clock move past the last build's timestamps (nanosecond mtimes).
    time.sleep(0.05)


def exercise(project: Path, command: list[str], nothing_to_do: str) -> None:
    run(project, command)
    first = stamps(project)
    assert run(project, command).count(nothing_to_do) == 1
    assert stamps(project) == first

    later()
    (project / "zones" / "example.org.zone").touch()
    run(project, command)
    after_zone = stamps(project)
    assert after_zone["out/dns/dns.py"] > first["out/dns/dns.py"]
    assert after_zone["out/http/http"] == first["out/http/http"]

    later()
    (project / "site" / "new.txt").write_text("added\n", encoding="utf-8")
    run(project, command)
    after_site = stamps(project)
    assert after_site["out/http/http"] > after_zone["out/http/http"]
    assert after_site["out/dns/dns.py"] == after_zone["out/dns/dns.py"]
    assert nothing_to_do in run(project, command)


def test_make(project: Path) -> None:
    (project / "Makefile").write_text(doc_block("make"), encoding="utf-8")
    exercise(project, ["make", "--no-print-directory"], "Nothing to be done")
    depfile = (project / "out" / "http" / "http.d").read_text(encoding="utf-8")
    assert depfile.startswith(f"out/http/http: \\\n  {project / 'http.spec'} \\\n")
    assert f"  {project / 'site' / 'new.txt'} \\\n" in depfile
    assert f"  {project / 'site'} \\\n" in depfile


def test_ninja(project: Path) -> None:
    (project / "build.ninja").write_text(doc_block("ninja"), encoding="utf-8")
    exercise(project, ["ninja"], "no work to do")
    # ninja keeps the dependencies in its log: the zone and the runtime are there.
    deps = run(project, ["ninja", "-t", "deps"])
    assert str(project / "zones" / "example.org.zone") in deps
    assert "/runtime/core/sc.c" in deps and str(project / "site") in deps
