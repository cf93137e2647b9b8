"""`specc run -t hvt --net tap`: the image on a tap device in a network
namespace of its own, instead of behind QEMU's user networking.

A namespace `specc-PID` gets a tap device (`tap0`) with the host side's
address on the image's subnet, and QEMU runs inside it (`ip netns exec`)
with `-netdev tap,ifname=tap0`.  Nothing outside the namespace changes: it
has no route out and nothing routes in, so the image is reached from inside
(`ip netns exec specc-PID dig @ADDRESS ...`).  The namespace, and the tap
with it, is deleted when the image exits, on Ctrl-C too.  Root only:
creating namespaces needs CAP_SYS_ADMIN.

An image with a static address: the host side is its gateway, else the
subnet's first address (its second when that is the image's).  A dhcp_ipv4
image: the host side is 10.0.2.2/24 and a dnsmasq (Debian dnsmasq-base)
inside the namespace hands out 10.0.2.15, as QEMU's user networking would
(specc/passes/image.py's DHCP_GUEST).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from specc.passes.image import Image
from specc.values import CidrV, Ipv4V

TAP = "tap0"
DNSMASQ = "/usr/sbin/dnsmasq"  # not on a non-root PATH


class NetnsError(Exception):
    """The namespace could not be set up; the message says why."""


@dataclass(frozen=True)
class Link:
    """The two ends of the tap: the host side's address and the image's."""

    host: Ipv4V
    guest: Ipv4V
    prefix: int


def _ip(*args: str) -> None:
    completed = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise NetnsError(f"`ip {' '.join(args)}` failed: {completed.stderr.strip()}")


def static_link(address: CidrV, gateway: Ipv4V | None) -> Link:
    """The host side for an image at `address`: its gateway, else the subnet's first host."""
    mask = (0xFFFF_FFFF << (32 - address.prefix)) & 0xFFFF_FFFF if address.prefix else 0
    base = address.address & mask
    host = gateway.address if gateway is not None else base | 1
    if host == address.address:
        host = base | 2
    return Link(Ipv4V(host), Ipv4V(address.address), address.prefix)


def check_can_create() -> None:
    """Raise NetnsError unless this process may create namespaces and taps."""
    if os.geteuid() != 0:
        raise NetnsError("--net tap needs root: it creates a network namespace and a tap device")
    if shutil.which("ip") is None:
        raise NetnsError("--net tap needs `ip` (Debian iproute2)")
    if not os.path.exists("/dev/net/tun"):
        raise NetnsError("--net tap needs /dev/net/tun (the tun module)")


@contextmanager
def namespace(name: str, link: Link) -> Iterator[str]:
    """A network namespace `name` with `tap0` up at link.host; deleted on exit."""
    check_can_create()
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "tuntap", "add", "dev", TAP, "mode", "tap")
        _ip("-n", name, "addr", "add", f"{link.host}/{link.prefix}", "dev", TAP)
        _ip("-n", name, "link", "set", TAP, "up")
        yield name
    finally:
        # Deleting the namespace deletes the tap in it.
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def in_namespace(name: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", name, *argv]


def tap_netdev() -> str:
    """QEMU's `-netdev` (without its id) for the namespace's tap."""
    return f"tap,ifname={TAP},script=no,downscript=no"


def dnsmasq_command(link: Link, *, lease: str = "1h", extra: Sequence[str] = ()) -> list[str]:
    """A foreground dnsmasq handing out link.guest on the tap, and no DNS (port=0)."""
    dnsmasq = shutil.which("dnsmasq") or DNSMASQ
    return [dnsmasq, "--keep-in-foreground", "--no-daemon", "--conf-file=/dev/null",
            "--port=0", f"--interface={TAP}", "--bind-interfaces", "--no-resolv",
            "--no-hosts", "--log-dhcp", "--log-facility=-", "--pid-file=",
            "--dhcp-leasefile=/dev/null",
            f"--dhcp-range={link.guest},{link.guest},{_mask(link.prefix)},{lease}",
            f"--dhcp-option=option:router,{link.host}", *extra]


def _mask(prefix: int) -> str:
    return str(Ipv4V((0xFFFF_FFFF << (32 - prefix)) & 0xFFFF_FFFF if prefix else 0))


def namespace_name() -> str:
    return f"specc-{os.getpid()}"


def image_link(image: Image) -> Link:
    """Where `image` sits on the tap, from the address its IPv4 component configures."""
    guest = image.guest_address
    if guest is None:
        raise NetnsError("--net tap: the image configures no IPv4 address "
                         "(neither static_ipv4 nor dhcp_ipv4)")
    return static_link(guest.address, guest.gateway)


@contextmanager
def tap_session(image: Image, argv: Sequence[str]) -> Iterator[list[str]]:
    """`argv` (qemu_command's, with user networking) moved onto a tap in a new
    namespace, with a DHCP server there when the image asks for one; prints
    how to reach the image.  Everything is removed on exit."""
    link = image_link(image)
    name = namespace_name()
    qemu = list(argv)
    if "-netdev" not in qemu:
        raise NetnsError("--net tap: the image has no network device")
    qemu[qemu.index("-netdev") + 1] = f"{tap_netdev()},id=net0"
    dhcp_server = image.guest_address is not None and image.guest_address.dhcp
    if dhcp_server and shutil.which("dnsmasq") is None and not os.path.exists(DNSMASQ):
        raise NetnsError("--net tap with dhcp_ipv4 needs dnsmasq as the namespace's DHCP "
                         "server (Debian dnsmasq-base; scripts/setup.sh installs it)")
    with namespace(name, link):
        server = None
        if dhcp_server:
            server = subprocess.Popen(in_namespace(name, dnsmasq_command(link)),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            print(f"specc: the image is {link.guest} on {TAP} in network namespace {name} "
                  f"(this side: {link.host}/{link.prefix})", file=sys.stderr, flush=True)
            for port in image.ports:
                tool = (f"dig @{link.guest} -p {port.port} ..." if port.protocol == "udp"
                        else f"curl http://{link.guest}:{port.port}/")
                print(f"specc: reach it with: ip netns exec {name} {tool}", file=sys.stderr,
                      flush=True)
            print(f"specc: or: ip netns exec {name} ping {link.guest}", file=sys.stderr,
                  flush=True)
            yield in_namespace(name, qemu)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)


@contextmanager
def network_for(image: Image, argv: Sequence[str], network: str) -> Iterator[list[str]]:
    """The launch command for `specc run --net NETWORK`: as is for "user";
    for "tap", inside a namespace that lives as long as the block.  A setup
    failure is reported as `specc: error: ...`, exit status 1."""
    if network == "user":
        yield list(argv)
        return
    with ExitStack() as stack:
        try:
            if image.target != "hvt":
                raise NetnsError("--net tap is for hvt images (-t hvt)")
            wrapped = stack.enter_context(tap_session(image, argv))
        except NetnsError as error:
            print(f"specc: error: {error}", file=sys.stderr)
            sys.exit(1)
        yield wrapped
