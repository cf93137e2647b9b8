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

After the rounds, each server runs once more, profiled (bench/qemu_profile.py;
`--no-profile` leaves it out): its CPU per thread and, with perf, its samples
by thread and by the code they ran; for QEMU, the vCPU and the I/O thread and
the guest's translated code, QEMU, libslirp and the host kernel: where the hvt
image's time goes under load.  That run's qps is reported beside it, not in
the rounds.

Results: bench/results/dns-DATE.{md,json}, with the machine, the load
average before every measurement and the peers' versions.  Compare ratios
measured in the same run, not absolute numbers: the machine is shared.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from machine import (  # bench/machine.py, before bench/ leaves the front of sys.path
    BENCH,
    RESULTS,
    ROOT,
    argument_parser,
    leave_bench_path,
    load_average,
    machine,
    positive_int,
    stop,
    write_results,
)

# This script is named dns.py: in front of sys.path its folder would shadow
# dnspython's `dns`.  Import `dns` first, then keep bench/ at the back.
leave_bench_path(ROOT / "tests")
import dns.message  # noqa: E402,F401  (dnspython, cached before bench/ returns)

sys.path.append(str(BENCH))

import dns_servers  # noqa: E402
import linux_guest  # noqa: E402
import qemu_profile  # noqa: E402
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
    pid: int = 0  # the server's process, for its CPU time


@dataclass
class Zone:
    name: str
    path: Path
    origin: str
    queries: Path
    records: int
    workdir: Path
    images: dict[str, Path] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # the port a target is compiled for

    def port(self, target: str) -> int:
        """One port per target and zone, so that every round runs the same image."""
        if target not in self.ports:
            self.ports[target] = dns_servers.free_port()
        return self.ports[target]


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
def _process(argv: list[str], endpoint: Endpoint, zone: Zone,
             boot_seconds: float = 30) -> Iterator[Endpoint]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dns_servers.wait_answering(endpoint.server, endpoint.port, zone.origin, process,
                                   boot_seconds, endpoint.prefix)
        yield dataclasses.replace(endpoint, pid=process.pid)
    finally:
        stop(process)


def python_target(zone: Zone) -> AbstractContextManager[Endpoint]:
    port = zone.port("python")
    image = compile_image(zone, "python", "-D", f"port={port}")
    return _process([sys.executable, str(image), "--bind=127.0.0.1"],
                    Endpoint("127.0.0.1", port), zone)


def unix_target(zone: Zone) -> AbstractContextManager[Endpoint]:
    port = zone.port("unix")
    image = compile_image(zone, "unix", "-D", f"port={port}")
    return _process([str(image), "--bind=127.0.0.1"], Endpoint("127.0.0.1", port), zone)


def _hvt_image(zone: Zone) -> Path:
    return compile_image(zone, "hvt", "-D", f"address={HVT_ADDRESS}/24", "-D", "gateway=10.0.2.2")


def hvt_user(zone: Zone, qemu_extra: Sequence[str] = ()) -> AbstractContextManager[Endpoint]:
    port = dns_servers.free_port()
    net = f"user,hostfwd=udp:127.0.0.1:{port}-{HVT_ADDRESS}:53"
    return _process([*qemu_command(_hvt_image(zone), net=net), *qemu_extra],
                    Endpoint("127.0.0.1", port), zone)


@contextmanager
def in_tap_namespace(argv_for: Callable[[], list[str]], zone: Zone,
                     boot_seconds: float = 30) -> Iterator[Endpoint]:
    """`argv_for()` (a QEMU command on the namespace's tap) run inside a new
    namespace whose tap is 10.0.2.2/24; the guest is HVT_ADDRESS."""
    from specc import netns
    from specc.values import Ipv4V

    link = netns.Link(Ipv4V(0x0A000202), Ipv4V(0x0A00020F), 24)
    name = f"specc-bench-{os.getpid()}"
    with netns.namespace(name, link):
        endpoint = Endpoint(HVT_ADDRESS, 53, ("ip", "netns", "exec", name))
        with _process(netns.in_namespace(name, argv_for()), endpoint, zone,
                      boot_seconds) as ready:
            yield ready


def hvt_tap(zone: Zone, qemu_extra: Sequence[str] = ()) -> AbstractContextManager[Endpoint]:
    from specc import netns

    image = _hvt_image(zone)
    return in_tap_namespace(lambda: [*qemu_command(image, net=netns.tap_netdev()), *qemu_extra],
                            zone)


def _guest(zone: Zone) -> tuple[Path, Path]:
    if "linux-guest" not in zone.images:
        vmlinux, initrd = linux_guest.build(zone.path, zone.origin, zone.workdir)
        zone.images["linux-guest"], zone.images["linux-guest-initrd"] = vmlinux, initrd
    return zone.images["linux-guest"], zone.images["linux-guest-initrd"]


def linux_user(zone: Zone, qemu_extra: Sequence[str] = ()) -> AbstractContextManager[Endpoint]:
    vmlinux, initrd = _guest(zone)
    port = dns_servers.free_port()
    net = f"user,hostfwd=udp:127.0.0.1:{port}-{linux_guest.GUEST_ADDRESS}:53"
    return _process([*linux_guest.qemu_command(vmlinux, initrd, net), *qemu_extra],
                    Endpoint("127.0.0.1", port), zone, linux_guest.BOOT_SECONDS)


def linux_tap(zone: Zone, qemu_extra: Sequence[str] = ()) -> AbstractContextManager[Endpoint]:
    from specc import netns

    vmlinux, initrd = _guest(zone)
    return in_tap_namespace(
        lambda: [*linux_guest.qemu_command(vmlinux, initrd, netns.tap_netdev()), *qemu_extra],
        zone, linux_guest.BOOT_SECONDS)


def tap_available() -> str | None:
    """None when tap rows can run, else why not."""
    from specc import netns

    try:
        netns.check_can_create()
    except netns.NetnsError as error:
        return str(error)
    return None


def peer(start: Callable[[Path, Path, str], AbstractContextManager[tuple[int, int]]],
         label: str) -> Starter:
    @contextmanager
    def run(zone: Zone) -> Iterator[Endpoint]:
        with start(zone.workdir / f"{label}-{time.monotonic_ns()}", zone.path,
                   zone.origin) as (port, pid):
            yield Endpoint("127.0.0.1", port, pid=pid)
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
        rows.append(("linux_user", "Linux guest + NSD, QEMU TCG + user networking", linux_user))
        if tap:
            rows.append(("linux_tap", "Linux guest + NSD, QEMU TCG + tap", linux_tap))
    rows += [
        ("nsd", "NSD (Debian), 1 server process", peer(dns_servers.nsd, "nsd")),
        ("knot", "Knot DNS (Debian), 1 UDP worker", peer(dns_servers.knot, "knot")),
        ("bind", "BIND 9 (Debian), 1 worker thread", peer(dns_servers.bind, "bind")),
    ]
    return rows


ZONE_NAMES = ("example.org", "generated")  # the names zones() gives


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


def ratio(rows: dict[str, dict[str, object]], a: str, b: str,
          measure: str = "mean_qps") -> float | None:
    if a not in rows or b not in rows:
        return None
    mean_a, mean_b = rows[a][measure], rows[b][measure]
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
                cpu = dns_servers.cpu_seconds(endpoint.pid)
                run = dnsperf(endpoint, seconds, zone.queries)
                cpu = dns_servers.cpu_seconds(endpoint.pid) - cpu
            # Queries per second of the server's own CPU time: what it could
            # answer with a core of its own, whatever the client could send.
            run["server_cpu"] = round(cpu / seconds, 3)
            run["qps_per_cpu"] = round(run["qps"] / (cpu / seconds), 0) if cpu else 0.0
            run["load_1min_before"] = round(load, 2)
            run["round"] = number + 1
            rounds_list = results[key]["rounds"]
            assert isinstance(rounds_list, list)
            rounds_list.append(run)
            print(f"{zone.name} round {number + 1} {key}: {run['qps']:.0f} qps, "
                  f"{run['lost']:.0f} lost, {run['latency_ms']:.2f} ms, server CPU "
                  f"{run['server_cpu']:.2f} (load {load:.2f})",
                  file=sys.stderr, flush=True)
    for entry in results.values():
        runs = entry["rounds"]
        assert isinstance(runs, list)
        entry["mean_qps"] = round(statistics.mean(r["qps"] for r in runs), 1)
        entry["mean_latency_ms"] = round(statistics.mean(r["latency_ms"] for r in runs), 3)
        entry["mean_qps_per_cpu"] = round(statistics.mean(r["qps_per_cpu"] for r in runs), 1)
        entry["lost"] = sum(r["lost"] for r in runs)
    return results


# The QEMU rows, started again with thread names for the profiled pass.
PROFILED: dict[str, Callable[[Zone, Sequence[str]], AbstractContextManager[Endpoint]]] = {
    "hvt_user": hvt_user, "hvt_tap": hvt_tap, "linux_user": linux_user, "linux_tap": linux_tap}


def profile(zone: Zone, rows: list[tuple[str, str, Starter]],
            seconds: int) -> dict[str, dict[str, object]]:
    """One more dnsperf run of `seconds` for every server, after the
    measured rounds: its CPU per thread over the run (QEMU's named: vCPU and
    I/O thread) and, where perf can sample, its samples by thread and code
    over all but the run's first and last second (qemu_profile.py).  Its qps
    is not one of the rounds': sampling costs the server a little."""
    why_not = qemu_profile.perf_available()
    profiles: dict[str, dict[str, object]] = {}
    for key, label, start in rows:
        qemu = key in PROFILED
        main = qemu_profile.MAIN_LOOP if qemu else None
        server = (PROFILED[key](zone, qemu_profile.THREAD_NAMES) if qemu else start(zone))
        with server as endpoint, ThreadPoolExecutor(max_workers=1) as pool:
            before, started = qemu_profile.thread_cpu(endpoint.pid, main), time.monotonic()
            load = pool.submit(dnsperf, endpoint, seconds, zone.queries)
            split = None
            if why_not is None:
                time.sleep(1)
                split = qemu_profile.perf_split(endpoint.pid, max(1, seconds - 2), main)
            run = load.result()
            threads = qemu_profile.cpu_delta(before, qemu_profile.thread_cpu(endpoint.pid, main),
                                             time.monotonic() - started)
        profiles[key] = {
            "server": label, "qps": run["qps"], "threads": threads,
            "perf": why_not if split is None else {
                "by_code": [dataclasses.asdict(share) for share in split.by_code],
                "by_symbol": [dataclasses.asdict(share) for share in split.by_symbol]}}
        print(f"{zone.name} profiled {key}: {run['qps']:.0f} qps, threads {threads}",
              file=sys.stderr, flush=True)
    return profiles


def profile_markdown(profiles: dict[str, dict[str, object]]) -> list[str]:
    out = ["### Where each server's time goes (a profiled run after the rounds)", "",
           "CPU: seconds per second of each thread of the server (its process tree) over "
           "the run.  perf: share of the server's samples (`cpu-clock`), by thread and the "
           "code it ran; `host kernel` is system calls (sockets, tap, poll, futex) and "
           "scheduling.  QEMU is started with `-name debug-threads=on`: `CPU 0/TCG` is the "
           "vCPU thread (the guest's translated code, TCG's own work, and the device model "
           "on the guest's MMIO accesses), `main loop` the I/O thread (the networking "
           "backend and the device model's bottom halves).", ""]
    for entry in profiles.values():
        threads = entry["threads"]
        assert isinstance(threads, dict)
        out.append(f"- **{entry['server']}**: {entry['qps']:.0f} qps while profiled; CPU "
                   + ", ".join(f"{name} {rate:.2f}" for name, rate in threads.items()) + ".")
        sampled = entry["perf"]
        if not isinstance(sampled, dict):
            out.append(f"  - perf: not run ({sampled})")
            continue
        out.append("  - by code: " + "; ".join(
            f"{share['thread']}, {share['code']} {share['percent']:.1f}%"
            for share in sampled["by_code"]))
        out.append("  - by symbol (1.5% or more): " + "; ".join(
            f"{share['thread']}, {share['symbol']} ({share['code']}) {share['percent']:.1f}%"
            for share in sampled["by_symbol"]))
    return [*out, ""]


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
                "", "| server | " + " | ".join(f"round {i + 1}: qps / lost / latency / CPU"
                                               for i in range(rounds))
                + " | mean qps | mean qps per server CPU |",
                "|---|" + "---:|" * (rounds + 2)]
        for entry in zone["servers"].values():
            cells = [f"{r['qps']:.0f} / {r['lost']:.0f} / {r['latency_ms']:.2f} ms / "
                     f"{r['server_cpu']:.2f} (load {r['load_1min_before']:.2f})"
                     for r in entry["rounds"]]
            out.append(f"| {entry['server']} | " + " | ".join(cells)
                       + f" | {entry['mean_qps']:.0f} | {entry['mean_qps_per_cpu']:.0f} |")
        out += ["", "Ratios of mean qps: " + ", ".join(
            f"{pair} {v:.3f}" for pair, v in zone["ratios"].items() if v is not None) + ".", "",
            "Ratios of mean qps per server CPU second: " + ", ".join(
            f"{pair} {v:.3f}" for pair, v in zone["ratios_per_cpu"].items() if v is not None)
            + ".", ""]
        if zone.get("profiles"):
            out += profile_markdown(zone["profiles"])
    out += [f"Peers: {', '.join(record['peers'].values())}.",  # type: ignore[attr-defined]
            "", f"Machine: `{m['uname']}`; CPU {m['cpu']} ({m['nproc']} logical); "
            f"{m['python']}; commit {m['commit']}; load average at the start "
            f"{record['load_start']}, at the end {record['load_end']} (1, 5, 15 min); "
            "the 1-minute load before each measurement is in its cell.  CPU: the server's "
            "user + system CPU seconds per second of the run (its process tree; for QEMU "
            "the whole emulator, networking backend included).", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--seconds", type=positive_int, default=10)
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument("--only", default="", help="comma-separated server keys")
    parser.add_argument("--zones", default=",".join(ZONE_NAMES), help="comma-separated zones")
    parser.add_argument("--no-guest", action="store_true", help="leave the Linux guest out")
    parser.add_argument("--no-profile", action="store_true",
                        help="leave out the profiled run of each server")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)
    unknown_zones = set(args.zones.split(",")) - set(ZONE_NAMES)
    if unknown_zones:
        parser.error(f"--zones: no zone {', '.join(sorted(unknown_zones))}; the zones: "
                     f"{', '.join(ZONE_NAMES)}")
    every_server = [key for key, _, _ in servers(True, True)]
    wanted = set(args.only.split(",")) if args.only else set(every_server)
    if wanted - set(every_server):
        parser.error(f"--only: no server {', '.join(sorted(wanted - set(every_server)))}; "
                     f"the servers: {', '.join(every_server)}")
    for tool in ("/usr/bin/dnsperf", "/usr/sbin/nsd", "/usr/sbin/knotd", "/usr/sbin/named"):
        if not Path(tool).exists():
            print(f"bench/dns.py: {tool} is not installed (run scripts/setup.sh)", file=sys.stderr)
            return 1
    no_tap = tap_available()
    if no_tap is not None:
        print(f"bench/dns.py: the tap rows are left out: {no_tap}", file=sys.stderr)
    guest = not args.no_guest
    rows = [row for row in servers(no_tap is None, guest) if row[0] in wanted]
    load_start = load_average()
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
                "ratios": {f"{a}/{b}": ratio(measured, a, b) for a, b in RATIOS},
                "ratios_per_cpu": {f"{a}/{b}": ratio(measured, a, b, "mean_qps_per_cpu")
                                   for a, b in RATIOS},
                "profiles": {} if args.no_profile else profile(zone, rows, args.seconds)}
    record["load_end"] = load_average()
    record["machine"] = machine()
    text = markdown(record, args.seconds, args.rounds)
    stem = write_results("dns", str(record["date"]), record, text, args.out)
    print(text)
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
