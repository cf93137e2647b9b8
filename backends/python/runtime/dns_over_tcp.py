"""dns_over_tcp(tcp, zone, udp_size): DNS over TCP (RFC 7766): two-byte length framing.

Answers are never cut; their OPT record advertises `udp_size`, the server's
UDP payload size, as NSD does over TCP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from .core import Conn, Runtime, TcpEvent

_MAX_BUFFERED = 1 << 17  # a client that sends more without a full message is cut off


class _Zone(Protocol):
    def answer_tcp(self, query: bytes, udp_size: int) -> bytes | None: ...


class _Tcp(Protocol):
    def listen(self, port: int, on_data: Callable[[Conn, bytes], bytes | None]) -> None: ...
    def close(self, c: Conn) -> None: ...
    def on_event(self, port: int, f: Callable[[Conn, TcpEvent], None]) -> None: ...


class Impl:
    # The server's UDP payload size, advertised in the OPT record of each answer.
    UDP_SIZE: Final[int] = 1232

    def __init__(self, rt: Runtime, tcp: _Tcp, zone: _Zone) -> None:
        self.rt = rt
        self.tcp = tcp
        self.zone = zone
        self.buffers: dict[int, bytes] = {}

    def serve(self, port: int) -> None:
        self.tcp.on_event(port, self.on_event)  # first: it applies to what is accepted later
        self.tcp.listen(port, self.on_data)

    def on_event(self, conn: Conn, event: TcpEvent) -> None:
        if event in (TcpEvent.closed, TcpEvent.reset):
            self.buffers.pop(conn.id, None)  # a connection that is over keeps nothing

    def on_data(self, conn: Conn, data: bytes) -> bytes | None:
        buffer = self.buffers.pop(conn.id, b"") + data
        replies: list[bytes] = []
        while len(buffer) >= 2:
            length = int.from_bytes(buffer[:2], "big")
            if len(buffer) < 2 + length:
                break
            reply = self.zone.answer_tcp(buffer[2:2 + length], self.UDP_SIZE)
            buffer = buffer[2 + length:]
            if reply is not None:
                replies.append(len(reply).to_bytes(2, "big") + reply)
        if buffer:
            if len(buffer) > _MAX_BUFFERED:
                self.tcp.close(conn)
                return None
            self.buffers[conn.id] = buffer
        return b"".join(replies) or None
