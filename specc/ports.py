"""Host ports that QEMU's user networking is asked to forward, checked free
before QEMU starts.

When a forwarded host port is taken, QEMU refuses to start ("Could not set
up host forwarding rule") and exits with status 1, which is also what an hvt
image's exit(0) looks like through ``isa-debug-exit`` (``(0 << 1) | 1``).  So
``specc run`` tries each port first, and reports a busy one the way hosted
images do: naming the port, with exit status 69 (EX_UNAVAILABLE).  A port
taken between the check and QEMU's start still stops QEMU with its message.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Sequence

EXIT_UNAVAILABLE = 69
_FORWARD = re.compile(r"hostfwd=(udp|tcp):([0-9.]+):(\d+)-")


def forwarded_ports(argv: Sequence[str]) -> list[tuple[str, str, int]]:
    """(protocol, host address, host port) of each ``hostfwd`` in a QEMU command."""
    return [(m.group(1), m.group(2), int(m.group(3)))
            for arg in argv for m in _FORWARD.finditer(arg)]


def busy_port(argv: Sequence[str]) -> str | None:
    """Why the first forwarded port that cannot be bound cannot be, or None."""
    for proto, address, port in forwarded_ports(argv):
        kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, kind) as probe:
            if kind == socket.SOCK_STREAM:  # as QEMU does: TIME_WAIT is no obstacle
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError as error:
                busy = " (another program is using the port)" \
                    if error.errno == errno.EADDRINUSE else ""
                return f"cannot listen on {proto} {address}:{port}: {error.strerror}{busy}"
    return None
