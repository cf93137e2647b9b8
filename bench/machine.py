"""What the scripts in bench/ share: what every benchmark records about the
machine it ran on, where its results go, how it parses its arguments and
stops what it started.

The scripts import this first and then call leave_bench_path(): bench/dns.py
would otherwise hide dnspython's `dns` package while bench/ is on sys.path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = ROOT / "bench" / "results"


def leave_bench_path(*front: Path) -> None:
    """Take bench/ off sys.path and put `front` (tests/, whose helpers several
    scripts use; the repository) first.  Python puts a script's folder first
    on sys.path, where bench/dns.py hides dnspython's `dns`, which specc and
    the tests' helpers import; so a script imports what it needs from bench/
    (this module, dns_servers) before it calls this, and the rest after."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
    sys.path[:0] = [str(path) for path in front]


def positive_int(text: str) -> int:
    """An argparse type: a count or a duration of at least 1 (a run of 0 rounds
    would fail at the end, after the benchmark, on an empty median)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


# Set (to anything but empty), a script parses its arguments, prints them as
# JSON and exits 0 without running: tests/test_bench_scripts.py checks so that
# the "Reproduce:" lines of bench/results still parse, without a benchmark.
PARSE_ONLY = "SPECC_BENCH_PARSE_ONLY"


class _Parser(argparse.ArgumentParser):
    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: None = None) -> argparse.Namespace:
        parsed = super().parse_args(args, namespace)
        if os.environ.get(PARSE_ONLY):
            print(json.dumps(vars(parsed), default=str, sort_keys=True))
            raise SystemExit(0)
        return parsed


def argument_parser(doc: str | None, script: str) -> argparse.ArgumentParser:
    """The argument parser of the bench script at path `script` (its
    __file__): named bench/NAME.py, as the "Reproduce:" lines of bench/results
    spell it, with its docstring's first paragraph as the description and the
    rest after the options (verbatim: the docstrings are laid out by hand)."""
    head, _, rest = (doc or "").strip().partition("\n\n")
    return _Parser(prog=f"bench/{Path(script).name}", description=head, epilog=rest or None,
                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _claim(directory: Path, base: str) -> Path:
    """The first of BASE, BASE-2, BASE-3, ... with neither a .json nor a .md in
    `directory`, both created empty here, exclusively: a run started beside
    this one cannot take the same name between the check and the write."""
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(1, 1000):
        stem = directory / (base if number == 1 else f"{base}-{number}")
        created: list[Path] = []
        try:
            for suffix in (".json", ".md"):
                path = Path(f"{stem}{suffix}")
                path.open("x").close()
                created.append(path)
        except FileExistsError:
            for path in created:
                path.unlink()
            continue
        return stem
    raise RuntimeError(f"{directory}: {base} up to {base}-999 are all taken")


def write_results(name: str, date: str, record: object, markdown: str,
                  directory: Path = RESULTS, *, stem: Path | None = None) -> Path:
    """Write one run's record to DIRECTORY/NAME-DATE.json and its report to
    .md, and return that stem.  A result recorded before is never overwritten:
    when NAME-DATE is taken (either file), the run gets NAME-DATE-2, then -3...
    Pass the returned stem back as `stem` to rewrite the same run's files
    (bench/differential.py writes after every batch)."""
    if stem is None:
        stem = _claim(directory, f"{name}-{date}")
    Path(f"{stem}.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    Path(f"{stem}.md").write_text(markdown, encoding="utf-8")
    return stem


def stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Stop a process the benchmark started, by its PID: SIGTERM, then SIGKILL
    after ``timeout`` seconds; bounded either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def _command_output(args: list[str]) -> str:
    try:
        completed = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError:
        return "unknown"
    return completed.stdout.strip() or "unknown"


def load_average() -> str:
    """The 1, 5 and 15-minute load averages: how busy the shared machine was."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or "unknown"
    commit = _command_output(["git", "rev-parse", "--short", "HEAD"])
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "uname": _command_output(["uname", "-a"]),
        "cpu": cpu,
        "nproc": str(os.cpu_count() or "unknown"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "commit": commit + ("-dirty" if dirty not in ("", "unknown") else ""),
        # Other work on the machine skews the timings; the load says how much.
        "load_average": load_average(),
    }
