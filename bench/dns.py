"""DNS throughput side by side: examples/dns.spec on the python, unix and hvt
targets beside NSD, Knot and BIND (and, when it is built, a Linux guest
running NSD under the same QEMU), each alone on 127.0.0.1 serving the same
zone, in one run.

    .venv/bin/python bench/dns.py [--seconds N] [--rounds R] [--only NAME,...]

Two zones: examples/zones/example.org.zone with a fixed mix of ten queries,
and the zone of bench/zonegen.py (10,592 records) with its query walk.  For
every zone, every round runs every server once, one after the other, for N
seconds of dnsperf (`-c 4 -q 100`); the order alternates between rounds
(forward, then backward) so that a drift in the machine's load does not
favour the servers that come first.  Each server has one worker.

The hvt image runs under QEMU (TCG here: /dev/kvm is unusable) twice: behind
user networking (slirp, a forwarded port on 127.0.0.1) and on a tap in a
network namespace (specc/netns.py, dnsperf inside the namespace; root only).
The Linux guest (bench/linux_guest.py) runs on the same two networks.

Results: bench/results/dns-DATE.{md,json}, with the machine, the load
average before every measurement and the peers' versions.  Compare ratios
measured in the same run, not absolute numbers: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from machine import machine  # bench/machine.py, before bench/ leaves the front of sys.path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# This script is named dns.py: in front of sys.path its folder would shadow
# dnspython's `dns`.  Import `dns` first, then keep bench/ at the back.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
import dns.message  # noqa: E402,F401  (dnspython, cached before bench/ returns)

sys.path.append(str(BENCH))
sys.path.insert(0, str(ROOT / "tests"))

import dns_servers  # noqa: E402
import zonegen  # noqa: E402

from specc.backends.c.build import qemu_command  # noqa: E402

EXAMPLE_QUERIES = [
    "www.example.org A", "example.org SOA", "example.org NS", "mail.example.org MX",
    "alias.example.org A", "anything.wild.example.org A", "nope.example.org A",
    "x.sub.example.org A", "www.example.org AAAA", "example.org TXT",
]
HVT_ADDRESS = "10.0.2.15"
SPECC = [sys.executable, "-m", "specc"]


@dataclass(frozen=True)
class Endpoint:
    """Where dnsperf sends: an address and port, and a command prefix
    (`ip netns exec NAME`) when the server is inside a namespace."""

    server: str
    port: int
    prefix: tuple[str, ...] = ()


@dataclass
class Zone:
    name: str
    path: Path
    origin: str
    queries: Path
    records: int
    workdir: Path
    images: dict[str, Path] = field(default_factory=dict)


Starter = Callable[[Zone], AbstractContextManager[Endpoint]]


def dnsperf(endpoint: Endpoint, seconds: int, queries: Path) -> dict[str, float]:
    result = subprocess.run([*endpoint.prefix, "dnsperf", "-s", endpoint.server,
                             "-p", str(endpoint.port), "-d", str(queries), "-l", str(seconds),
                             "-c", "4", "-q", "100", "-t", "2"],
                            capture_output=True, text=True, timeout=seconds + 60, check=False)
    text = result.stdout
    qps = re.search(r"Queries per second:\s+([\d.]+)", text)
    lost = re.search(r"Queries lost:\s+(\d+)", text)
    latency = re.search(r"Average Latency \(s\):\s+([\d.]+)", text)
    if qps is None:
        raise RuntimeError(f"dnsperf failed: {result.stderr or text}")
    return {"qps": float(qps.group(1)), "lost": float(lost.group(1)) if lost else 0.0,
            "latency_ms": float(latency.group(1)) * 1000 if latency else 0.0}


def compile_image(zone: Zone, target: str, *defines: str) -> Path:
    key = f"{target}{''.join(defines)}"
    if key in zone.images:
        return zone.images[key]
    out = zone.workdir / f"build-{target}-{len(zone.images)}"
    done = subprocess.run([*SPECC, "compile", str(ROOT / "examples" / "dns.spec"), "-t", target,
                           "-o", str(out), "-D", f"zone={zone.path}", *defines],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"specc compile -t {target} failed:\n{done.stderr}")
    images = [p for p in out.iterdir() if p.is_file() and p.name != "manifest.json"]
    zone.images[key] = images[0]
    return images[0]


@contextmanager
def _process(argv: list[str], endpoint: Endpoint, zone: Zone) -> Iterator[Endpoint]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dns_servers.wait_answering(endpoint.server, endpoint.port, zone.origin, process,
                                   prefix=endpoint.prefix)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_target(zone: Zone) -> AbstractContextManager[Endpoint]:
    port = dns_servers.free_port()
    image = compile_image(zone, "python", "-D", f"port={port}")
    return _process([sys.executable, str(image), "--bind=127.0.0.1"],
                    Endpoint("127.0.0.1", port), zone)


def unix_target(zone: Zone) -> AbstractContextManager[Endpoint]:
    port = dns_servers.free_port()
    image = compile_image(zone, "unix", "-D", f"port={port}")
    return _process([str(image), "--bind=127.0.0.1"], Endpoint("127.0.0.1", port), zone)


def _hvt_image(zone: Zone) -> Path:
    return compile_image(zone, "hvt", "-D", f"address={HVT_ADDRESS}/24", "-D", "gateway=10.0.2.2")


def hvt_user(zone: Zone) -> AbstractContextManager[Endpoint]:
    port = dns_servers.free_port()
    net = f"user,hostfwd=udp:127.0.0.1:{port}-{HVT_ADDRESS}:53"
    return _process(qemu_command(_hvt_image(zone), net=net), Endpoint("127.0.0.1", port), zone)


@contextmanager
def in_tap_namespace(argv_for: Callable[[], list[str]], zone: Zone) -> Iterator[Endpoint]:
    """`argv_for()` (a QEMU command on the namespace's tap) run inside a new
    namespace whose tap is 10.0.2.2/24; the guest is HVT_ADDRESS."""
    from specc import netns
    from specc.values import Ipv4V

    link = netns.Link(Ipv4V(0x0A000202), Ipv4V(0x0A00020F), 24)
    name = f"specc-bench-{os.getpid()}"
    with netns.namespace(name, link):
        endpoint = Endpoint(HVT_ADDRESS, 53, ("ip", "netns", "exec", name))
        with _process(netns.in_namespace(name, argv_for()), endpoint, zone) as ready:
            yield ready


def hvt_tap(zone: Zone) -> AbstractContextManager[Endpoint]:
    from specc import netns

    image = _hvt_image(zone)
    return in_tap_namespace(lambda: qemu_command(image, net=netns.tap_netdev()), zone)


def tap_available() -> str | None:
    """None when tap rows can run, else why not."""
    from specc import netns

    try:
        netns.check_can_create()
    except netns.NetnsError as error:
        return str(error)
    return None


def peer(start: Callable[[Path, Path, str], AbstractContextManager[int]], label: str) -> Starter:
    @contextmanager
    def run(zone: Zone) -> Iterator[Endpoint]:
        with start(zone.workdir / f"{label}-{time.monotonic_ns()}", zone.path, zone.origin) as port:
            yield Endpoint("127.0.0.1", port)
    return run


def servers(tap: bool, guest: bool) -> list[tuple[str, str, Starter]]:
    """(key, description, starter) of every server in the run."""
    rows: list[tuple[str, str, Starter]] = [
        ("python", "examples/dns.spec, target python", python_target),
        ("unix", "examples/dns.spec, target unix (C)", unix_target),
        ("hvt_user", "examples/dns.spec, target hvt, QEMU TCG + user networking", hvt_user),
    ]
    if tap:
        rows.append(("hvt_tap", "examples/dns.spec, target hvt, QEMU TCG + tap", hvt_tap))
    if guest:
        raise NotImplementedError("the Linux guest rows need bench/linux_guest.py")
    rows += [
        ("nsd", "NSD (Debian), 1 server process", peer(dns_servers.nsd, "nsd")),
        ("knot", "Knot DNS (Debian), 1 UDP worker", peer(dns_servers.knot, "knot")),
        ("bind", "BIND 9 (Debian), 1 worker thread", peer(dns_servers.bind, "bind")),
    ]
    return rows


def zones(workdir: Path) -> list[Zone]:
    example = workdir / "example-queries.txt"
    example.write_text("\n".join(EXAMPLE_QUERIES) + "\n")
    example_zone = ROOT / "examples" / "zones" / "example.org.zone"
    records = sum(1 for line in example_zone.read_text().splitlines()
                  if line.strip() and not line.lstrip().startswith((";", "$", ")"))
                  and not line.startswith((" ", "\t")))
    large = workdir / "generated.zone"
    large_queries = workdir / "generated-queries.txt"
    large_records = zonegen.write(large, large_queries)
    return [Zone("example.org", example_zone, "example.org.", example, records,
                 workdir / "example"),
            Zone("generated", large, zonegen.ORIGIN, large_queries, large_records,
                 workdir / "generated")]


def ratio(rows: dict[str, dict[str, object]], a: str, b: str) -> float | None:
    if a not in rows or b not in rows:
        return None
    mean_a, mean_b = rows[a]["mean_qps"], rows[b]["mean_qps"]
    assert isinstance(mean_a, float) and isinstance(mean_b, float)
    return round(mean_a / mean_b, 3) if mean_b else None


RATIOS = [("unix", "nsd"), ("unix", "knot"), ("unix", "bind"), ("python", "nsd"),
          ("hvt_user", "linux_user"), ("hvt_tap", "linux_tap"), ("hvt_user", "nsd"),
          ("hvt_tap", "nsd")]


def measure(zone: Zone, rows: list[tuple[str, str, Starter]], rounds: int,
            seconds: int) -> dict[str, dict[str, object]]:
    zone.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, object]] = {
        key: {"server": label, "rounds": []} for key, label, _ in rows}
    for number in range(rounds):
        order = rows if number % 2 == 0 else list(reversed(rows))
        for key, _, start in order:
            load = os.getloadavg()[0]
            with start(zone) as endpoint:
                run = dnsperf(endpoint, seconds, zone.queries)
            run["load_1min_before"] = round(load, 2)
            run["round"] = number + 1
            rounds_list = results[key]["rounds"]
            assert isinstance(rounds_list, list)
            rounds_list.append(run)
            print(f"{zone.name} round {number + 1} {key}: {run['qps']:.0f} qps, "
                  f"{run['lost']:.0f} lost, {run['latency_ms']:.2f} ms (load {load:.2f})",
                  file=sys.stderr, flush=True)
    for entry in results.values():
        runs = entry["rounds"]
        assert isinstance(runs, list)
        entry["mean_qps"] = round(statistics.mean(r["qps"] for r in runs), 1)
        entry["mean_latency_ms"] = round(statistics.mean(r["latency_ms"] for r in runs), 3)
        entry["lost"] = sum(r["lost"] for r in runs)
    return results


def markdown(record: dict[str, object], seconds: int, rounds: int) -> str:
    m = record["machine"]
    assert isinstance(m, dict)
    out = [f"# DNS throughput side by side, {record['date']}", "",
           f"dnsperf `-l {seconds} -c 4 -q 100 -t 2` against each server alone, "
           f"{rounds} rounds in alternating order (forward, backward), one worker each.", ""]
    zones_record = record["zones"]
    assert isinstance(zones_record, dict)
    for name, zone in zones_record.items():
        out += [f"## Zone {name}: {zone['records']} records, {zone['queries']} distinct queries",
                "", "| server | " + " | ".join(f"round {i + 1} qps / lost / latency"
                                               for i in range(rounds)) + " | mean qps |",
                "|---|" + "---:|" * (rounds + 1)]
        for entry in zone["servers"].values():
            cells = [f"{r['qps']:.0f} / {r['lost']:.0f} / {r['latency_ms']:.2f} ms "
                     f"(load {r['load_1min_before']:.2f})" for r in entry["rounds"]]
            out.append(f"| {entry['server']} | " + " | ".join(cells)
                       + f" | {entry['mean_qps']:.0f} |")
        out += ["", "Ratios of mean qps: " + ", ".join(
            f"{pair} {v:.3f}" for pair, v in zone["ratios"].items() if v is not None) + ".", ""]
    out += [f"Peers: {', '.join(record['peers'].values())}.",  # type: ignore[attr-defined]
            "", f"Machine: `{m['uname']}`; CPU {m['cpu']} ({m['nproc']} logical); "
            f"{m['python']}; commit {m['commit']}; load average at the start "
            f"{record['load_start']}, at the end {record['load_end']} (1, 5, 15 min); "
            "the 1-minute load before each measurement is in its cell.", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/dns.py")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated server keys")
    parser.add_argument("--zones", default="example.org,generated")
    parser.add_argument("--no-guest", action="store_true", help="leave the Linux guest out")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    for tool in ("/usr/bin/dnsperf", "/usr/sbin/nsd", "/usr/sbin/knotd", "/usr/sbin/named"):
        if not Path(tool).exists():
            print(f"bench/dns.py: {tool} is not installed (run scripts/setup.sh)", file=sys.stderr)
            return 1
    no_tap = tap_available()
    if no_tap is not None:
        print(f"bench/dns.py: the tap rows are left out: {no_tap}", file=sys.stderr)
    guest = False  # bench/linux_guest.py is not written yet
    rows = servers(no_tap is None, guest)
    if args.only:
        wanted = set(args.only.split(","))
        rows = [row for row in rows if row[0] in wanted]
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    record: dict[str, object] = {"date": datetime.date.today().isoformat(),
                                 "seconds": args.seconds, "rounds": args.rounds,
                                 "load_start": load_start, "peers": dns_servers.versions(),
                                 "zones": {}}
    with tempfile.TemporaryDirectory() as work:
        for zone in zones(Path(work)):
            if zone.name not in args.zones.split(","):
                continue
            measured = measure(zone, rows, args.rounds, args.seconds)
            queries = len(set(zone.queries.read_text().splitlines()))
            record["zones"][zone.name] = {  # type: ignore[index]
                "records": zone.records, "queries": queries, "servers": measured,
                "ratios": {f"{a}/{b}": ratio(measured, a, b) for a, b in RATIOS}}
    record["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    record["machine"] = machine()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"dns-{record['date']}"
    (out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / f"{stem}.md").write_text(markdown(record, args.seconds, args.rounds))
    print((out / f"{stem}.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
