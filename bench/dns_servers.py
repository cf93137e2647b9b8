"""The peer DNS servers of bench/dns.py: NSD, Knot and BIND (Debian packages,
scripts/setup.sh), each started here as a private instance on 127.0.0.1 at a
free port with a temporary configuration, one worker, serving one zone file.

NSD is also the reference of the DNS tests (tests/test_dns_vs_nsd.py and the
tests that import its `running_nsd`): its configuration and how it is started
and stopped are written here only, for both (nsd_config, nsd_serving).

The system services the packages install are disabled by setup.sh; nothing
here touches them.  Each server is configured as close to the others as its
options allow: no recursion, no rate limiting, full (not minimal) responses,
UDP and TCP on one port, one worker thread or process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import qemu_profile  # bench/qemu_profile.py, beside this file
from machine import stop  # bench/machine.py: bench/ is on sys.path wherever this is imported

NSD = "/usr/sbin/nsd"

_NSD_SERVER = """\
server:
    ip-address: {address}@{port}
    port: {port}
    do-ip6: no
    server-count: 1
    verbosity: 0
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    pidfile: "{dir}/nsd.pid"
    database: ""
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    logfile: "{dir}/nsd.log"
    rrl-ratelimit: 0
    hide-version: yes
    hide-identity: yes
{edns_size}\
    minimal-responses: no
    refuse-any: no
{tcp_count}\
remote-control:
    control-enable: no
"""
_NSD_ZONE = """\
zone:
    name: "{origin}"
    zonefile: "{zone}"
"""

# udp-workers/tcp-workers 1: one worker, as the others; zonefile-sync -1:
# never write the zone back into the (shared) zone file.
KNOT_CONFIG = """\
server:
    rundir: "{dir}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    identity: ""
    version: ""
database:
    storage: "{dir}"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "{dir}"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: "{origin}"
    file: "{zone}"
"""

# `controls {}`: no rndc channel (it would read /etc/bind/rndc.key);
# `-n 1` on the command line: one worker thread.
BIND_CONFIG = """\
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    minimal-responses no;
    version none;
    hostname none;
    server-id none;
    notify no;
}};
controls {{ }};
zone "{origin}" {{
    type primary;
    file "{zone}";
}};
"""


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the servers bind both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def soa_query(origin: str) -> bytes:
    """A DNS query for `origin` SOA (RFC 1035 4.1), without dnspython: this
    module is imported from scripts in bench/, where bench/dns.py hides it."""
    name = b"".join(bytes((len(label),)) + label.encode()
                    for label in origin.rstrip(".").split(".") if label) + b"\0"
    return b"\x5e\xc5\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x06\x00\x01"


def wait_answering(server: str, port: int, origin: str, process: subprocess.Popen[bytes] | None,
                   seconds: float = 30, prefix: tuple[str, ...] = ()) -> None:
    """Return once `server:port` answers a SOA query for `origin` with NOERROR."""
    deadline = time.monotonic() + seconds
    query = soa_query(origin)
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        if prefix:
            probe = subprocess.run([*prefix, "dig", f"@{server}", "-p", str(port), origin, "SOA",
                                    "+time=1", "+tries=1"], capture_output=True, text=True,
                                   check=False)
            if "NOERROR" in probe.stdout:
                return
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
            probe_socket.settimeout(0.3)
            try:
                probe_socket.sendto(query, (server, port))
                reply = probe_socket.recv(65535)
            except OSError:  # a timeout, or a refused port while the server starts
                time.sleep(0.1)
                continue
        if len(reply) >= 12 and reply[:2] == query[:2] and reply[3] & 0xF == 0:
            return
    raise RuntimeError(f"no answer from {server}:{port} within {seconds:.0f} s")


@contextmanager
def _running(argv: list[str], port: int, origin: str, log: Path) -> Iterator[tuple[int, int]]:
    """Run `argv` until it answers on `port`; yield (port, process id)."""
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
        try:
            try:
                wait_answering("127.0.0.1", port, origin, process)
            except RuntimeError as error:
                raise RuntimeError(f"`{' '.join(argv)}`: {error}: "
                                   f"{log.read_text(errors='replace')[-2000:]}") from None
            yield port, process.pid
        finally:
            stop(process)


def nsd_config(address: str, port: int, directory: Path | str,
               zones: Mapping[str, Path | str], edns_size: int | None = None,
               tcp_count: int | None = None) -> str:
    """NSD's configuration: one server process on `address`@`port`, nothing
    written outside `directory` (no database, no chroot, no user switch),
    no response-rate limiting, full responses, nothing told about itself
    over CHAOS; serving each origin of `zones` from its file.  `edns_size`
    is the UDP size NSD advertises and keeps to (ipv4-edns-size; NSD's
    default, 1232, when None), `tcp_count` its limit of TCP connections."""
    server = _NSD_SERVER.format(
        address=address, port=port, dir=directory,
        edns_size="" if edns_size is None else f"    ipv4-edns-size: {edns_size}\n",
        tcp_count="" if tcp_count is None else f"    tcp-count: {tcp_count}\n")
    return server + "".join(_NSD_ZONE.format(origin=origin, zone=zone)
                            for origin, zone in zones.items())


@contextmanager
def nsd_serving(workdir: Path, zones: Mapping[str, Path | str], edns_size: int | None = None,
                tcp_count: int | None = None) -> Iterator[tuple[int, int]]:
    """A private NSD on 127.0.0.1 at a free port serving `zones` (origin ->
    zone file, relative to `workdir` or absolute), its files in `workdir`, until it answers the first origin's
    SOA; yields (port, process id) and stops it by that process."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "nsd.conf"
    config.write_text(nsd_config("127.0.0.1", port, workdir, zones, edns_size, tcp_count))
    with ExitStack() as stack:
        try:
            running = stack.enter_context(_running([NSD, "-d", "-c", str(config)], port,
                                                   next(iter(zones)), workdir / "nsd.out"))
        except RuntimeError as error:
            log = workdir / "nsd.log"  # NSD's own (logfile:): its errors once it has started
            if log.exists():
                raise RuntimeError(f"{error}\n{log}: {log.read_text(errors='replace')[-2000:]}")\
                    from None
            raise
        yield running


@contextmanager
def nsd(workdir: Path, zone: Path, origin: str) -> Iterator[tuple[int, int]]:
    with nsd_serving(workdir, {origin: zone}) as running:
        yield running


@contextmanager
def knot(workdir: Path, zone: Path, origin: str) -> Iterator[tuple[int, int]]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "knot.conf"
    config.write_text(KNOT_CONFIG.format(port=port, dir=workdir, origin=origin, zone=zone))
    with _running(["/usr/sbin/knotd", "-c", str(config)], port, origin,
                  workdir / "knot.out") as running:
        yield running


@contextmanager
def bind(workdir: Path, zone: Path, origin: str) -> Iterator[tuple[int, int]]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "named.conf"
    config.write_text(BIND_CONFIG.format(port=port, dir=workdir, origin=origin, zone=zone))
    with _running(["/usr/sbin/named", "-g", "-n", "1", "-4", "-c", str(config)], port, origin,
                  workdir / "named.out") as running:
        yield running


def versions() -> dict[str, str]:
    """Each peer's version line, for the results."""
    out = {}
    for name, argv in (("nsd", [NSD, "-v"]), ("knot", ["/usr/sbin/knotd", "-V"]),
                       ("bind", ["/usr/sbin/named", "-v"])):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
        except OSError:
            out[name] = "not installed"
            continue
        out[name] = (done.stdout or done.stderr).strip().splitlines()[0] if (
            done.stdout or done.stderr) else "unknown"
    return out


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` and every process below it (NSD
    forks its server process; `ip netns exec` execs QEMU in place); each
    process's own total, which keeps the time of threads that have exited."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in qemu_profile.process_tree(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
    return total
