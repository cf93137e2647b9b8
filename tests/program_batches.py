"""Differential testing: random programs (tests/random_programs.py) run by
the compile-time evaluator (tests/evaluated_run.py) and by the python, unix
and hvt images must print the same text and stop the same way, trap
messages and their positions included.  tests/test_differential.py runs a
bounded number; bench/differential.py runs many and records the count.

Many programs share one spec (a batch), so that each target is compiled
once and QEMU boots stay few.  Program ``i`` is the function ``p{i}_run``;
`main` runs the programs from ``--start`` on, in order, each after a line
``== i``:

    for k in config.start..N { print("== {k}"); match k { 0 => p0_run() ... } }

A run of an image therefore covers programs up to the first that stops the
image (a trap or `exit`); the runner starts the image again after that one,
so every program runs once, in a process (or a boot) of its own or after
programs that returned normally.  Each program uses only its own top-level
`var`s, so what ran before it does not change what it does.  The evaluator
runs each ``p{i}_run`` by itself.

A program whose constant part traps when the compiler folds it (E0304) has
no run-time behaviour to compare: it is left out of the batch and counted.
Any other diagnostic is a bug (of the generator, or of the checker) and
fails the batch.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from evaluated_run import Stopped, run_function
from random_programs import DECLARATIONS, PARAMS, Program
from targets import NotBuilt, build, build_sanitized, run

from specc.backends.c.build import BuildError
from specc.driver import CompileOptions, compile_file
from specc.evaluate import EvalError, NotConstant
from specc.values import Value

SPEC_NAME = "programs.spec"
MARKER = re.compile(r"^== (\d+)\n", re.M)
# Runners, in the order reports show them; the evaluator is the reference.
RUNNERS = ("evaluator", "python", "unix", "unix-sanitized", "hvt")
# Compile-time traps: the program's constant part traps when folded.
FOLDED_TRAPS = frozenset({"E0304"})


class BatchError(Exception):
    """The batch could not be compiled or run (the message says where)."""


@dataclass(frozen=True)
class Mismatch:
    index: int
    program: str  # its source, as in the spec
    results: dict[str, Stopped]

    def describe(self) -> str:
        lines = [f"program {self.index} does not behave the same everywhere:", self.program]
        for runner, result in self.results.items():
            lines.append(f"--- {runner} [exit {result.status}]")
            lines.append(result.output.rstrip("\n"))
        return "\n".join(lines)


@dataclass
class BatchReport:
    compared: int = 0  # programs that ran on every runner
    left_out: int = 0  # programs whose constants trap at compile time
    stops: dict[str, int] = field(default_factory=dict)  # how programs ended: "exit 70"...
    mismatches: list[Mismatch] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per runner, build included

    def add(self, other: BatchReport) -> None:
        self.compared += other.compared
        self.left_out += other.left_out
        for stop, count in other.stops.items():
            self.stops[stop] = self.stops.get(stop, 0) + count
        self.mismatches += other.mismatches
        for runner, seconds in other.seconds.items():
            self.seconds[runner] = self.seconds.get(runner, 0.0) + seconds


# --- generating -----------------------------------------------------------------------


def generate(count: int, seed: int) -> tuple[list[Program], dict[str, int | str]]:
    """``count`` distinct programs and values for the `param` keys, drawn by
    hypothesis from ``seed``.  In a process of its own (random_programs.py
    run as a script): hypothesis mixes constants from the modules loaded so
    far into what it draws, so only there does the same seed always give
    the same batch."""
    completed = subprocess.run([sys.executable, str(Path(__file__).parent / "random_programs.py"),
                                str(count), str(seed)], capture_output=True, text=True,
                               check=False, timeout=600)
    if completed.returncode != 0:
        raise BatchError(f"generating programs failed:\n{completed.stderr}")
    drawn = json.loads(completed.stdout)
    return [Program(text) for text in drawn["programs"]], drawn["params"]


# --- the spec ------------------------------------------------------------------------


def param_literal(t: str, value: int | str) -> str:
    if t == "string":
        return f'"{value}"'
    assert isinstance(value, int)
    if value == -(2**63):
        return "(-9223372036854775807 - 1)"
    return str(value)


def spec_text(programs: dict[int, Program], params: dict[str, int | str],
              count: int) -> tuple[str, dict[int, tuple[int, int]]]:
    """The batch's spec, and the lines (first, last) of each program."""
    lines = ["unikernel programs", "", "config {", "  param start: u64 = 0"]
    lines += [f"  param {k}: {t} = {param_literal(t, params[k])}" for k, t in PARAMS.items()]
    lines += ["}", "", *DECLARATIONS.splitlines(), ""]
    where: dict[int, tuple[int, int]] = {}
    for index, program in programs.items():
        first = len(lines) + 1
        lines += program.render(f"p{index}_").splitlines()
        where[index] = (first, len(lines))
        lines.append("")
    lines += ["main {", f"  for k in config.start..{count} {{", '    print("== {k}")',
              "    match k {"]
    lines += [f"      {index} => p{index}_run()" for index in programs]
    lines += ["      _ => {}", "    }", "  }", "}"]
    return "\n".join(lines) + "\n", where


def write_batch(programs: list[Program], params: dict[str, int | str],
                work: Path) -> tuple[Path, dict[int, Program], int]:
    """Write the spec of ``programs`` without those that trap at compile
    time; returns the spec, the programs kept (by index) and how many were
    left out."""
    spec = work / SPEC_NAME
    kept = dict(enumerate(programs))
    for _ in range(3):
        text, where = spec_text(kept, params, len(programs))
        spec.write_text(text)
        c = compile_file(str(spec), CompileOptions(target="python"))
        errors = [d for d in c.diagnostics if d.is_error]
        if not errors:
            return spec, kept, len(programs) - len(kept)
        for d in errors:
            owner = next((i for i, (a, b) in where.items() if a <= d.span.line <= b), None)
            if d.code not in FOLDED_TRAPS or owner is None:
                source = kept[owner].render(f"p{owner}_") if owner is not None else text
                raise BatchError(f"{d.code} {d.message} at {SPEC_NAME}:{d.span.line}:"
                                 f"{d.span.column} (a generated program must check clean):\n"
                                 f"{source}")
            kept.pop(owner, None)
    raise BatchError("programs kept trapping at compile time after three rounds")


# --- running --------------------------------------------------------------------------


def split_runs(output: str) -> list[tuple[int, str]]:
    """The output of a run, cut at the `== i` lines: (i, what i printed)."""
    marks = list(MARKER.finditer(output))
    if not marks or marks[0].start() != 0:
        raise BatchError(f"the image printed something before its first program:\n{output}")
    return [(int(m.group(1)), output[m.end():marks[n + 1].start() if n + 1 < len(marks)
                                      else len(output)]) for n, m in enumerate(marks)]


def run_image(image: Path, target: str, count: int) -> dict[int, Stopped]:
    """Every program of a batch's image: each run goes on from the program
    after the one that stopped the last run."""
    results: dict[int, Stopped] = {}
    start = 0
    while start < count:
        outcome = run(image, target, f"--start={start}")
        pieces = split_runs(outcome.output)
        if [i for i, _ in pieces] != list(range(start, start + len(pieces))):
            raise BatchError(f"{target}: programs ran out of order from {start}:\n"
                             f"{outcome.output}")
        for index, text in pieces[:-1]:
            results[index] = Stopped(text, 0)
        last, text = pieces[-1]
        if outcome.status is None:
            raise BatchError(f"{target}: program {last} did not stop through the platform:\n"
                             f"{outcome.output}")
        results[last] = Stopped(text, outcome.status)
        start = last + 1
    return results


def evaluate_all(spec: Path, programs: Iterable[int]) -> dict[int, Stopped]:
    c = compile_file(str(spec), CompileOptions(target="python", stop_after="config"))
    assert c.program is not None and c.config is not None
    params: dict[str, Value] = dict(c.config.param_defaults)
    results: dict[int, Stopped] = {}
    for i in programs:
        try:
            results[i] = run_function(c.program, f"p{i}_run", params)
        except (EvalError, NotConstant) as error:
            # Not a trap: the evaluator could not run it (out of steps, or
            # something it has no value for).  A mismatch, with the reason.
            results[i] = Stopped(f"the evaluator stopped: {error} ({error.span})\n", -1)
    return results


def build_images(spec: Path, work: Path, runners: tuple[str, ...],
                 seconds: dict[str, float]) -> dict[str, Path]:
    images: dict[str, Path] = {}
    for runner in runners:
        begin = time.monotonic()
        try:
            if runner == "unix-sanitized":
                images[runner] = build_sanitized(spec, work / runner)
            elif runner != "evaluator":
                images[runner] = build(spec, runner, work / runner)
        except (BuildError, NotBuilt, subprocess.CalledProcessError) as error:
            # The spec checked clean, so this is a back end's bug.
            detail = getattr(error, "stderr", None) or str(error)
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            raise BatchError(f"{runner}: the batch does not build:\n{detail}") from None
        seconds[runner] = time.monotonic() - begin
    return images


def compare_batch(programs: list[Program], params: dict[str, int | str], work: Path,
                  runners: tuple[str, ...] = RUNNERS) -> BatchReport:
    """Run every program of the batch on every runner; report the ones that
    differ."""
    work.mkdir(parents=True, exist_ok=True)
    spec, kept, left_out = write_batch(programs, params, work)
    report = BatchReport(compared=len(kept), left_out=left_out)
    images = build_images(spec, work, runners, report.seconds)
    results: dict[str, dict[int, Stopped]] = {}
    for runner in runners:
        begin = time.monotonic()
        if runner == "evaluator":
            results[runner] = evaluate_all(spec, kept)
        else:
            target = "unix" if runner == "unix-sanitized" else runner
            results[runner] = run_image(images[runner], target, len(programs))
        report.seconds[runner] = report.seconds.get(runner, 0.0) + time.monotonic() - begin
    reference = results[runners[0]]
    for index, program in kept.items():
        seen = {runner: results[runner][index] for runner in runners}
        stop = f"exit {reference[index].status}"
        report.stops[stop] = report.stops.get(stop, 0) + 1
        if any(result != reference[index] for result in seen.values()):
            report.mismatches.append(Mismatch(index, program.render(f"p{index}_"), seen))
    return report


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
