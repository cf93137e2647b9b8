"""Density: how many idle examples/dns.spec hvt images one host runs.

    .venv/bin/python bench/density.py [N ...]      # default 25 50 100 200

For each N, N copies of the same image, each its own QEMU (TCG, `-m 2`,
the smallest that serves: bench/size.py) on its own forwarded UDP port,
are started and each is asked until it answers (bounded).  Then:

- host memory: the QEMUs' proportional set size (PSS, from
  /proc/PID/smaps_rollup: shared library pages split between them) and
  resident set size, summed, and MemAvailable before and after;
- host CPU while idle: the QEMUs' CPU time (/proc/PID/stat) over IDLE_S
  seconds with no traffic, as a share of one core and of the whole host;
- answer latency: one `www.example.org A` to each image in turn, round
  trip from the client, p50, p99 and max (a query unanswered within 1 s
  is lost).

Every QEMU is stopped by its PID (SIGTERM, then SIGKILL after 10 s) before
the next N, and when anything fails.  The machine is shared: the load
average is recorded before and after each N.  Results in
bench/results/density-DATE.{md,json}.  Bar (issue 13): 200 images, every one
answering within 10 ms, host CPU under 20% while idle.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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

from dns_queries import make  # noqa: E402
from test_c_targets import compile_c  # noqa: E402
from test_dns_vs_nsd import free_port  # noqa: E402

from specc.backends.c.build import qemu_command  # noqa: E402

MEMORY_MIB = 2
IDLE_S = 10.0
READY_S = 180.0  # for all N images to answer once
LOST_S = 1.0
BAR_IMAGES = 200
BAR_LATENCY_MS = 10.0
BAR_IDLE_HOST = 0.20
TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in KiB."""
    pss = rss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
        elif line.startswith("Rss:"):
            rss = int(line.split()[1])
    return pss, rss


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


_next_id = 0


def ask_once(sock: socket.socket, port: int, query: bytes, timeout: float) -> float | None:
    """Round trip of one query in seconds, or None when no answer came in time.
    Each query has an ID of its own, and only a reply with it, from that
    port, counts: a late reply to an earlier query must not read as a fast one."""
    global _next_id
    _next_id = (_next_id + 1) & 0xFFFF
    query = _next_id.to_bytes(2, "big") + query[2:]
    sock.settimeout(timeout)
    started = time.monotonic()
    sock.sendto(query, ("127.0.0.1", port))
    while True:
        try:
            reply, source = sock.recvfrom(4096)
        except (TimeoutError, ConnectionRefusedError):
            return None
        if reply[:2] == query[:2] and source[1] == port:
            return time.monotonic() - started
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            return None
        sock.settimeout(remaining)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def run_n(image: Path, n: int) -> dict[str, Any]:
    load_before = load_average()
    available_before = mem_available_kib()
    ports: list[int] = []
    while len(ports) < n:  # distinct: the kernel may hand a just-closed port out again
        port = free_port()
        if port not in ports:
            ports.append(port)
    processes: list[subprocess.Popen[bytes]] = []
    query = make("www.example.org.", "A", edns=1232)
    try:
        started = time.monotonic()
        for port in ports:
            command = qemu_command(image, memory_mib=MEMORY_MIB,
                                   net=f"user,hostfwd=udp:127.0.0.1:{port}-10.0.2.15:53")
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            waiting = list(range(n))
            while waiting and time.monotonic() - started < READY_S:
                for i in list(waiting):
                    if processes[i].poll() is not None:
                        stderr = processes[i].stderr
                        error = stderr.read() if stderr is not None else b""
                        raise RuntimeError(f"QEMU {i} (port {ports[i]}) exited "
                                           f"{processes[i].returncode}: {error!r}")
                    if ask_once(sock, ports[i], query, 0.02) is not None:
                        waiting.remove(i)
            if waiting:
                raise RuntimeError(f"{len(waiting)} of {n} images did not answer in {READY_S} s")
            ready_s = time.monotonic() - started
            time.sleep(2.0)  # let the last answers' work settle before idling
            pids = [p.pid for p in processes]
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            idle_started = time.monotonic()
            time.sleep(IDLE_S)
            idle_cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
            idle_wall = time.monotonic() - idle_started
            memory = [memory_kib(pid) for pid in pids]
            latencies: list[float] = []
            lost = 0
            for port in ports:
                rtt = ask_once(sock, port, query, LOST_S)
                if rtt is None:
                    lost += 1
                else:
                    latencies.append(rtt * 1000)
        available_after = mem_available_kib()
    finally:
        stop_all(processes)
    core_share = idle_cpu / idle_wall
    return {
        "n": n, "ready_s": round(ready_s, 1),
        "pss_mib_total": round(sum(m[0] for m in memory) / 1024, 1),
        "rss_mib_total": round(sum(m[1] for m in memory) / 1024, 1),
        "pss_kib_per_image": round(statistics.mean(m[0] for m in memory)),
        "mem_available_drop_mib": round((available_before - available_after) / 1024, 1),
        "idle_cpu_share_of_one_core": round(core_share, 4),
        "idle_cpu_share_of_host": round(core_share / CORES, 4),
        "latency_ms": {"p50": round(statistics.median(latencies), 2),
                       "p99": round(percentile(latencies, 0.99), 2),
                       "max": round(max(latencies), 2)} if latencies else None,
        "lost": lost,
        "over_bar": sum(1 for t in latencies if t > BAR_LATENCY_MS),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so that run_n's `finally` stops every QEMU


def main(argv: list[str]) -> int:
    arguments = argument_parser(__doc__, __file__)
    arguments.add_argument("counts", nargs="*", type=positive_int, metavar="N",
                           default=[25, 50, 100, 200],
                           help="numbers of images booted at once (default: 25 50 100 200)")
    counts: list[int] = arguments.parse_args(argv).counts
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    host_before = machine()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work:
        image = compile_c(ROOT / "examples" / "dns.spec", Path(work), "hvt",
                          "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
        for n in counts:
            rows.append(run_n(image, n))
            print(json.dumps(rows[-1]), flush=True)
    host = machine()
    top = next((r for r in rows if r["n"] == BAR_IMAGES), None)
    bar_met = None if top is None else bool(
        top["lost"] == 0 and top["latency_ms"] is not None
        and top["latency_ms"]["max"] <= BAR_LATENCY_MS
        and top["idle_cpu_share_of_host"] < BAR_IDLE_HOST)
    date = datetime.date.today().isoformat()
    record = {"date": date, "memory_mib": MEMORY_MIB, "idle_s": IDLE_S, "rows": rows,
              "bar": f"{BAR_IMAGES} images, every one answering within {BAR_LATENCY_MS:.0f} ms, "
                     f"host CPU under {BAR_IDLE_HOST:.0%} while idle",
              "bar_met": bar_met, "machine": host,
              "load_average_before": host_before["load_average"]}
    lines = [f"# Density: idle examples/dns.spec hvt images, {date}", "",
             f"Each image its own QEMU (TCG, `-m {MEMORY_MIB}`, user networking, its own "
             f"forwarded port); idle CPU over {IDLE_S:.0f} s; then one query to each in turn.",
             "",
             "| N | ready s | PSS total MiB | PSS per image KiB | RSS total MiB | "
             "MemAvailable drop MiB | idle CPU (one core) | idle CPU (host) | p50 ms | p99 ms | "
             f"max ms | over {BAR_LATENCY_MS:.0f} ms | lost | load before | load after |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        lat = r["latency_ms"] or {"p50": "", "p99": "", "max": ""}
        lines.append(f"| {r['n']} | {r['ready_s']} | {r['pss_mib_total']} | "
                     f"{r['pss_kib_per_image']} | {r['rss_mib_total']} | "
                     f"{r['mem_available_drop_mib']} | {r['idle_cpu_share_of_one_core']:.1%} | "
                     f"{r['idle_cpu_share_of_host']:.1%} | {lat['p50']} | {lat['p99']} | "
                     f"{lat['max']} | {r['over_bar']} | {r['lost']} | {r['load_average_before']} | "
                     f"{r['load_average_after']} |")
    verdict = "not run" if bar_met is None else ("met" if bar_met else "**missed**")
    lines += ["", f"Bar: {record['bar']}: {verdict}.", "",
              f"Machine: `{host['uname']}`, {host['cpu']} ({host['nproc']} logical), "
              f"load average {host_before['load_average']} at the start and "
              f"{host['load_average']} at the end; commit {host['commit']}.", "",
              f"Reproduce: `.venv/bin/python bench/density.py {' '.join(map(str, counts))}`", ""]
    stem = write_results("density", date, record, "\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
