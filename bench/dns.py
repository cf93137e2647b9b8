"""DNS throughput: dnsperf against examples/dns.spec on the python and unix
targets, the hvt unikernel under QEMU (TCG, through user networking), and
NSD serving the same zone, in one run, on 127.0.0.1.

    .venv/bin/python bench/dns.py [SECONDS]

Each server gets the same query mix for SECONDS (default 10; dnsperf `-l`),
one after the other.  Results go to bench/results/dns-DATE.{md,json} with the
machine they were measured on.  Compare the ratio, not the absolute numbers:
these machines are shared and noisy.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This script is named dns.py: its own folder must not shadow dnspython's `dns`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT / "tests"))

from dns_queries import SERVER_MAX_UDP  # noqa: E402
from test_c_targets import compile_c, start_native  # noqa: E402
from test_dns_vs_nsd import free_port, running_nsd  # noqa: E402
from test_python_target import compile_python, start  # noqa: E402

from specc.backends.c.build import qemu_command  # noqa: E402

QUERIES = [
    "www.example.org A", "example.org SOA", "example.org NS", "mail.example.org MX",
    "alias.example.org A", "anything.wild.example.org A", "nope.example.org A",
    "x.sub.example.org A", "www.example.org AAAA", "example.org TXT",
]


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"uname": " ".join(platform.uname()), "cpu": cpu, "cpus": str(os.cpu_count()),
            "python": platform.python_version(),
            "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def dnsperf(port: int, seconds: int, queries: Path, server: str = "127.0.0.1",
            prefix: tuple[str, ...] = ()) -> dict[str, float]:
    result = subprocess.run([*prefix, "dnsperf", "-s", server, "-p", str(port), "-d", str(queries),
                             "-l", str(seconds), "-c", "4", "-q", "64", "-t", "2"],
                            capture_output=True, text=True, timeout=seconds + 60)
    text = result.stdout
    qps = re.search(r"Queries per second:\s+([\d.]+)", text)
    lost = re.search(r"Queries lost:\s+(\d+)", text)
    latency = re.search(r"Average Latency \(s\):\s+([\d.]+)", text)
    if qps is None:
        raise RuntimeError(f"dnsperf failed: {result.stderr or text}")
    return {"qps": float(qps.group(1)), "lost": float(lost.group(1)) if lost else 0.0,
            "latency_ms": float(latency.group(1)) * 1000 if latency else 0.0}


def run_hvt(workdir: Path, seconds: int, queries: Path) -> dict[str, float]:
    image = compile_c(ROOT / "examples" / "dns.spec", workdir / "hvt", "hvt",
                      "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
    port = free_port()
    process = subprocess.Popen(qemu_command(image, net=f"user,hostfwd=udp:127.0.0.1:{port}-"
                                                       "10.0.2.15:53"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "example.org", "SOA",
                                    "+time=1", "+tries=1"], capture_output=True, text=True)
            if "NOERROR" in probe.stdout:
                break
        return dnsperf(port, seconds, queries)
    finally:
        process.terminate()
        process.wait(timeout=10)


def tap_row(r: dict[str, float] | None) -> str:
    name = "examples/dns.spec, target hvt, QEMU TCG + tap in a network namespace"
    if r is None:
        return f"| {name} | not run (needs root) | | |"
    return f"| {name} | {r['qps']:.0f} | {r['lost']:.0f} | {r['latency_ms']:.2f} ms |"


def run_hvt_tap(workdir: Path, seconds: int, queries: Path) -> dict[str, float] | None:
    """The same image on a tap in a network namespace (specc/netns.py), dnsperf
    inside it: no slirp in the path.  None (and a note) when not root."""
    from specc import netns
    from specc.values import CidrV, Ipv4V

    try:
        netns.check_can_create()
    except netns.NetnsError as error:
        print(f"bench/dns.py: hvt over tap skipped: {error}", file=sys.stderr)
        return None
    image = compile_c(ROOT / "examples" / "dns.spec", workdir / "hvt-tap", "hvt",
                      "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
    link = netns.static_link(CidrV(0x0A00020F, 24), Ipv4V(0x0A000202))
    name = f"specc-bench-{os.getpid()}"
    inside = ("ip", "netns", "exec", name)
    with netns.namespace(name, link):
        process = subprocess.Popen(netns.in_namespace(name, qemu_command(
            image, net=netns.tap_netdev())), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                probe = subprocess.run([*inside, "dig", "@10.0.2.15", "example.org", "SOA",
                                        "+time=1", "+tries=1"], capture_output=True, text=True)
                if "NOERROR" in probe.stdout:
                    break
            return dnsperf(53, seconds, queries, "10.0.2.15", inside)
        finally:
            process.terminate()
            process.wait(timeout=10)


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for tool in ("dnsperf", "nsd"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"bench/dns.py: `{tool}` is not installed (run scripts/setup.sh)",
                  file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        queries = workdir / "queries.txt"
        queries.write_text("\n".join(QUERIES) + "\n")
        port = free_port()
        image = compile_python(ROOT / "examples" / "dns.spec", workdir / "python",
                               "-D", f"port={port}")
        process, _ = start(image)
        try:
            ours = dnsperf(port, seconds, queries)
        finally:
            process.terminate()
            process.wait(timeout=10)
        port = free_port()
        native = compile_c(ROOT / "examples" / "dns.spec", workdir / "unix", "unix",
                           "-D", f"port={port}")
        process_native, _ = start_native(native)
        try:
            unix = dnsperf(port, seconds, queries)
        finally:
            process_native.terminate()
            process_native.wait(timeout=10)
        hvt = run_hvt(workdir, seconds, queries)
        hvt_tap = run_hvt_tap(workdir, seconds, queries)
        nsd_dir = workdir / "nsd"
        nsd_dir.mkdir()
        with running_nsd(nsd_dir, SERVER_MAX_UDP) as nsd_port:
            theirs = dnsperf(nsd_port, seconds, queries)
    date = datetime.date.today().isoformat()
    m = machine()
    record = {"date": date, "seconds": seconds, "machine": m,
              "python_target": ours, "unix_target": unix, "hvt_target_tcg": hvt,
              "hvt_target_tcg_tap": hvt_tap, "nsd": theirs,
              "ratio_python_to_nsd": round(ours["qps"] / theirs["qps"], 4),
              "ratio_unix_to_nsd": round(unix["qps"] / theirs["qps"], 4)}
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"dns-{date}.json").write_text(json.dumps(record, indent=2) + "\n")
    (results / f"dns-{date}.md").write_text(f"""# DNS throughput, {date}

dnsperf (`-l {seconds} -c 4 -q 64`) on 127.0.0.1, the same query mix of
{len(QUERIES)} names and types, one server after the other in one run.

| server | queries/s | lost | mean latency |
|---|---:|---:|---:|
| examples/dns.spec, target python | {ours['qps']:.0f} | {ours['lost']:.0f} | {ours['latency_ms']:.2f} ms |
| examples/dns.spec, target unix (C) | {unix['qps']:.0f} | {unix['lost']:.0f} | {unix['latency_ms']:.2f} ms |
| examples/dns.spec, target hvt, QEMU TCG + user networking | {hvt['qps']:.0f} | {hvt['lost']:.0f} | {hvt['latency_ms']:.2f} ms |
{tap_row(hvt_tap)}
| NSD (Debian) | {theirs['qps']:.0f} | {theirs['lost']:.0f} | {theirs['latency_ms']:.2f} ms |

Ratios to NSD: python {record['ratio_python_to_nsd']:.3f}, unix {record['ratio_unix_to_nsd']:.3f}
(bar: unix at least 1.0).  The hvt figure is dominated by QEMU's emulation
(TCG: /dev/kvm here is kvm_pvm) and by user-mode networking (slirp); it is not
comparable with the others and is recorded to follow it over time.

Machine: `{m['uname']}`; CPU {m['cpu']} ({m['cpus']} logical); Python {m['python']};
load average at the end {m['load_average']}.  hvt over tap: the image on a tap
in a network namespace (specc/netns.py), dnsperf inside it; root only.
""")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
