"""Every script in bench/ takes its arguments through argparse: `--help` prints
a usage line and exits 0, an unknown option exits 2 with a message, and
neither runs the benchmark (bench/machine.py argument_parser; issue 13).
The "Reproduce:" command of every recorded result still parses (the scripts
stop after parsing when SPECC_BENCH_PARSE_ONLY is set).

A file in bench/ without a `__main__` block is a helper the scripts import;
those are listed here, so that a new script without one does not go unseen.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
HELPERS = {"machine.py", "dns_servers.py", "qemu_profile.py"}
# Importing a script loads specc, dnspython and test helpers: seconds under load.
TIMEOUT_S = 60


def scripts() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*.py")
                  if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8"))


def reproduce_lines() -> list[tuple[str, tuple[str, ...]]]:
    """(script, arguments) of each distinct "Reproduce:" command in bench/results."""
    found = set()
    for report in (ROOT / "bench" / "results").glob("*.md"):
        for script, args in re.findall(r"Reproduce: `\.venv/bin/python bench/(\w+\.py)([^`]*)`",
                                       report.read_text(encoding="utf-8")):
            found.add((script, tuple(args.split())))
    return sorted(found)


def run(script: str, *args: str, parse_only: bool = False) -> subprocess.CompletedProcess[str]:
    """Run bench/SCRIPT in its own process group, so that if it started a
    benchmark after all, the timeout stops whatever it spawned too."""
    env = {**os.environ, "SPECC_BENCH_PARSE_ONLY": "1"} if parse_only else None
    process = subprocess.Popen([sys.executable, str(BENCH / script), *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env=env)
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
        pytest.fail(f"bench/{script} {' '.join(args)} ran for {TIMEOUT_S} s: "
                    "it did not stop at parsing its arguments")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_every_file_is_a_script_or_a_known_helper() -> None:
    every = {p.name for p in BENCH.glob("*.py")}
    assert every - set(scripts()) == HELPERS
    assert len(scripts()) >= 10  # the glob found bench/ at all


@pytest.mark.parametrize("script", scripts())
def test_help_and_a_bad_option(script: str) -> None:
    helped = run(script, "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith(f"usage: bench/{script} "), helped.stdout[:200]
    assert helped.stderr == ""
    bad = run(script, "--no-such-option")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert bad.stderr.startswith(f"usage: bench/{script} ")
    assert f"\nbench/{script}: error: " in bad.stderr  # zonegen.py: its required arguments
    assert bad.stdout == ""


def test_the_results_have_reproduce_lines() -> None:
    assert len(reproduce_lines()) >= 5  # the pattern still matches how reports say it


@pytest.mark.parametrize(("script", "args"), reproduce_lines())
def test_a_reproduce_line_still_parses(script: str, args: tuple[str, ...]) -> None:
    parsed = run(script, *args, parse_only=True)
    assert parsed.returncode == 0, parsed.stderr
    assert parsed.stdout.startswith("{"), parsed.stdout[:200]  # parsed, then stopped
