"""The differential test's longer run: many batches of random programs
(tests/program_batches.py), each run by the compile-time evaluator, python,
unix, unix under ASan+UBSan and hvt, and compared program by program.

    .venv/bin/python bench/differential.py [--batches 15] [--size 40] [--seed 1000]
                                           [--minutes 20]

Batch i draws its programs and `param` values from seed SEED + i, so a
mismatch can be reproduced from the seed alone.  Stops after the given
number of batches or once the time is up, whichever comes first, and
records in bench/results/differential-DATE.{md,json} how many programs it
compared, how many it left out (their constant part traps when folded),
how the compared ones ended, every mismatch with its program, and the
machine, its load average and the other busy processes (peers) of the run.
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from machine import (  # bench/machine.py, before bench/ leaves sys.path
    ROOT,
    argument_parser,
    leave_bench_path,
    load_average,
    machine,
    positive_int,
    write_results,
)

leave_bench_path(ROOT / "tests")

from program_batches import BatchError, BatchReport, compare_batch, generate  # noqa: E402

PEER_COMMANDS = ("qemu-system-x86", "cc1", "pytest", "python3", "nsd", "dnsperf")


def peers() -> dict[str, int]:
    """Other processes that compete for the CPU, by command (this run's own
    children included while they run)."""
    mine = os.getpid()
    counts: Counter[str] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == mine:
            continue
        try:
            command = (entry / "comm").read_text().strip()
        except OSError:
            continue
        for peer in PEER_COMMANDS:
            if command.startswith(peer[:15]):
                counts[peer] += 1
    return dict(sorted(counts.items()))


def main() -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--batches", type=positive_int, default=15)
    parser.add_argument("--size", type=positive_int, default=40, help="programs per batch")
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first batch")
    parser.add_argument("--minutes", type=float, default=20.0)
    args = parser.parse_args()

    begin = time.monotonic()
    deadline = begin + args.minutes * 60
    info = machine()
    peers_at_start = peers()
    total = BatchReport()
    batches: list[dict[str, object]] = []
    failures: list[str] = []
    out: Path | None = None  # the run's results, named at the first write
    with tempfile.TemporaryDirectory(prefix="differential-") as work:
        for i in range(args.batches):
            if time.monotonic() > deadline:
                break
            seed = args.seed + i
            programs, params = generate(args.size, seed)
            try:
                report = compare_batch(programs, params, Path(work) / str(seed))
            except BatchError as error:
                failures.append(f"seed {seed}: {error}")
                print(f"seed {seed}: batch failed: {str(error).splitlines()[0]}", flush=True)
                continue
            total.add(report)
            batches.append({"seed": seed, "params": params, "compared": report.compared,
                            "left_out": report.left_out, "mismatches": len(report.mismatches)})
            print(f"seed {seed}: {report.compared} compared, {report.left_out} left out, "
                  f"{len(report.mismatches)} mismatches", flush=True)
            # After every batch, so that a run cut short still says what it found.
            out = record(info, peers_at_start, batches, total, failures, begin, out)
    out = record(info, peers_at_start, batches, total, failures, begin, out)
    print(f"{total.compared} programs compared, {len(total.mismatches)} mismatches, "
          f"{len(failures)} failed batches; {out}.md")
    return 1 if total.mismatches or failures else 0


def record(info: dict[str, str], peers_at_start: dict[str, int], batches: list[dict[str, object]],
           total: BatchReport, failures: list[str], begin: float, stem: Path | None) -> Path:
    """Write the results so far to `stem` (a new name when None); the stem."""
    elapsed = time.monotonic() - begin
    info = {**info, "load_average_end": load_average()}
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": info,
        "peers_at_start": peers_at_start,
        "peers_at_end": peers(),
        "batches": batches,
        "programs_compared": total.compared,
        "programs_left_out": total.left_out,
        "stops": dict(sorted(total.stops.items())),
        "mismatches": [m.describe() for m in total.mismatches],
        "failed_batches": failures,
        "seconds": round(elapsed, 1),
        "seconds_per_runner": {k: round(v, 1) for k, v in total.seconds.items()},
    }
    return write_results("differential", str(result["date"]), result, markdown(result),
                         stem=stem)


def markdown(r: dict[str, object]) -> str:
    m = r["machine"]
    assert isinstance(m, dict)
    stops = r["stops"]
    assert isinstance(stops, dict)
    mismatches = r["mismatches"]
    failures = r["failed_batches"]
    batches = r["batches"]
    assert isinstance(mismatches, list) and isinstance(failures, list)
    assert isinstance(batches, list)
    lines = [
        f"# Differential run, {r['date']}",
        "",
        "Random well-typed programs (tests/random_programs.py), each run by the compile-time "
        "evaluator, python, unix, unix under ASan+UBSan and hvt (QEMU, TCG); output and exit "
        "status compared program by program (bench/differential.py).",
        "",
        f"- batches: {len(batches)} (seeds {batches[0]['seed'] if batches else '-'} on), "
        f"{r['seconds']} s",
        f"- **programs compared on all five runners: {r['programs_compared']}**",
        f"- left out (their constant part traps when folded, E0304): {r['programs_left_out']}",
        "- how they ended: " + ", ".join(f"{k}: {v}" for k, v in stops.items()),
        f"- mismatches: {len(mismatches)}; failed batches: {len(failures)}",
        f"- seconds per runner (build included): {r['seconds_per_runner']}",
        "",
        f"Machine: `{m['uname']}`, {m['cpu']}, {m['nproc']} CPUs, {m['python']}, commit "
        f"{m['commit']}; load {m['load_average']} at the start, {m['load_average_end']} at "
        f"the end; peers (other busy processes) {r['peers_at_start']} at the start, "
        f"{r['peers_at_end']} at the end.",
        "",
    ]
    for text in [*mismatches, *failures]:
        lines += ["```", str(text), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
