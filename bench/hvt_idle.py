"""Idle cost, wake-up latency and throughput of the hvt image: halting vs polling.

    .venv/bin/python bench/hvt_idle.py [LOAD_SECONDS]

examples/dns.spec is built twice for hvt: as it is (platform_yield_until
halts in `hlt` until the virtio-net interrupt or the LAPIC timer) and with
SPECC_HVT_WAIT=poll (the spinning wait it had before).  Each is booted under
QEMU (TCG here: /dev/kvm is kvm_pvm) with user networking and measured in
the same run, one after the other:

- idle: QEMU's CPU time (/proc/PID/stat) over 10 s with no traffic;
- wake-up: 100 single queries, each after an idle gap of 100 to 150 ms,
  round trip as seen by the client (median, percentiles, max);
- load: dnsperf for LOAD_SECONDS (default 10), as in bench/dns.py.

Bars (issue 9): idle under 1% of a host core; the median single query
within 2 ms; qps under load no worse than polling.  Results go to
bench/results/hvt-idle-DATE.{md,json} with the machine and its load average.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import (  # bench/machine.py, before bench/ leaves sys.path
    ROOT,
    argument_parser,
    leave_bench_path,
    machine,
    positive_int,
    write_results,
)

leave_bench_path(ROOT / "tests")

from dns_queries import make  # noqa: E402
from test_dns_vs_nsd import ask, free_port  # noqa: E402

from specc.backends.c.build import WAIT_ENV, choose_accel, qemu_command  # noqa: E402

IDLE_SECONDS = 10.0
SINGLE_QUERIES = 100
QUERIES = ["www.example.org A", "example.org SOA", "mail.example.org MX", "nope.example.org A"]


def build(out: Path, wait: str) -> Path:
    env = {**os.environ, WAIT_ENV: wait}
    subprocess.run([sys.executable, "-m", "specc", "compile", str(ROOT / "examples" / "dns.spec"),
                    "-t", "hvt", "-o", str(out), "-D", "address=10.0.2.15/24",
                    "-D", "gateway=10.0.2.2"], check=True, cwd=ROOT, env=env,
                   capture_output=True, timeout=300)
    return out / "dns.hvt"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(pid: int) -> float:
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    time.sleep(IDLE_SECONDS)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)


def wake_latencies(port: int) -> list[float]:
    """Round trips in ms of single queries, each after an idle gap."""
    wire = make("www.example.org.", "A")
    latencies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(2.0)
        for i in range(SINGLE_QUERIES):
            time.sleep(0.1 + 0.05 * ((i * 37) % 11) / 10)  # gaps of 100-150 ms, not in step
            started = time.perf_counter()
            client.sendto(wire, ("127.0.0.1", port))
            try:
                client.recvfrom(4096)
            except TimeoutError:
                latencies.append(2000.0)
                continue
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def dnsperf(port: int, seconds: int, queries: Path) -> dict[str, float]:
    result = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
                             "-l", str(seconds), "-c", "4", "-q", "64", "-t", "2"],
                            capture_output=True, text=True, timeout=seconds + 60)
    qps = re.search(r"Queries per second:\s+([\d.]+)", result.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", result.stdout)
    if qps is None:
        raise RuntimeError(f"dnsperf failed: {result.stderr or result.stdout}")
    return {"qps": float(qps.group(1)), "lost": float(lost.group(1)) if lost else 0.0}


def measure(image: Path, load_seconds: int, queries: Path) -> dict[str, object]:
    port = free_port()
    process = subprocess.Popen(
        qemu_command(image, net=f"user,hostfwd=udp:127.0.0.1:{port}-10.0.2.15:53"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while ask(port, make("example.org.", "SOA"), 0.1) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{image} did not answer within 30 s")
        time.sleep(0.5)
        idle = idle_share(process.pid)
        latencies = sorted(wake_latencies(port))
        load = dnsperf(port, load_seconds, queries)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return {
        "idle_cpu_percent": round(idle * 100, 3),
        "wake_ms": {
            "median": round(statistics.median(latencies), 3),
            "p10": round(latencies[len(latencies) // 10], 3),
            "p90": round(latencies[len(latencies) * 9 // 10], 3),
            "p99": round(latencies[len(latencies) * 99 // 100], 3),
            "max": round(latencies[-1], 3),
            "timeouts": sum(1 for x in latencies if x >= 2000.0),
        },
        "load": load,
    }


def main(argv: list[str]) -> int:
    arguments = argument_parser(__doc__, __file__)
    arguments.add_argument("load_seconds", nargs="?", type=positive_int, default=10,
                           metavar="LOAD_SECONDS",
                           help="seconds of dnsperf load on each image (default: 10)")
    load_seconds: int = arguments.parse_args(argv).load_seconds
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        queries = workdir / "queries.txt"
        queries.write_text("\n".join(QUERIES) + "\n")
        for wait in ("halt", "poll"):
            image = build(workdir / wait, wait)
            results[wait] = measure(image, load_seconds, queries)
            print(wait, json.dumps(results[wait]), file=sys.stderr)
    date = datetime.date.today().isoformat()
    m = machine()
    record = {"date": date, "accel": choose_accel().name, "idle_seconds": IDLE_SECONDS,
              "single_queries": SINGLE_QUERIES, "load_seconds": load_seconds, "machine": m,
              "halt": results["halt"], "poll": results["poll"]}

    def row(name: str, r: dict[str, object]) -> str:
        wake = r["wake_ms"]
        load = r["load"]
        assert isinstance(wake, dict) and isinstance(load, dict)
        return (f"| {name} | {r['idle_cpu_percent']:.2f}% | {wake['median']:.3f} | "
                f"{wake['p90']:.3f} | {wake['max']:.3f} | {wake['timeouts']} | "
                f"{load['qps']:.0f} | {load['lost']:.0f} |")

    text = f"""# hvt idle cost and wake-up, {date}

examples/dns.spec as an hvt image under QEMU ({record['accel']}), user
networking, halting (`sti; hlt` until the virtio-net interrupt or the LAPIC
timer) and polling (`SPECC_HVT_WAIT=poll`), one after the other in one run.

| wait | idle CPU ({IDLE_SECONDS:.0f} s) | wake median ms | p90 ms | max ms | lost | qps (dnsperf {load_seconds} s, -c 4 -q 64) | lost |
|---|---:|---:|---:|---:|---:|---:|---:|
{row("halt", results["halt"])}
{row("poll", results["poll"])}

Wake-up: {SINGLE_QUERIES} single `www.example.org A` queries, each after 100-150 ms
of silence, round trip from the client (through slirp). Bars (issue 9):
idle under 1% of a core, median within 2 ms, qps no worse than polling.

Machine: `{m['uname']}`; CPU {m['cpu']} ({m['nproc']} logical); load average
{m['load_average']}; commit {m['commit']}.
"""
    stem = write_results("hvt-idle", date, record, text)
    print(json.dumps(record, indent=2))
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
