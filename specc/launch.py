"""How `specc run` starts an image: the interpreter for python, the
executable for unix, QEMU for hvt (DESIGN.md "Targets").  Everything it
needs is in the `Image`: the ports it listens on and its static address."""

from __future__ import annotations

import sys
from pathlib import Path

from specc.backends.boot import hvt_command_line
from specc.passes.image import Image
from specc.values import Ipv4V


def command(image: Image, path: str, args: tuple[str, ...]) -> list[str]:
    if image.target == "python":
        return [sys.executable, path, *args]
    if image.target == "unix":
        return [path, *args]
    from specc.backends.c.build import qemu_command

    net = "user"
    guest = image.guest_address
    if guest is not None:
        address = guest.address
        mask = (0xFFFF_FFFF << (32 - address.prefix)) & 0xFFFF_FFFF
        base = Ipv4V(address.address & mask)
        host = guest.gateway if guest.gateway is not None else \
            Ipv4V((address.address & mask) | 1)
        net += f",net={base}/{address.prefix},host={host}"
        for port in image.ports:
            net += (f",hostfwd={port.protocol}:127.0.0.1:{port.port}-"
                    f"{Ipv4V(address.address)}:{port.port}")
    return qemu_command(Path(path), append=hvt_command_line(args), net=net)
