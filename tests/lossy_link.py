"""A small Ethernet of network namespaces for the TCP tests of
tests/test_hvt_tcp_netns.py and bench/tcp_lossy.py (root only).

    <name>-r   the "router": a bridge br0 joining the ports below; nftables
               (bridge family) and htb act on what crosses it
    tapN       in <name>-r: the hvt images (QEMU `-netdev tap`)
    <name>-s   the unix images, at SERVER (10.0.0.5), through a veth port
    <name>-c   the clients, at CLIENT (10.0.0.9), through a veth port

All on 10.0.0.0/24, so no image needs a gateway.  `impair()` makes the
bridge lossy: nftables drops `numgen random mod 100 < drop` of the frames
in both directions, and gives `reorder`% of them at random the priority
1:20; every port's egress is an htb, which puts a frame whose priority
names one of its classes in that class (no tc filter needed: this kernel
has no cls_fw), and 1:20 is a slow class (rate/8, at most 16 Mbit/s, a
one-frame bucket), so those frames fall behind the others in a burst:
reordering, in both directions.  An optional
`rate` caps each port (1 Mbit/s for the slow-link case).  `counters()` reads
nftables' counters of dropped and reordered frames.

Clients run in this process: `socket_in(ns, ...)` opens a socket inside a
namespace (setns(2) around socket(2); the socket stays there).  Commands run
with `ip netns exec`.  Everything is deleted on exit.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

CLIENT = "10.0.0.9"
SERVER = "10.0.0.5"
PREFIX = 24
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class LinkError(Exception):
    """A command setting up the link failed; the message says which and why."""


def why_not_available() -> str | None:
    """None when this process can build the link, else why not."""
    if os.geteuid() != 0:
        return "needs root: it creates network namespaces, a bridge and tap devices"
    for tool in ("ip", "tc", "nft", "ethtool", "nstat"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"needs `{tool}` (iproute2, nftables, ethtool: scripts/setup.sh)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return None


def run(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=60,
                          check=False)
    if done.returncode != 0:
        raise LinkError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done.stdout


def in_ns(ns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


@dataclass
class Link:
    name: str
    taps: tuple[str, ...]
    _ofo_base: int = 0

    @property
    def router(self) -> str:
        return f"{self.name}-r"

    @property
    def client(self) -> str:
        return f"{self.name}-c"

    @property
    def server(self) -> str:
        return f"{self.name}-s"

    def ports(self) -> list[str]:
        return [*self.taps, "vr-c", "vr-s"]

    def impair(self, drop: int, reorder: int, rate: str = "1gbit") -> None:
        """Drop `drop`% and reorder `reorder`% of the frames crossing the bridge."""
        self.clear()
        rules = ("add table bridge lossy\n"
                 "add counter bridge lossy dropped\n"
                 "add counter bridge lossy reordered\n"
                 "add chain bridge lossy forward { type filter hook forward priority 0; }\n"
                 f"add rule bridge lossy forward numgen random mod 100 < {drop} "
                 "counter name dropped drop\n"
                 f"add rule bridge lossy forward numgen random mod 100 < {reorder} "
                 "meta priority set 1:20 counter name reordered\n")
        run(*in_ns(self.router, ["nft", "-f", "-"]), stdin=rules)
        self._ofo_base = self.client_ofo()
        # The slow class: an eighth of the rate, at most 16 Mbit/s, and a
        # bucket of one frame, so that in a burst the second frame it takes
        # already waits while the fast class sends what came after it.
        slow = min(_rate_bits(rate) // 8, 16 * 10**6)
        for port in self.ports():
            tc = ["ip", "netns", "exec", self.router, "tc"]
            run(*tc, "qdisc", "add", "dev", port, "root", "handle", "1:", "htb", "default", "10")
            run(*tc, "class", "add", "dev", port, "parent", "1:", "classid", "1:1", "htb",
                "rate", rate, "ceil", rate)
            run(*tc, "class", "add", "dev", port, "parent", "1:1", "classid", "1:10", "htb",
                "rate", rate, "ceil", rate)
            run(*tc, "class", "add", "dev", port, "parent", "1:1", "classid", "1:20", "htb",
                "rate", f"{slow}bit", "ceil", f"{slow}bit", "burst", "1600b", "cburst", "1600b")
            # Short queues: a long one would only add seconds of delay.
            run(*tc, "qdisc", "add", "dev", port, "parent", "1:10", "pfifo", "limit", "100")
            run(*tc, "qdisc", "add", "dev", port, "parent", "1:20", "pfifo", "limit", "50")

    def client_ofo(self) -> int:
        text = run(*in_ns(self.client, ["nstat", "-az", "TcpExtTCPOFOQueue"]))
        match = re.search(r"TcpExtTCPOFOQueue\s+(\d+)", text)
        return int(match[1]) if match else 0

    def clear(self) -> None:
        """A clean link again."""
        subprocess.run(in_ns(self.router, ["nft", "delete", "table", "bridge", "lossy"]),
                       capture_output=True, check=False)
        for port in self.ports():
            subprocess.run(in_ns(self.router, ["tc", "qdisc", "del", "dev", port, "root"]),
                           capture_output=True, check=False)

    def counters(self) -> dict[str, int]:
        """Frames nftables dropped and sent to the slow class since impair(),
        and the client's TCP segments that arrived out of order (its kernel's
        TcpExtTCPOFOQueue): the proof that reordering happened."""
        found = {"client_out_of_order": self.client_ofo() - self._ofo_base}
        for name in ("dropped", "reordered"):
            text = run(*in_ns(self.router, ["nft", "list", "counter", "bridge", "lossy", name]))
            match = re.search(r"packets (\d+)", text)
            found[name] = int(match[1]) if match else 0
        return found


@contextmanager
def link(name: str, taps: int = 2) -> Iterator[Link]:
    """The namespaces, the bridge and `taps` tap devices; deleted on exit."""
    made = Link(name, tuple(f"tap{i}" for i in range(taps)))
    namespaces = (made.router, made.client, made.server)
    try:
        for ns in namespaces:
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        r = made.router
        run("ip", "-n", r, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", r, "link", "set", "br0", "up")
        for port, ns, address in (("vr-c", made.client, CLIENT), ("vr-s", made.server, SERVER)):
            run("ip", "-n", r, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            run("ip", "-n", r, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{address}/{PREFIX}", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            # No segmentation offloads: every frame crosses the bridge as
            # itself, so the drops and the reordering are per frame, as for
            # the images (a 64 KiB GSO burst would otherwise be one frame).
            for where, dev in ((ns, "eth0"), (r, port)):
                run(*in_ns(where, ["ethtool", "-K", dev, "tso", "off", "gso", "off", "gro",
                                   "off"]))
        for tap in made.taps:
            run("ip", "-n", r, "tuntap", "add", "dev", tap, "mode", "tap")
            run("ip", "-n", r, "link", "set", tap, "master", "br0", "up")
        yield made
    finally:
        for ns in namespaces:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)


def tap_netdev(tap: str) -> str:
    return f"tap,ifname={tap},script=no,downscript=no"


def socket_in(ns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
              proto: int = 0) -> socket.socket:
    """A socket of network namespace `ns`, made by this thread."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(there, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns}")
        try:
            return socket.socket(family, kind, proto)
        finally:
            if _libc.setns(here, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(here)
        os.close(there)


def connect_in(ns: str, address: str, port: int, timeout: float) -> socket.socket:
    s = socket_in(ns)
    s.settimeout(timeout)
    try:
        s.connect((address, port))
    except BaseException:
        s.close()
        raise
    return s


def _rate_bits(rate: str) -> int:
    match = re.fullmatch(r"(\d+)(k|m|g)?bit", rate)
    if match is None:
        raise ValueError(f"rate {rate!r}: expected like 1mbit")
    return int(match[1]) * {"k": 10**3, "m": 10**6, "g": 10**9, None: 1}[match[2]]
