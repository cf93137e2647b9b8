"""socket_udp(ip): UDP over host sockets, for the unix and python targets."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable

from .core import Datagram, Runtime, fmt_ipv4

# Datagrams read per wake-up before other sockets get a turn.
_BATCH = 64
# The most peer addresses remembered as integers before starting over.
_ADDRESSES = 1024
# Datagram is a frozen dataclass: its __init__ sets every field through
# object.__setattr__, a large part of what one datagram costs here.  Setting
# its slots through their descriptors builds the same object for less
# (bench/dns.py: 8-20% more queries per CPU second).  The order is checked
# so that a field added to Datagram cannot be left unset.
_DATAGRAM_FIELDS = ("src", "src_port", "dst_port", "payload")
if tuple(f.name for f in dataclasses.fields(Datagram)) != _DATAGRAM_FIELDS:
    raise ImportError("socket_udp: Datagram's fields changed; update _DATAGRAM_FIELDS")
_SET_DATAGRAM_FIELDS = tuple(Datagram.__dict__[name].__set__ for name in _DATAGRAM_FIELDS)


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

        # Peer addresses as integers, by the text recvfrom gives: a DNS
        # server hears the same few resolvers again and again.
        addresses: dict[str, int] = {}
        recvfrom, sendto = sock.recvfrom, sock.sendto
        new = object.__new__
        set_src, set_src_port, set_dst_port, set_payload = _SET_DATAGRAM_FIELDS

        def ready() -> None:
            for _ in range(_BATCH):
                try:
                    payload, peer = recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue  # e.g. an ICMP error for an earlier reply
                host, peer_port = peer
                address = addresses.get(host)
                if address is None:
                    if len(addresses) >= _ADDRESSES:
                        addresses.clear()
                    address = addresses[host] = int.from_bytes(socket.inet_aton(host), "big")
                datagram = new(Datagram)
                set_src(datagram, address)
                set_src_port(datagram, peer_port)
                set_dst_port(datagram, bound_port)
                set_payload(datagram, payload)
                reply = handler(datagram)
                if reply is not None:
                    # try/except, not contextlib.suppress: no context manager per reply.
                    try:  # noqa: SIM105
                        sendto(reply, peer)
                    except OSError:
                        pass  # a reply that cannot be sent is dropped, as on a wire

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
