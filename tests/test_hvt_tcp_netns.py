"""TCP under stress, in network namespaces (root only; skipped with the
reason printed otherwise): the hvt images on taps and the unix images of the
same specs, on one bridge with their clients (tests/lossy_link.py).

- Lossy link, for hvt and unix: nftables drops 5% of the frames both ways
  and sends 25% to a slow htb class (reordering both ways); 10 fetches of a
  1 MiB file come byte-exact and DNS over TCP answers exactly as the
  answer engine does; the drop and reorder counters are printed.  The long
  runs (200 fetches of 1 MiB, 5 of 3 MiB over a 1 Mbit/s lossy link) take
  minutes: they are bench/tcp_lossy.py, not a test.
- Robustness of hvt, all bounded in count and time: 500 idle connections held
  open (tests/data/tcp_hold/hold.spec: a table of 600)
  while new fetches and queries are served; a 10 s SYN flood from spoofed
  addresses; 10,000 malformed segments from a raw socket; after each the
  image still serves.  QEMU's RSS and the image's own TCP counters (read
  through QEMU's monitor, tests/hvt_monitor.py) before and after.
- Fairness, for hvt and unix: 500 idle connections, then 8 clients that
  pipeline queries and never read, while UDP and new TCP queries are still
  answered within 100 ms.

One boot per image for the whole module.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.zone
import lossy_link
import pytest
from dns_queries import make
from hvt_monitor import monitor_args, tcp_counters
from servers import compile_spec
from test_c_targets import needs_qemu
from test_hvt_tcp_e2e import BIG, compared, make_site

from specc.backends.c.build import qemu_command
from specc.backends.dns.precompute import build_table
from specc.backends.python.runtime.dns_answer import answer

ROOT = Path(__file__).resolve().parent.parent
HOLD_SPEC = ROOT / "tests" / "data" / "tcp_hold" / "hold.spec"
HTTP_HVT, DNS_HVT = "10.0.0.4", "10.0.0.2"  # the specs' default addresses
HTTP_PORT, DNS_PORT = 8080, 53
QUERIES = [("www.example.org.", "A"), ("example.org.", "SOA"), ("example.org.", "ANY"),
           ("mail.example.org.", "MX"), ("alias.example.org.", "A"), ("nope.example.org.", "A"),
           ("anything.wild.example.org.", "TXT"), ("_sip._udp.example.org.", "SRV")]

WHY = lossy_link.why_not_available()
if WHY is not None:
    print(f"tests/test_hvt_tcp_netns.py: skipped: {WHY}", file=sys.stderr)
pytestmark = [needs_qemu, pytest.mark.skipif(WHY is not None, reason=WHY or "")]


@dataclass
class Running:
    """An image running in a namespace; what it printed so far."""

    process: subprocess.Popen[bytes]
    image: Path
    monitor: Path | None = None  # hvt: QEMU's monitor socket
    output: bytes = b""
    stream: str = "stdout"

    def read_until(self, pattern: bytes, timeout: float) -> bool:
        pipe = getattr(self.process, self.stream)
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output) and time.monotonic() < deadline:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            data = os.read(pipe.fileno(), 4096) if ready else b""
            if not data:
                break
            self.output += data
        return re.search(pattern, self.output) is not None

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert found is not None
        return int(found[1])

    def counters(self) -> dict[str, int]:
        assert self.monitor is not None
        return tcp_counters(self.image, self.monitor)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate(timeout=20)


@dataclass
class World:
    link: lossy_link.Link
    site: Path
    images: dict[str, Running] = field(default_factory=dict)
    table: dict[str, Any] = field(default_factory=dict)

    def http(self, target: str) -> tuple[str, int]:
        return (HTTP_HVT if target == "hvt" else lossy_link.SERVER), HTTP_PORT

    def dns(self, target: str) -> tuple[str, int]:
        return (DNS_HVT if target == "hvt" else lossy_link.SERVER), DNS_PORT

    def connect(self, where: tuple[str, int], timeout: float = 20) -> socket.socket:
        return lossy_link.connect_in(self.link.client, where[0], where[1], timeout)


def boot_hvt(link: lossy_link.Link, image: Path, tap: str, work: Path) -> Running:
    monitor = work / f"{tap}.monitor"
    # One MAC per image: QEMU's default is the same for all, and on one
    # bridge two images with one MAC steal each other's frames.
    mac = f"52:54:00:12:35:{int(tap.removeprefix('tap')):02x}"
    argv = [*qemu_command(image, net=lossy_link.tap_netdev(tap), mac=mac), *monitor_args(monitor)]
    process = subprocess.Popen(lossy_link.in_ns(link.router, argv), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    running = Running(process, image, monitor)
    if not running.read_until(rb"listening: tcp [\d.]+:\d+\r?\n", 120):
        running.stop()
        pytest.fail(f"{image.name} did not start: {running.output!r}")
    return running


def boot_unix(link: lossy_link.Link, image: Path) -> Running:
    process = subprocess.Popen(
        lossy_link.in_ns(link.server, [str(image), f"--bind={lossy_link.SERVER}"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    running = Running(process, image, stream="stderr")
    if not running.read_until(rb"listening: tcp [\d.]+:\d+\n", 30):
        running.stop()
        pytest.fail(f"{image.name} did not start: {running.output!r}")
    return running


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("netns")
    site = make_site(work)
    http_spec, dns_spec = ROOT / "examples" / "http.spec", ROOT / "examples" / "dns.spec"
    built = {
        # 600 connection slots (the default is 64) so 500 idle ones stay open.
        "hvt http": compile_spec(HOLD_SPEC, work / "hh", "hvt", "-D", f"site={site}"),
        "hvt dns": compile_spec(dns_spec, work / "hd", "hvt", "-D", "tcp=true"),
        "unix http": compile_spec(http_spec, work / "uh", "unix", "-D", f"site={site}"),
        "unix dns": compile_spec(dns_spec, work / "ud", "unix", "-D", "tcp=true"),
    }
    zone = dns.zone.from_file(str(ROOT / "examples" / "zones" / "example.org.zone"),
                              origin=None, relativize=False)
    with lossy_link.link(f"sct{os.getpid()}", taps=2) as link:
        found = World(link, site, table=build_table(zone))
        try:
            found.images["hvt http"] = boot_hvt(link, built["hvt http"], "tap0", work)
            found.images["hvt dns"] = boot_hvt(link, built["hvt dns"], "tap1", work)
            found.images["unix http"] = boot_unix(link, built["unix http"])
            found.images["unix dns"] = boot_unix(link, built["unix dns"])
            yield found
        finally:
            for running in found.images.values():
                running.stop()


@pytest.fixture
def clean(world: World) -> Iterator[World]:
    world.link.clear()
    yield world
    world.link.clear()
    for name, running in world.images.items():
        assert running.alive(), f"{name} stopped: {running.output[-2000:]!r}"


# ---- clients -----------------------------------------------------------------------


def fetch(world: World, where: tuple[str, int], path: str, timeout: float = 60) -> bytes:
    """GET path on a new connection (Connection: close); the body."""
    with world.connect(where, timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        deadline = time.monotonic() + timeout
        data = b""
        while time.monotonic() < deadline:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head[:200]
    length = re.search(rb"\r\nContent-Length: (\d+)", head)
    assert length is not None and int(length[1]) == len(body), (head, len(body))
    return body


def expected_answer(world: World, wire: bytes) -> bytes | None:
    """What dns_over_tcp answers: never cut, the UDP size (1232) advertised."""
    return answer(world.table, wire, 1232, tcp=True)


def tcp_queries(world: World, target: str) -> None:
    """Every query of QUERIES on one connection: the answer engine's answers
    (the python twin's; records compared one by one, as in test_hvt_tcp_e2e)."""
    with world.connect(world.dns(target)) as s:
        for name, rdtype in QUERIES:
            wire = make(name, rdtype)
            dns.query.send_tcp(s, wire, time.time() + 20)
            got, _ = dns.query.receive_tcp(s, time.time() + 20)
            assert compared(got.to_wire()) == compared(expected_answer(world, wire) or b""), \
                (name, rdtype)


def udp_query(world: World, target: str, wire: bytes, timeout: float) -> float | None:
    """Seconds until the answer to one UDP query; None when none came."""
    with lossy_link.socket_in(world.link.client, kind=socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        start = time.monotonic()
        s.sendto(wire, world.dns(target))
        try:
            reply, _ = s.recvfrom(65535)
        except TimeoutError:
            return None
        assert compared(reply) == compared(answer(world.table, wire, 1232) or b"")
        return time.monotonic() - start


def tcp_query_time(world: World, target: str, wire: bytes, timeout: float) -> float | None:
    """Seconds for a new connection, one query and its answer; None on failure."""
    start = time.monotonic()
    try:
        with world.connect(world.dns(target), timeout) as s:
            dns.query.send_tcp(s, wire, time.time() + timeout)
            got, _ = dns.query.receive_tcp(s, time.time() + timeout)
    except (OSError, dns.exception.DNSException):
        return None
    assert compared(got.to_wire()) == compared(expected_answer(world, wire) or b"")
    return time.monotonic() - start


def idle_connections(world: World, where: tuple[str, int], count: int) -> list[socket.socket]:
    """`count` connections that send nothing (bounded: 60 s in all)."""
    opened: list[socket.socket] = []
    deadline = time.monotonic() + 60
    while len(opened) < count and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            opened.append(world.connect(where, 5))
    assert len(opened) == count, f"only {len(opened)} of {count} connections opened"
    return opened


def still_open(conns: list[socket.socket]) -> int:
    """How many of `conns` the server has not reset or closed."""
    alive = 0
    for s in conns:
        s.setblocking(False)
        try:
            s.recv(1)  # b"": closed by the server
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def close_all(conns: list[socket.socket]) -> None:
    for s in conns:
        s.close()


# ---- the lossy link -----------------------------------------------------------------


@pytest.mark.parametrize("target", ["hvt", "unix"])
def test_lossy_link_fetches_and_queries(clean: World, target: str) -> None:
    world = clean
    content = (world.site / BIG).read_bytes()
    before = world.images[f"{target} http"].counters() if target == "hvt" else {}
    world.link.impair(drop=5, reorder=25)
    start = time.monotonic()
    for i in range(10):
        assert fetch(world, world.http(target), "/" + BIG) == content, f"fetch {i}"
    tcp_queries(world, target)
    seconds = time.monotonic() - start
    counters = world.link.counters()
    print(f"\n{target}: 10 x 1 MiB and {len(QUERIES)} TCP queries over the lossy link in "
          f"{seconds:.1f} s; link: {counters}")
    if target == "hvt":
        after = world.images["hvt http"].counters()
        grown = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        print(f"hvt http image's TCP counters, grown by: {grown}")
        assert grown.get("segments_retransmitted", 0) > 0
    assert counters["dropped"] > 0 and counters["reordered"] > 0
    assert counters["client_out_of_order"] > 0


# ---- robustness (hvt) ----------------------------------------------------------------


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_segment(src: str, dst: str, sport: int, dport: int, seq: int, flags: int,
                options: bytes = b"", payload: bytes = b"", offset: int | None = None,
                good_sum: bool = True) -> bytes:
    words = (20 + len(options)) // 4 if offset is None else offset
    header = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, words << 4, flags, 65535, 0, 0)
    segment = header + options + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">BBH", 0, 6,
                                                                            len(segment))
    value = checksum(pseudo + segment) ^ (0 if good_sum else 0x5A5A)
    return segment[:16] + struct.pack(">H", value) + segment[18:]


def ipv4(src: str, dst: str, payload: bytes) -> bytes:
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, 6, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header[:10] + struct.pack(">H", checksum(header)) + header[12:] + payload


def syn_flood(world: World, seconds: float, limit: int) -> int:
    """SYNs from spoofed, absent hosts of the subnet to the HTTP image; how many."""
    rng = random.Random(7)
    sent = 0
    with lossy_link.socket_in(world.link.client, kind=socket.SOCK_RAW,
                              proto=socket.IPPROTO_RAW) as raw:
        end = time.monotonic() + seconds
        while time.monotonic() < end and sent < limit:
            src = f"10.0.0.{rng.randrange(100, 250)}"
            syn = tcp_segment(src, HTTP_HVT, rng.randrange(1024, 65535), HTTP_PORT,
                              rng.getrandbits(32), 0x02, options=b"\x02\x04\x05\xb4")
            with contextlib.suppress(BlockingIOError, OSError):
                raw.sendto(ipv4(src, HTTP_HVT, syn), (HTTP_HVT, 0))
                sent += 1
            if sent % 200 == 0:
                time.sleep(0.005)  # a few thousand a second: what the guest can take in
    return sent


def malformed(rng: random.Random, sport: int) -> bytes:
    """One bad TCP segment to the HTTP image, of a kind chosen at random."""
    src, dst, seq = lossy_link.CLIENT, HTTP_HVT, rng.getrandbits(32)
    kind = rng.randrange(7)
    if kind == 0:  # bad checksum
        return tcp_segment(src, dst, sport, HTTP_PORT, seq, 0x02, good_sum=False)
    if kind == 1:  # data offset below 5
        return tcp_segment(src, dst, sport, HTTP_PORT, seq, 0x02, offset=rng.randrange(5))
    if kind == 2:  # data offset past the end
        return tcp_segment(src, dst, sport, HTTP_PORT, seq, 0x02, offset=rng.randrange(6, 16))
    if kind == 3:  # impossible flags: SYN+FIN, SYN+RST, RST+FIN, none
        flags = rng.choice([0x03, 0x06, 0x05, 0x00, 0x20])
        return tcp_segment(src, dst, sport, HTTP_PORT, seq, flags)
    if kind == 4:  # an option of length 0, 1 or past the header
        option = rng.choice([b"\x02\x00\x00\x00", b"\x03\x01\x00\x00", b"\x02\x09\x05\xb4"])
        return tcp_segment(src, dst, sport, HTTP_PORT, seq, 0x02, options=option)
    if kind == 5:  # shorter than a header
        return rng.randbytes(rng.randrange(1, 20))
    return rng.randbytes(rng.randrange(20, 80))  # noise


def send_malformed(world: World, count: int) -> None:
    rng = random.Random(13)
    with lossy_link.socket_in(world.link.client, kind=socket.SOCK_RAW,
                              proto=socket.IPPROTO_TCP) as raw:
        for i in range(count):
            with contextlib.suppress(OSError):
                raw.sendto(malformed(rng, 20000 + i % 20000), (HTTP_HVT, 0))
            if i % 100 == 99:
                time.sleep(0.01)  # the guest's receive ring is 64 frames


def serves(world: World, within: float) -> float:
    """Seconds until a fetch and a TCP query both succeed (bounded by `within`)."""
    start = time.monotonic()
    while True:
        try:
            fetch(world, world.http("hvt"), "/hello.txt", timeout=5)
            tcp_queries(world, "hvt")
            return time.monotonic() - start
        except (OSError, AssertionError, dns.exception.DNSException):
            if time.monotonic() - start > within:
                raise
            time.sleep(0.5)


def test_hvt_robustness(clean: World) -> None:
    world = clean
    http = world.images["hvt http"]
    rss_before, counters_before = http.rss_kib(), http.counters()
    content = (world.site / BIG).read_bytes()

    idle = idle_connections(world, world.http("hvt"), 500)
    try:
        assert fetch(world, world.http("hvt"), "/" + BIG) == content
        tcp_queries(world, "hvt")
        held = still_open(idle)
        print(f"\n500 idle connections: {held} still open after new fetches "
              f"(the table holds 600)")
        assert held == 500
    finally:
        close_all(idle)
    after_idle = http.counters()

    sent = syn_flood(world, seconds=10, limit=300_000)
    recovered = serves(world, within=30)
    after_flood = http.counters()
    print(f"SYN flood: {sent} SYNs in 10 s; serving again after {recovered:.1f} s; "
          f"SYNs seen {after_flood['syn_received'] - after_idle['syn_received']}, "
          f"half-open evicted {after_flood['syn_evicted'] - after_idle['syn_evicted']}")

    send_malformed(world, 10_000)
    assert serves(world, within=30) < 30
    after = http.counters()
    rss_after = http.rss_kib()
    bad = {k: after[k] - after_flood[k] for k in
           ("bad_checksum", "bad_header", "bad_options", "bad_flags", "no_connection")}
    print(f"10,000 malformed segments: counted {bad}")
    print(f"QEMU RSS {rss_before} KiB before, {rss_after} KiB after")
    grown = {k: after[k] - counters_before[k] for k in after if after[k] != counters_before[k]}
    print(f"hvt http image's TCP counters, grown by: {grown}")
    # Some frames are lost before TCP (the receive ring, a raw packet the
    # kernel or the guest's IPv4 drops), but most must be counted as bad.
    assert all(bad[k] > 0 for k in ("bad_checksum", "bad_header", "bad_options", "bad_flags"))
    assert sum(bad.values()) > 5_000
    assert after_idle["evicted"] == counters_before["evicted"]  # 500 idle, 600 slots
    assert after_flood["syn_received"] - after_idle["syn_received"] > 1000
    assert rss_after - rss_before < 32 * 1024  # at most the guest's memory touched


# ---- fairness under slow clients ---------------------------------------------------


def non_reader(world: World, target: str) -> socket.socket:
    """A client with a tiny receive buffer that pipelines queries with large
    answers and never reads them."""
    s = lossy_link.socket_in(world.link.client)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(world.dns(target))
    s.setblocking(False)
    query = make("example.org.", "ANY")
    framed = struct.pack(">H", len(query)) + query
    with contextlib.suppress(BlockingIOError):
        for _ in range(4000):
            s.send(framed)
    return s


@pytest.mark.parametrize("target", ["hvt", "unix"])
def test_fairness_under_slow_clients(clean: World, target: str) -> None:
    world = clean
    idle = idle_connections(world, world.dns(target), 500)
    readers = [non_reader(world, target) for _ in range(8)]
    try:
        time.sleep(1)  # the answers pile up
        rng = random.Random(3)
        udp_times, tcp_times = [], []
        for _ in range(40):
            name, rdtype = rng.choice(QUERIES)
            udp_times.append(udp_query(world, target, make(name, rdtype), 2.0))
            tcp_times.append(tcp_query_time(world, target, make(name, rdtype), 2.0))
    finally:
        close_all(idle + readers)

    def within(times: list[float | None]) -> int:
        return sum(t is not None and t <= 0.1 for t in times)

    def worst(times: list[float | None]) -> str:
        return "none" if None in times else f"{max(t for t in times if t is not None):.3f} s"

    print(f"\n{target}: UDP {within(udp_times)}/40 within 100 ms (worst {worst(udp_times)}), "
          f"new TCP {within(tcp_times)}/40 (worst {worst(tcp_times)})")
    # 95%, and every one answered: the machine is shared, a rare stall is its own.
    assert within(udp_times) >= 38 and None not in udp_times
    assert within(tcp_times) >= 38 and None not in tcp_times
