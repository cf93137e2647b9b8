"""Start-up of `specc check`: a three-line spec as a subprocess, beside a peer.

    .venv/bin/python bench/startup.py [--runs N] [--peer DIR]... [--instructions]

Times `specc check tiny.spec` (a valid three-line spec: the run is almost all
start-up) and `specc check` of a missing file (interpreter, imports and the
command line, no parsing) with this tree's .venv/bin/specc and, with --peer,
with each DIR/.venv/bin/specc (other checkouts: main before a change, say),
interleaved run by run so that all see the same load.  For each: wall time
(median and best of the runs) and the child's CPU time (user + system,
median), and with --instructions the instructions it ran (valgrind
--tool=callgrind, one run each, PYTHONHASHSEED=0): a count that machine load
does not change, for comparing on a busy machine.

Bar (issue 13, the start-up part of the front-end bar): `specc check` of the
three-line spec in 0.08 s at low load.  Results go to
bench/results/startup-DATE.{md,json} with the machine and its load average.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from machine import ROOT, argument_parser, load_average, machine, positive_int, write_results

BAR_SECONDS = 0.08
TINY = 'unikernel tiny\nmain {\n  print("hi")\n}\n'
CASES = {"tiny": "tiny.spec", "missing": "missing.spec"}


def _run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def _instructions(command: list[str], cwd: Path) -> int | None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           *command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    return int(found.group(1).replace(",", "")) if found else None


def main() -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--runs", type=positive_int, default=21)
    parser.add_argument("--peer", type=Path, action="append", default=[],
                        help="another checkout with its own .venv (repeatable)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with callgrind (slow)")
    arguments = parser.parse_args()
    trees = {"this tree": ROOT}
    for peer in arguments.peer:
        trees[f"peer {peer}"] = peer.resolve()
    executables = {name: tree / ".venv" / "bin" / "specc" for name, tree in trees.items()}
    for name, exe in executables.items():
        if not exe.exists():
            parser.error(f"{name}: no {exe}")
    load_before = load_average()
    walls: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int | None] = {}
    with tempfile.TemporaryDirectory(prefix="specc-startup-") as scratch:
        directory = Path(scratch)
        (directory / CASES["tiny"]).write_text(TINY, encoding="utf-8")
        for _ in range(arguments.runs):
            for case, file in CASES.items():
                for name, exe in executables.items():
                    wall, cpu = _run([str(exe), "check", file], directory)
                    walls.setdefault((name, case), []).append(wall)
                    cpus.setdefault((name, case), []).append(cpu)
        if arguments.instructions:
            for case, file in CASES.items():
                for name, exe in executables.items():
                    counts[name, case] = _instructions([str(exe), "check", file], directory)
    load_after = load_average()
    now = datetime.datetime.now(datetime.UTC)
    host = machine()
    rows: list[dict[str, object]] = []
    table: list[str] = []
    for case in CASES:
        for name in executables:
            key = (name, case)
            wall_median, wall_best = statistics.median(walls[key]), min(walls[key])
            cpu_median, count = statistics.median(cpus[key]), counts.get(key)
            rows.append({"tree": name, "path": str(trees[name]), "case": case,
                         "wall_median_s": wall_median, "wall_best_s": wall_best,
                         "cpu_median_s": cpu_median, "instructions": count})
            shown = f"{count / 1e6:,.0f} M" if count is not None else "n/a"
            table.append(f"| {case} | {name} | {wall_median * 1000:.1f} ms | "
                         f"{wall_best * 1000:.1f} ms | {cpu_median * 1000:.1f} ms | {shown} |")
    record = {"benchmark": "startup", "date": now.isoformat(timespec="seconds"),
              "runs": arguments.runs, "bar_seconds": BAR_SECONDS,
              "load_average_before": load_before, "load_average_after": load_after,
              "machine": host, "results": rows}
    md = [f"# Start-up of `specc check`, {now.date().isoformat()}", "",
          f"Bar (issue 13): `specc check` of a valid three-line spec in {BAR_SECONDS} s at low "
          "load.", "",
          "| case | tree | wall median | wall best | CPU median | instructions |",
          "|:---|:---|---:|---:|---:|---:|"]
    md += table
    md += ["", f"{arguments.runs} runs of each, interleaved; tiny: `specc check tiny.spec` "
           "(three lines, valid); missing: `specc check missing.spec` (no such file: "
           "start-up and the command line only)."
           + ("  Instructions: one run under `valgrind --tool=callgrind`, PYTHONHASHSEED=0."
              if arguments.instructions else ""), "",
           f"Load average: {load_before} before, {load_after} after.", "", "Trees:", ""]
    md += [f"- {name}: `{tree}`" for name, tree in trees.items()]
    md += ["", "Machine:", ""]
    md += [f"- {key}: `{value}`" for key, value in host.items()]
    md += ["", "Reproduce: `.venv/bin/python bench/startup.py --peer DIR --instructions`", ""]
    stem = write_results("startup", now.date().isoformat(), record, "\n".join(md))
    print("\n".join(md))
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
