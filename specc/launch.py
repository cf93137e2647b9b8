"""How `specc run` starts an image: the interpreter for python, the
executable for unix, QEMU for hvt (DESIGN.md "Targets")."""

from __future__ import annotations

import sys

from specc import ast
from specc.driver import Compilation
from specc.values import CidrV, Ipv4V


def listened_ports(c: Compilation) -> list[tuple[str, int]]:
    """("udp" | "tcp", port) of every `listen` or `serve` in the residual `main`
    whose port is a constant: the ports QEMU must forward."""
    from specc.passes.branches import walk

    assert c.folded is not None and c.graph is not None
    ports: list[tuple[str, int]] = []
    if c.folded.main is None:
        return ports
    for node in walk(c.folded.main):
        if not (isinstance(node, ast.Call) and isinstance(node.callee, ast.Field)
                and node.callee.name in ("listen", "serve") and node.args):
            continue
        first = node.args[0].value
        if not isinstance(first, ast.Const) or not isinstance(first.value, int):
            continue
        symbol = c.folded.symbol(node.callee)
        interface = symbol.name.split(".")[0] if symbol is not None else ""
        protocol = "udp" if interface == "Udp" else "tcp"
        if (protocol, first.value) not in ports:
            ports.append((protocol, first.value))
    return ports


def guest_network(c: Compilation) -> tuple[CidrV, Ipv4V | None] | None:
    """The static address (and gateway) of the image's IPv4 instance, if any."""
    assert c.graph is not None and c.reachable is not None
    for key in c.reachable.instances:
        instance = c.graph.instances[key]
        if instance.component == "static_ipv4":
            args = dict(instance.const_args)
            address, gateway = args.get("address"), args.get("gateway")
            if isinstance(address, CidrV):
                return address, gateway if isinstance(gateway, Ipv4V) else None
    return None


def command(c: Compilation, image: str, args: tuple[str, ...]) -> list[str]:
    assert c.program is not None
    target = c.program.target
    if target == "python":
        return [sys.executable, image, *args]
    if target == "unix":
        return [image, *args]
    from pathlib import Path

    from specc.backends.c.build import qemu_command

    net = "user"
    network = guest_network(c)
    if network is not None:
        address, gateway = network
        mask = (0xFFFF_FFFF << (32 - address.prefix)) & 0xFFFF_FFFF
        base = Ipv4V(address.address & mask)
        host = gateway if gateway is not None else Ipv4V((address.address & mask) | 1)
        net += f",net={base}/{address.prefix},host={host}"
        for protocol, port in listened_ports(c):
            net += f",hostfwd={protocol}:127.0.0.1:{port}-{Ipv4V(address.address)}:{port}"
    return qemu_command(Path(image), append=" ".join(args), net=net)
