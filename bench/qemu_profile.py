"""Where a QEMU process's time goes while it serves: its CPU per thread, and
(with `perf`) its samples split by thread and by the code they ran.

bench/dns.py uses this for every QEMU row (the hvt image and the Linux guest,
over user networking and over tap), in one profiled pass after the measured
rounds, so that the sampling does not touch the qps it reports (issue 13,
item 2: "where the hvt image's time goes under load: guest, QEMU device
model, networking backend").

QEMU names its threads when it is started with THREAD_NAMES
(`-name debug-threads=on`): the vCPU is `CPU 0/TCG` (or `CPU 0/KVM`), the
main loop, which runs the device model's bottom halves and the networking
backend, keeps the process's name.  perf's `cpu-clock` event is a software
timer, so it samples on machines whose PMU a VM does not expose; code that
TCG translated for the guest lies in anonymous memory, which perf reports as
`[unknown]` (or as a JIT map).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

THREAD_NAMES = ("-name", "specc-bench,debug-threads=on")
MAIN_LOOP = "main loop"  # the thread whose id is the process's


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (NSD serves from a process it forks;
    `ip netns exec` execs QEMU in place)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue  # it exited meanwhile
    return found


def thread_cpu(pid: int, main: str | None = None) -> dict[str, float]:
    """User + system CPU seconds of every thread of `pid` and the processes
    below it, summed by thread name; `pid`'s own main thread is named `main`
    when given (MAIN_LOOP for QEMU)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for process in process_tree(pid):
        try:
            tasks = list(Path(f"/proc/{process}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                name = (main if main is not None and task.name == str(pid)
                        else (task / "comm").read_text().strip())
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            except (OSError, IndexError, ValueError):
                continue  # the thread exited meanwhile
            totals[name] = totals.get(name, 0.0) + seconds
    return totals


def cpu_delta(before: dict[str, float], after: dict[str, float],
              seconds: float) -> dict[str, float]:
    """CPU seconds per second of each thread between two thread_cpu() reads
    (threads under 0.5% of a core are left out)."""
    rates = {name: (after[name] - before.get(name, 0.0)) / seconds for name in after}
    return {name: round(rate, 3) for name, rate in sorted(rates.items(), key=lambda kv: -kv[1])
            if rate >= 0.005}


@dataclass(frozen=True)
class Share:
    """One line of the split: the share of the process's samples that
    `thread` spent in `code` (a shared object, the host kernel, or the
    guest's translated code), and in `symbol` when the split is by symbol."""

    thread: str
    code: str
    percent: float
    symbol: str = ""


def perf_available() -> str | None:
    """None when `perf record -e cpu-clock` can sample here, else why not."""
    if shutil.which("perf") is None:
        return "perf is not installed (Debian package linux-perf: scripts/setup.sh)"
    probe = subprocess.run(["perf", "stat", "-e", "cpu-clock", "true"], capture_output=True,
                           text=True, timeout=30, check=False)
    if probe.returncode != 0:
        return f"perf cannot sample: {' '.join(probe.stderr.split()[-12:])}"
    return None


def _code_name(dso: str) -> str:
    """A perf DSO as the split names it."""
    if dso in ("[unknown]", "") or dso.startswith(("[JIT]", "perf-", "//anon")):
        return "guest code (TCG-translated)"
    if dso.startswith("[kernel"):
        return "host kernel"
    return Path(dso).name


def parse_report(text: str, pid: int, least: float = 0.5, main: str | None = None) -> list[Share]:
    """Shares of at least `least` percent from `perf report --stdio -t '|'
    --sort pid,dso[,sym]` output, lines like `12.34% |  4242:CPU 0/TCG|[unknown]`
    (perf's "pid" there is the thread's id); the thread `pid` is named
    `main` when given."""
    shares: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 3 or not cells[0].endswith("%"):
            continue
        try:
            percent = float(cells[0].rstrip("%"))
        except ValueError:
            continue
        tid, _, comm = cells[1].partition(":")
        thread = main if main is not None and tid.strip() == str(pid) else comm.strip()
        symbol = cells[3].removeprefix("[k] ").removeprefix("[.] ") if len(cells) > 3 else ""
        key = (thread, _code_name(cells[2]), symbol)
        shares[key] = shares.get(key, 0.0) + percent
    return [Share(thread, code, round(percent, 1), symbol)
            for (thread, code, symbol), percent in sorted(shares.items(), key=lambda kv: -kv[1])
            if percent >= least]


@dataclass(frozen=True)
class Split:
    """A profile of one process: by thread and code, and by symbol within."""

    by_code: list[Share]
    by_symbol: list[Share]


def perf_split(pid: int, seconds: float, main: str | None = None) -> Split:
    """Sample `pid` and the processes below it (every thread) for `seconds`
    with perf's software clock and split the samples by thread and code, and
    by symbol (those of at least 1.5%); `main` names `pid`'s main thread.
    Raises RuntimeError when perf fails."""
    with tempfile.TemporaryDirectory(prefix="specc-perf-") as work:
        data = Path(work) / "perf.data"
        record = subprocess.run(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-p",
             ",".join(map(str, process_tree(pid))),
             "-o", str(data), "--", "sleep", f"{seconds:g}"],
            capture_output=True, text=True, timeout=seconds + 60, check=False)
        if record.returncode != 0 or not data.exists():
            raise RuntimeError(f"perf record failed: {record.stderr.strip()}")
        reports = []
        for keys in ("pid,dso", "pid,dso,sym"):
            report = subprocess.run(
                ["perf", "report", "-i", str(data), "--stdio", "-t", "|", "--no-children",
                 "--sort", keys],
                capture_output=True, text=True, timeout=120, check=False)
            if report.returncode != 0:
                raise RuntimeError(f"perf report failed: {report.stderr.strip()}")
            reports.append(report.stdout)
        return Split(parse_report(reports[0], pid, main=main),
                     parse_report(reports[1], pid, least=1.5, main=main))
