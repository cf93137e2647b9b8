"""The peer DNS servers of bench/dns.py: NSD, Knot and BIND (Debian packages,
scripts/setup.sh), each started here as a private instance on 127.0.0.1 at a
free port with a temporary configuration, one worker, serving one zone file.

The system services the packages install are disabled by setup.sh; nothing
here touches them.  Each server is configured as close to the others as its
options allow: no recursion, no rate limiting, full (not minimal) responses,
UDP and TCP on one port, one worker thread or process.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dns.message
import dns.query

NSD_CONFIG = """\
server:
    ip-address: 127.0.0.1@{port}
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
    minimal-responses: no
    refuse-any: no
remote-control:
    control-enable: no
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


def wait_answering(server: str, port: int, origin: str, process: subprocess.Popen[bytes] | None,
                   seconds: float = 30, prefix: tuple[str, ...] = ()) -> None:
    """Return once `server:port` answers a SOA query for `origin` with NOERROR."""
    deadline = time.monotonic() + seconds
    query = dns.message.make_query(origin, "SOA")
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
        try:
            reply = dns.query.udp(query, server, port=port, timeout=0.3)
        except (dns.exception.Timeout, OSError):
            time.sleep(0.1)
            continue
        if reply.rcode() == 0:
            return
    raise RuntimeError(f"no answer from {server}:{port} within {seconds:.0f} s")


@contextmanager
def _running(argv: list[str], port: int, origin: str, log: Path) -> Iterator[int]:
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
        try:
            try:
                wait_answering("127.0.0.1", port, origin, process)
            except RuntimeError as error:
                raise RuntimeError(f"`{' '.join(argv)}`: {error}: "
                                   f"{log.read_text(errors='replace')[-2000:]}") from None
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def nsd(workdir: Path, zone: Path, origin: str) -> Iterator[int]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "nsd.conf"
    config.write_text(NSD_CONFIG.format(port=port, dir=workdir, origin=origin, zone=zone))
    with _running(["/usr/sbin/nsd", "-d", "-c", str(config)], port, origin,
                  workdir / "nsd.out") as bound:
        yield bound


@contextmanager
def knot(workdir: Path, zone: Path, origin: str) -> Iterator[int]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "knot.conf"
    config.write_text(KNOT_CONFIG.format(port=port, dir=workdir, origin=origin, zone=zone))
    with _running(["/usr/sbin/knotd", "-c", str(config)], port, origin,
                  workdir / "knot.out") as bound:
        yield bound


@contextmanager
def bind(workdir: Path, zone: Path, origin: str) -> Iterator[int]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "named.conf"
    config.write_text(BIND_CONFIG.format(port=port, dir=workdir, origin=origin, zone=zone))
    with _running(["/usr/sbin/named", "-g", "-n", "1", "-4", "-c", str(config)], port, origin,
                  workdir / "named.out") as bound:
        yield bound


def versions() -> dict[str, str]:
    """Each peer's version line, for the results."""
    out = {}
    for name, argv in (("nsd", ["/usr/sbin/nsd", "-v"]), ("knot", ["/usr/sbin/knotd", "-V"]),
                       ("bind", ["/usr/sbin/named", "-v"])):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
        except OSError:
            out[name] = "not installed"
            continue
        out[name] = (done.stdout or done.stderr).strip().splitlines()[0] if (
            done.stdout or done.stderr) else "unknown"
    return out
