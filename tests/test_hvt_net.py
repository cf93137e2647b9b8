"""The hvt target's IPv4 stack (``backends/c/runtime/net``) on the host and under QEMU.

Three layers:

* ``net/selftest_host.c`` compiles ``net.c`` for the host (gcc, AddressSanitizer
  and UBSan when available) over a fake platform: checksums against RFC 1071's
  example, ARP, ICMP, UDP, the neighbour cache's timers, and a fuzzer that hands
  mutated frames to the stack in buffers of exactly their length.
* ``net/selftest_udp_echo.c`` (10.0.2.15/24 via 10.0.2.2, UDP echo on port 7,
  "stop" exits 5) built with ``build_hvt`` and booted with QEMU user networking
  and a ``hostfwd``: echoes of several sizes from the host, 500 garbage
  datagrams (some too large for the MTU, so slirp fragments them and the guest
  drops the fragments), a valid echo after them, then "stop".
* The same image on a ``-netdev socket,udp=`` backend, where this test is the
  only other host on the Ethernet: it checks the guest's ARP, ICMP and UDP
  frames field by field and sends 500 frames broken at every layer.

Every boot and every socket wait is bounded.  The echo round-trip time under
the chosen accelerator is printed, not asserted.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import statistics
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from host_c import compile_host_test, compile_strict

from specc.backends.c.build import (
    RUNTIME_DIR,
    build_hvt,
    choose_accel,
    decode_exit_status,
    find_cc,
    qemu_command,
)

QEMU = "qemu-system-x86_64"
NET_DIR = RUNTIME_DIR / "net"
ECHO_SOURCES = [NET_DIR / "net.c", NET_DIR / "selftest_udp_echo.c"]
HOST_TEST_SOURCE = NET_DIR / "selftest_host.c"

STOP_STATUS = 5
GUEST_TIMEOUT_S = 60.0  # a whole boot, from launch to exit
REPLY_TIMEOUT_S = 2.0
BOOT_DEADLINE_S = 30.0
UDP_PAYLOAD_MAX = 1472  # MTU 1500 - IPv4 header - UDP header

GUEST_IP = "10.0.2.15"
GATEWAY_IP = "10.0.2.2"
GUEST_MAC = bytes.fromhex("525400123456")
GATEWAY_MAC = bytes.fromhex("52550a000202")
BROADCAST_MAC = b"\xff" * 6

needs_cc = pytest.mark.skipif(
    find_cc() is None, reason="no C compiler: install gcc (scripts/setup.sh does)"
)
needs_qemu = pytest.mark.skipif(
    shutil.which(QEMU) is None,
    reason=f"{QEMU} not installed: Debian package qemu-system-x86 (scripts/setup.sh installs it)",
)


# ---- host unit tests -----------------------------------------------------------


@needs_cc
def test_stack_on_the_host_with_a_fake_platform(tmp_path: Path) -> None:
    cc = find_cc()
    assert cc is not None
    exe = tmp_path / "net_host_test"
    flags = compile_host_test(cc, [HOST_TEST_SOURCE], exe)
    run = subprocess.run([str(exe), "200000"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"net host test: \d+ checks, 0 failed", run.stdout), run.stdout
    if flags:
        assert "Sanitizer" not in run.stderr, run.stderr


@needs_cc
def test_the_stack_is_warning_free_with_strict_host_flags(tmp_path: Path) -> None:
    """Beyond build.py's flags: pedantic C11, conversions and shadowing."""
    cc = find_cc()
    assert cc is not None
    compile_strict(cc, NET_DIR / "net.c", tmp_path / "net.o")


# ---- booting the echo image --------------------------------------------------------


@pytest.fixture(scope="module")
def echo_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_cc() is None:
        pytest.skip("no C compiler: install gcc (scripts/setup.sh does)")
    return build_hvt(ECHO_SOURCES, tmp_path_factory.mktemp("hvt-net") / "udp_echo.elf")


@dataclass
class Guest:
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    eof: threading.Event = field(default_factory=threading.Event)

    def read_console(self) -> None:
        assert self.proc.stdout is not None
        try:
            for raw in self.proc.stdout:
                with self.lock:
                    self.lines.append(raw.decode(errors="replace").rstrip("\r\n"))
        finally:
            self.eof.set()

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            ended = self.eof.is_set()  # before the copy: then the copy holds every line
            with self.lock:
                new = self.lines[seen:]
            for line in new:
                m = re.fullmatch(pattern, line)
                if m:
                    return m
            seen += len(new)
            if ended or time.monotonic() > deadline:
                pytest.fail(f"no console line matches {pattern!r}:\n{self.transcript()}")
            time.sleep(0.01)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the guest did not exit within {timeout} s:\n{self.transcript()}")

    def transcript(self) -> str:
        with self.lock:
            lines = list(self.lines)
        stderr = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return "\n".join([*lines, f"--- returncode {self.proc.poll()}", stderr])


@contextmanager
def running_guest(image: Path, tmp_path: Path, net: str, mac: str | None = None) -> Iterator[Guest]:
    cmd = qemu_command(image, net=net, mac=mac)
    stderr_path = tmp_path / "qemu.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr)
    guest = Guest(proc, stderr_path)
    reader = threading.Thread(target=guest.read_console, daemon=True)
    reader.start()
    watchdog = threading.Timer(GUEST_TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        yield guest
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(timeout=5)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def counters(guest: Guest) -> dict[str, int]:
    """The stack's counters as the image prints them on "stop"."""
    m = guest.wait_for_line(
        r"net: rx (\d+) malformed (\d+) ignored (\d+) oversize (\d+) fragments (\d+)", 5)
    names = ("rx", "malformed", "ignored", "oversize", "fragments")
    out = dict(zip(names, map(int, m.groups()), strict=True))
    m = guest.wait_for_line(r"net: arp replies (\d+) requests (\d+) unresolved (\d+)", 5)
    out.update(zip(("arp_replies", "arp_requests", "arp_unresolved"), map(int, m.groups()),
                   strict=True))
    m = guest.wait_for_line(
        r"net: icmp echo (\d+) unreachable (\d+) udp delivered (\d+) no-listener (\d+)", 5)
    out.update(zip(("icmp_echo", "icmp_unreachable", "udp_delivered", "udp_no_listener"),
                   map(int, m.groups()), strict=True))
    m = guest.wait_for_line(r"net: tx (\d+) errors (\d+)", 5)
    out.update(zip(("tx", "tx_errors"), map(int, m.groups()), strict=True))
    return out


def print_rtt(capsys: pytest.CaptureFixture[str], what: str, rtts: list[float]) -> None:
    with capsys.disabled():
        print(f"\nhvt net: {what}: median {statistics.median(rtts) * 1e6:.0f} us, "
              f"min {min(rtts) * 1e6:.0f} us, max {max(rtts) * 1e6:.0f} us over {len(rtts)} "
              f"(accel {choose_accel().name})")


# ---- QEMU user networking ------------------------------------------------------------


@needs_qemu
@needs_cc
def test_udp_echo_through_user_networking(
    echo_image: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_udp_port()
    net = f"user,hostfwd=udp:127.0.0.1:{port}-{GUEST_IP}:7"
    rng = random.Random(826)
    with running_guest(echo_image, tmp_path, net) as guest, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        guest.wait_for_line(r"udp-echo: listening on 10\.0\.2\.15:7", BOOT_DEADLINE_S)
        dest = ("127.0.0.1", port)

        def echo(payload: bytes, timeout: float = REPLY_TIMEOUT_S) -> bytes | None:
            """Send payload; the first datagram that comes back equal to it, or None."""
            s.sendto(payload, dest)
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                s.settimeout(left)
                try:
                    data = s.recv(65535)
                except TimeoutError:
                    break
                if data == payload:
                    return data
            return None

        # The first datagram may be lost while slirp learns the guest's MAC.
        deadline = time.monotonic() + BOOT_DEADLINE_S
        while echo(b"hello", timeout=0.5) is None:
            assert time.monotonic() < deadline, guest.transcript()

        rtts: list[float] = []
        for size in (1, 18, 64, 512, 1000, 1400, UDP_PAYLOAD_MAX):
            for _ in range(10):
                payload = rng.randbytes(size)
                start = time.perf_counter()
                assert echo(payload) == payload, f"no echo of {size} bytes:\n{guest.transcript()}"
                rtts.append(time.perf_counter() - start)

        # Garbage: random bytes of random sizes; those above the MTU reach the
        # guest as IP fragments, which it drops.  Paced in bursts so that no
        # queue on the way overflows.
        sent_in_mtu: list[bytes] = []
        oversize = 0
        echoed: list[bytes] = []
        s.settimeout(0.2)
        for burst in range(20):
            for i in range(25):
                if (burst * 25 + i) % 10 == 0:
                    payload = rng.randbytes(rng.randint(UDP_PAYLOAD_MAX + 1, 4000))
                    oversize += 1
                else:
                    payload = rng.randbytes(rng.randint(1, UDP_PAYLOAD_MAX))
                    if payload == b"stop":
                        continue
                    sent_in_mtu.append(payload)
                s.sendto(payload, dest)
            while len(echoed) < len(sent_in_mtu):
                try:
                    echoed.append(s.recv(65535))
                except TimeoutError:
                    break
        assert oversize == 50
        assert set(echoed) <= set(sent_in_mtu), "an echo differs from every datagram sent"
        assert len(echoed) >= 0.9 * len(sent_in_mtu), (len(echoed), len(sent_in_mtu))

        marker = b"after the garbage"
        assert echo(marker) == marker, guest.transcript()

        s.sendto(b"stop", dest)
        returncode = guest.wait_exit(10)
        assert decode_exit_status(returncode) == STOP_STATUS, guest.transcript()
        stats = counters(guest)
        assert stats["fragments"] >= 2 * oversize, stats  # every oversize datagram: 2+ fragments
        assert stats["malformed"] == 0 and stats["tx_errors"] == 0, stats
        assert stats["udp_delivered"] >= len(echoed) + len(rtts) + 2, stats
    print_rtt(capsys, "UDP echo round trip through slirp", rtts)


# ---- raw Ethernet over -netdev socket ----------------------------------------------------


def inet_checksum(data: bytes) -> int:
    """RFC 1071: the complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip4(text: str) -> bytes:
    return socket.inet_aton(text)


def eth(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes) -> bytes:
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, *, flags: int = 0x4000,
         ttl: int = 64, options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 0x1234, flags,
                         ttl, proto, 0, src, dst) + options
    checksum = inet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def udp(src: bytes, dst: bytes, sport: int, dport: int, data: bytes, *,
        checksum: bool = True) -> bytes:
    header = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    if not checksum:
        return header + data
    pseudo = src + dst + struct.pack("!BBH", 0, 17, 8 + len(data))
    c = inet_checksum(pseudo + header + data) or 0xFFFF
    return header[:6] + struct.pack("!H", c) + data


def icmp_echo_request(ident: int, seq: int, data: bytes) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", inet_checksum(body)) + body[4:]


@dataclass
class Decoded:
    """An IPv4 frame from the guest, its headers checked."""

    eth_dst: bytes
    src: bytes
    dst: bytes
    proto: int
    payload: bytes


def decode_ipv4(frame: bytes) -> Decoded:
    assert frame[6:12] == GUEST_MAC and frame[12:14] == b"\x08\x00", frame.hex()
    ip = frame[14:]
    version_ihl, _, total, _, flags, ttl, proto, _, src, dst = struct.unpack(
        "!BBHHHBBH4s4s", ip[:20])
    assert version_ihl == 0x45 and inet_checksum(ip[:20]) == 0, frame.hex()
    assert flags == 0x4000 and ttl == 64, frame.hex()  # DF, no fragment; TTL 64
    assert 20 <= total <= len(ip), frame.hex()
    return Decoded(frame[:6], src, dst, proto, ip[20:total])


class Wire:
    """This test's end of the Ethernet: a UDP socket that QEMU's socket netdev talks to."""

    def __init__(self, sock: socket.socket, qemu_port: int) -> None:
        self.sock = sock
        self.qemu = ("127.0.0.1", qemu_port)

    def send(self, frame: bytes) -> None:
        self.sock.sendto(frame, self.qemu)

    def recv(self, timeout: float = REPLY_TIMEOUT_S) -> bytes | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65535)
        except TimeoutError:
            return None

    def expect(self, want: Callable[[bytes], bool], timeout: float = REPLY_TIMEOUT_S) -> bytes:
        """The first frame that satisfies want; fails on timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = self.recv(left)
            if frame is not None and want(frame):
                return frame
        pytest.fail("no matching frame from the guest")

    def drain(self, quiet: float = 0.3, limit: float = 10.0) -> list[bytes]:
        """Frames until none came for quiet seconds (or limit passed)."""
        frames = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and (frame := self.recv(quiet)) is not None:
            frames.append(frame)
        return frames


def is_arp(frame: bytes, op: int) -> bool:
    return frame[12:14] == b"\x08\x06" and len(frame) >= 42 and frame[20:22] == struct.pack("!H", op)


def is_ipv4(frame: bytes) -> bool:
    return frame[12:14] == b"\x08\x00"


def malformed_frames(rng: random.Random) -> tuple[list[bytes], dict[str, int]]:
    """500 frames the guest must drop, and how many of each verdict it should count."""
    us, gw = ip4(GUEST_IP), ip4(GATEWAY_IP)
    good_udp = udp(gw, us, 4000, 7, b"must not be echoed")
    good_ip = ipv4(gw, us, 17, good_udp)

    def to_guest(payload: bytes, ethertype: int = 0x0800) -> bytes:
        return eth(GUEST_MAC, GATEWAY_MAC, ethertype, payload)

    def patch(data: bytes, at: int, new: bytes) -> bytes:
        return data[:at] + new + data[at + len(new):]

    def refix(ip: bytes) -> bytes:
        """Recompute the header checksum after a patch, so only the patch is wrong."""
        ihl = (ip[0] & 15) * 4
        ip = patch(ip, 10, b"\0\0")
        return patch(ip, 10, struct.pack("!H", inet_checksum(ip[:ihl])))

    def bad_header_checksum() -> bytes:
        wrong = inet_checksum(good_ip[:20]) ^ rng.randint(1, 0xFFFF)
        return patch(refix(good_ip), 10, struct.pack("!H", wrong))

    def bad_udp_checksum() -> bytes:
        wrong = struct.unpack("!H", good_udp[6:8])[0] ^ rng.randint(1, 0xFFFF)
        return ipv4(gw, us, 17, patch(good_udp, 6, struct.pack("!H", wrong or 0xFFFF)))

    def udp_length_past_the_packet() -> bytes:
        length = struct.pack("!H", rng.randint(len(good_udp) + 1, 65535))
        return ipv4(gw, us, 17, patch(good_udp, 4, length))

    def bad_icmp_checksum() -> bytes:
        req = icmp_echo_request(1, 1, b"x" * rng.randint(0, 50))
        wrong = struct.unpack("!H", req[2:4])[0] ^ rng.randint(1, 0xFFFF)
        return ipv4(gw, us, 1, patch(req, 2, struct.pack("!H", wrong)))

    def version(v: int) -> bytes:
        return refix(patch(good_ip, 0, bytes([v << 4 | 5])))

    def total_length(n: int) -> bytes:
        return refix(patch(good_ip, 2, struct.pack("!H", n)))

    arp_request = arp(1, GATEWAY_MAC, gw, bytes(6), us)
    kinds: list[tuple[str, Callable[[], bytes]]] = [
        ("malformed", lambda: rng.randbytes(rng.randint(1, 13))),  # runt
        ("malformed", lambda: to_guest(good_ip[: rng.randint(0, 19)])),  # truncated header
        ("malformed", lambda: to_guest(version(rng.choice([0, 6, 15])))),
        ("malformed", lambda: to_guest(refix(patch(good_ip, 0, bytes([0x40 | rng.randint(0, 4)]))))),
        ("malformed", lambda: to_guest(total_length(rng.randint(len(good_ip) + 1, 65535)))),
        ("malformed", lambda: to_guest(total_length(rng.randint(0, 19)))),
        ("malformed", lambda: to_guest(bad_header_checksum())),
        ("malformed", lambda: to_guest(bad_udp_checksum())),
        ("malformed", lambda: to_guest(udp_length_past_the_packet())),
        ("malformed", lambda: to_guest(ipv4(gw, us, 17, good_udp[: rng.randint(0, 7)]))),
        ("malformed", lambda: to_guest(bad_icmp_checksum())),
        ("malformed", lambda: to_guest(arp_request[: rng.randint(0, 27)], 0x0806)),
        ("fragments", lambda: to_guest(ipv4(gw, us, 17, good_udp, flags=0x2000 | rng.randint(0, 99)))),
        ("fragments", lambda: to_guest(ipv4(gw, us, 17, good_udp, flags=rng.randint(1, 0x1FFF)))),
        ("ignored", lambda: eth(bytes.fromhex("020000000001"), GATEWAY_MAC, 0x0800, good_ip)),
        ("ignored", lambda: to_guest(good_ip, rng.choice([0x86DD, 0x8100, 0x88CC]))),
        ("ignored", lambda: to_guest(ipv4(gw, ip4("10.0.2.16"), 17, good_udp))),
        ("ignored", lambda: to_guest(ipv4(gw, us, 6, rng.randbytes(20)))),
        ("ignored", lambda: to_guest(ipv4(ip4("224.0.0.1"), us, 17, good_udp))),
        ("ignored", lambda: to_guest(patch(arp_request, 2, b"\x86\xdd"), 0x0806)),
        ("oversize", lambda: to_guest(good_ip + rng.randbytes(rng.randint(1501 - len(good_ip), 1900)))),
    ]

    frames: list[bytes] = []
    expected = {"malformed": 0, "ignored": 0, "fragments": 0, "oversize": 0}
    for i in range(500):
        verdict, make = kinds[i % len(kinds)]
        frames.append(make())
        expected[verdict] += 1
    return frames, expected


def check_udp(d: Decoded, sport: int, dport: int, data: bytes) -> None:
    assert d.proto == 17
    header, got = d.payload[:8], d.payload[8:]
    assert struct.unpack("!HHH", header[:6]) == (sport, dport, 8 + len(data))
    assert got == data
    assert header[6:8] != b"\0\0", "the guest must checksum its datagrams"
    pseudo = d.src + d.dst + struct.pack("!BBH", 0, 17, len(d.payload))
    assert inet_checksum(pseudo + d.payload) == 0


@needs_qemu
@needs_cc
def test_raw_frames_over_a_socket_netdev(
    echo_image: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This test is the only other host on the guest's Ethernet (QEMU's socket netdev)."""
    us, gw = ip4(GUEST_IP), ip4(GATEWAY_IP)
    far = ip4("198.51.100.7")
    peer_ip, peer_mac = ip4("10.0.2.77"), bytes.fromhex("02000000004d")
    rng = random.Random(791)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        qemu_port = free_udp_port()
        net = f"socket,udp=127.0.0.1:{sock.getsockname()[1]},localaddr=127.0.0.1:{qemu_port}"
        with running_guest(echo_image, tmp_path, net, mac=GUEST_MAC.hex(":")) as guest:
            guest.wait_for_line(r"udp-echo: listening on 10\.0\.2\.15:7", BOOT_DEADLINE_S)
            wire = Wire(sock, qemu_port)

            # At start the guest announces its address (RFC 5227 2.3): an ARP
            # request for its own address, so neighbours learn its MAC.
            announcement = wire.expect(lambda f: is_arp(f, 1))
            assert announcement[:12] == BROADCAST_MAC + GUEST_MAC
            assert announcement[28:32] == us and announcement[38:42] == us

            # From off the subnet: the guest asks for its gateway's MAC, keeps
            # the echo meanwhile and sends it once answered.
            wire.send(eth(GUEST_MAC, GATEWAY_MAC, 0x0800,
                          ipv4(far, us, 17, udp(far, us, 5555, 7, b"via the gateway"))))
            request = wire.expect(lambda f: is_arp(f, 1))
            assert request[:12] == BROADCAST_MAC + GUEST_MAC
            assert request[22:28] == GUEST_MAC and request[28:32] == us and request[38:42] == gw
            wire.send(eth(GUEST_MAC, GATEWAY_MAC, 0x0806, arp(2, GATEWAY_MAC, gw, GUEST_MAC, us)))
            d = decode_ipv4(wire.expect(is_ipv4))
            assert d.eth_dst == GATEWAY_MAC and d.src == us and d.dst == far
            check_udp(d, 7, 5555, b"via the gateway")

            # ARP: a request for our address is answered to the requester.
            wire.send(eth(BROADCAST_MAC, peer_mac, 0x0806, arp(1, peer_mac, peer_ip, bytes(6), us)))
            reply = wire.expect(lambda f: is_arp(f, 2))
            assert reply[:12] == peer_mac + GUEST_MAC
            assert reply[22:28] == GUEST_MAC and reply[28:32] == us
            assert reply[32:38] == peer_mac and reply[38:42] == peer_ip
            # ... and not for another one.
            wire.send(eth(BROADCAST_MAC, peer_mac, 0x0806,
                          arp(1, peer_mac, peer_ip, bytes(6), ip4("10.0.2.99"))))
            assert wire.drain() == []

            # ICMP echo.
            rtts: list[float] = []
            for seq in range(20):
                data = rng.randbytes(rng.choice([0, 8, 56, 1000, 1472]))
                start = time.perf_counter()
                wire.send(eth(GUEST_MAC, GATEWAY_MAC, 0x0800,
                              ipv4(gw, us, 1, icmp_echo_request(0x5151, seq, data))))
                d = decode_ipv4(wire.expect(is_ipv4))
                rtts.append(time.perf_counter() - start)
                assert d.eth_dst == GATEWAY_MAC and d.dst == gw and d.proto == 1
                assert inet_checksum(d.payload) == 0
                assert d.payload[:2] == b"\0\0" and d.payload[4:] == struct.pack("!HH", 0x5151, seq) + data

            # UDP from a host never seen: its MAC is learnt from the frame, so
            # the echo needs no ARP round trip.  With and without a checksum,
            # with IP options, padded to Ethernet's minimum.
            for size in (0, 1, 18, 100, 1400, UDP_PAYLOAD_MAX):
                data = rng.randbytes(size)
                wire.send(eth(GUEST_MAC, peer_mac, 0x0800,
                              ipv4(peer_ip, us, 17, udp(peer_ip, us, 3000 + size, 7, data))))
                frame = wire.expect(lambda f: True)
                assert is_ipv4(frame), frame.hex()
                d = decode_ipv4(frame)
                assert d.eth_dst == peer_mac and d.dst == peer_ip
                check_udp(d, 7, 3000 + size, data)
            wire.send(eth(GUEST_MAC, peer_mac, 0x0800,
                          ipv4(peer_ip, us, 17, udp(peer_ip, us, 1, 7, b"unsummed", checksum=False),
                               options=b"\x01\x01\x01\x00")))
            check_udp(decode_ipv4(wire.expect(is_ipv4)), 7, 1, b"unsummed")
            wire.send(eth(GUEST_MAC, peer_mac, 0x0800,
                          ipv4(peer_ip, us, 17, udp(peer_ip, us, 2, 7, b"pad")) + bytes(20)))
            check_udp(decode_ipv4(wire.expect(is_ipv4)), 7, 2, b"pad")

            # A closed port: ICMP port unreachable quoting the header and 8 bytes.
            probe = ipv4(peer_ip, us, 17, udp(peer_ip, us, 4444, 9, b"anyone?"))
            wire.send(eth(GUEST_MAC, peer_mac, 0x0800, probe))
            d = decode_ipv4(wire.expect(is_ipv4))
            assert d.proto == 1 and d.dst == peer_ip and inet_checksum(d.payload) == 0
            assert d.payload[:2] == b"\x03\x03" and d.payload[8:] == probe[:28]

            # 500 broken frames: nothing comes back, nothing breaks.
            frames, expected = malformed_frames(rng)
            for i, frame in enumerate(frames):
                wire.send(frame)
                if i % 25 == 24:  # let the guest keep up: its ring holds 64 frames
                    time.sleep(0.02)
            assert wire.drain(quiet=1.0) == []
            wire.send(eth(GUEST_MAC, GATEWAY_MAC, 0x0800,
                          ipv4(gw, us, 17, udp(gw, us, 9999, 7, b"still here"))))
            check_udp(decode_ipv4(wire.expect(is_ipv4)), 7, 9999, b"still here")

            wire.send(eth(GUEST_MAC, GATEWAY_MAC, 0x0800, ipv4(gw, us, 17, udp(gw, us, 1, 7, b"stop"))))
            returncode = guest.wait_exit(10)
            assert decode_exit_status(returncode) == STOP_STATUS, guest.transcript()
            stats = counters(guest)
            assert {k: stats[k] for k in expected} == expected, guest.transcript()
            assert stats["arp_requests"] == 1 and stats["arp_unresolved"] == 0, stats
            assert stats["icmp_echo"] == 20 and stats["icmp_unreachable"] == 1, stats
            assert stats["tx_errors"] == 0, stats
    print_rtt(capsys, "ICMP echo round trip on the socket netdev", rtts)
