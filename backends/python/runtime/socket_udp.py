"""socket_udp(ip): UDP over host sockets, for the unix and python targets."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

from .core import Datagram, Runtime, fmt_ipv4

# Datagrams read per wake-up before other sockets get a turn.
_BATCH = 64


class Impl:
    def __init__(self, rt: Runtime, ip: object) -> None:
        self.rt = rt
        self.sockets: dict[int, socket.socket] = {}

    def listen(self, port: int, handler: Callable[[Datagram], bytes | None]) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # No SO_REUSEADDR: with it two images bind the same UDP port and the
        # second receives nothing, silently.  A busy port stops the image.
        try:
            sock.bind((fmt_ipv4(self.rt.bind_address), port))
        except OSError as error:
            sock.close()
            self.rt.cannot_listen("udp", port, error)
        sock.setblocking(False)
        self.sockets[port] = sock
        bound_port = sock.getsockname()[1]

        def ready() -> None:
            for _ in range(_BATCH):
                try:
                    payload, (host, peer_port) = sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue  # e.g. an ICMP error for an earlier reply
                address = int.from_bytes(socket.inet_aton(host), "big")
                reply = handler(Datagram(address, peer_port, bound_port, payload))
                if reply is not None:
                    # A reply that cannot be sent is dropped, as on a wire.
                    with contextlib.suppress(OSError):
                        sock.sendto(reply, (host, peer_port))

        self.rt.on_readable(sock, ready)
        self.rt.announce(f"udp {fmt_ipv4(self.rt.bind_address)}:{bound_port}")

    def send(self, to: int, to_port: int, from_port: int, payload: bytes) -> bool:
        sock = self.sockets.get(from_port)
        try:
            if sock is None:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as once:
                    once.sendto(payload, (fmt_ipv4(to), to_port))
            else:
                sock.sendto(payload, (fmt_ipv4(to), to_port))
        except OSError:
            return False
        return True
