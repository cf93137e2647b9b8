"""Durations and sizes (LANGUAGE.md v1.1 section 4): division, remainder,
interpolation and `now()`, identical at compile time and on every target.

One spec prints every value twice: once folded at compile time (the
interpolation becomes text in the residual program) and once computed at run
time (added to a top-level `var`, which is never folded).  It runs on the
python, unix and hvt targets (one QEMU boot); every line must be what
``specc.values.format_duration`` gives, which is the rule of
docs/language.md section 4.11.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from specc.api import check_source
from specc.values import format_duration

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
TARGETS = ("python", "unix", "hvt")
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def sample_durations() -> list[int]:
    """Edge cases of every unit and boundary, then seeded random values of
    every magnitude."""
    units = [1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000]
    values = {0, 1, -1, 999, 1_000, 1_001, 1_500, 4_489_020_714, 1_000_000_001,
              60_500_000_000, 90_000_000_000, I64_MAX, I64_MIN, I64_MIN + 1}
    for unit in units:
        for k in (1, 2, 7, 59, 60, 61, 999, 1000, 1001, 1500, 3600, 86_400):
            for delta in (-1, 0, 1):
                n = unit * k + delta
                if I64_MIN <= n <= I64_MAX:
                    values.update((n, -n))
    rng = random.Random(20261202)
    for _ in range(200):
        n = rng.randrange(10 ** rng.randrange(1, 19))
        values.update((n, -n))
    return sorted(v for v in values if I64_MIN <= v <= I64_MAX)


def test_the_rule_on_known_values() -> None:
    expected = {0: "0s", 1: "1ns", 999: "999ns", 1_000: "1us", 1_500: "1.5us",
                250_000_000: "250ms", 1_500_000_000: "1.5s", 4_489_020_714: "4.489s",
                90_000_000_000: "90s", 120_000_000_000: "2m", 5_400_000_000_000: "90m",
                7_200_000_000_000: "2h", 60_500_000_000: "60.5s", 1_000_000_001: "1s",
                1_010_000_000: "1.01s", -1_500_000_000: "-1.5s",
                I64_MIN: "-9223372036.854s"}
    assert {n: format_duration(n) for n in expected} == expected


def literal(n: int) -> str:
    """`n` nanoseconds as a constant specc expression (literals are positive)."""
    if n == I64_MIN:
        return f"(0ns - {I64_MAX}ns - 1ns)"
    return f"{n}ns" if n >= 0 else f"(0ns - {-n}ns)"


def duration_spec(values: list[int]) -> str:
    lines = ["unikernel durations", "var zero: Duration = 0s", "var one: Duration = 1ns",
             "var kib: Size = 1KiB", "", "fn run_time(d: Duration) {", '  print("{zero + d}")',
             "}", "", "main {"]
    for n in values:
        lines.append(f'  print("{{{literal(n)}}}")')  # folded into the text
        lines.append(f"  run_time({literal(n)})")      # formatted at run time
    # Division and remainder, at compile time and at run time.
    lines += ['  print("{4500ms / 1s} {4500ms % 1s} {64KiB / 512B} {(0s - 4500ms) % 1s}")',
              '  print("{(zero + 4500ms) / (one * 1000000000)} {(zero + 4500ms) % (one * 1000000000)}'
              ' {(kib * 64) / (kib / 2)} {(zero - 4500ms) % (one * 1000000000)}")',
              '  print("{(zero - 3s) / (one * 1000000000)}")',  # negative: u64 overflow
              "}"]
    return "\n".join(lines) + "\n"


def run(spec: Path, target: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPECC, "run", str(spec), "-t", target, "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def duration_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[int],
                                                                      dict[str, str]]:
    values = sample_durations()
    directory = tmp_path_factory.mktemp("durations")
    spec = directory / "durations.spec"
    spec.write_text(duration_spec(values))
    outputs = {}
    for target in TARGETS:
        result = run(spec, target, directory / target)
        assert result.returncode == 70, (target, result.stdout[-2000:], result.stderr[-2000:])
        outputs[target] = result.stdout + result.stderr
    return values, outputs


@pytest.mark.parametrize("target", TARGETS)
def test_interpolation_is_identical_at_compile_time_and_run_time(
        duration_runs: tuple[list[int], dict[str, str]], target: str) -> None:
    values, outputs = duration_runs
    lines = [line for line in outputs[target].splitlines()
             if not line.startswith(("listening", "specc:"))]
    expected = [format_duration(n) for n in values for _ in (0, 1)]
    assert len(values) > 500
    assert lines[:len(expected)] == expected
    assert lines[len(expected):len(expected) + 2] == ["4 500ms 128 -500ms",
                                                     "4 500ms 128 -500ms"]
    assert re.fullmatch(r"durations\.spec:\d+:\d+: integer overflow", lines[len(expected) + 2])
    # and identical between targets, trap position included
    assert lines == [x for x in outputs["python"].splitlines()
                     if not x.startswith(("listening", "specc:"))]


def test_division_types_and_compile_time_errors() -> None:
    ok = check_source("unikernel t\nfn f(a: Duration, b: Size) -> u64 {\n"
                      "  let d: Duration = a % 1ms\n  return a / 1ms + b / 1KiB + d / 1us\n}\n"
                      "main { print(\"{f(1s, 1KiB)}\") }\n", "t.spec")
    assert [d.code for d in ok.diagnostics] == []
    bad = check_source("unikernel t\nconfig {\n  const a: u64 = 1s / 0s\n"
                       "  const b: u64 = (0s - 1s) / 1s\n  const c: Size = 1KiB % 1B\n}\n"
                       "main { print(\"{config.a}\") }\n", "t.spec")
    codes = [(d.code, d.span.line) for d in bad.diagnostics]
    assert ("E0206", 5) in codes  # Size % Size is not in the language


NOW_SPEC = """\
unikernel clocked

devices {
  timers = timer()
}

fn later() {
  # The first call of now() in the whole run: it still counts from boot.
  let t = now()
  print("now {t / 1ms}")
  exit(3)
}

main {
  timers.after(400ms, later)
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_now_counts_from_boot(tmp_path: Path, target: str) -> None:
    """`now()` first read 400 ms after boot reads at least 400 ms, not 0 (time
    since its first call) and not hours (the host's time since its own boot)."""
    spec = tmp_path / "clocked.spec"
    spec.write_text(NOW_SPEC)
    result = run(spec, target, tmp_path / "out")
    assert result.returncode == 3, result.stdout + result.stderr
    found = re.search(r"now (\d+)", result.stdout)
    assert found is not None, result.stdout
    assert 400 <= int(found.group(1)) < 60_000
