"""http_server(tcp, site): static files over HTTP/1.1, responses precomputed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from .core import Conn, Runtime, TcpEvent
from .http_engine import handle

_MAX_CONNECTIONS_BUFFERED = 4096  # partial requests kept at once; the oldest go first


class _Tcp(Protocol):
    def listen(self, port: int, on_data: Callable[[Conn, bytes], bytes | None]) -> None: ...
    def close(self, c: Conn) -> None: ...
    def on_event(self, port: int, f: Callable[[Conn, TcpEvent], None]) -> None: ...


class Impl:
    # The response table of backends/http/precompute.py, built from the site's files.
    SITE: Final[dict[Any, Any]] = {}

    def __init__(self, rt: Runtime, tcp: _Tcp, site: object) -> None:
        self.rt = rt
        self.tcp = tcp
        self.buffers: dict[int, bytes] = {}

    def serve(self, port: int) -> None:
        self.tcp.on_event(port, self.on_event)  # first: it applies to what is accepted later
        self.tcp.listen(port, self.on_data)

    def on_event(self, conn: Conn, event: TcpEvent) -> None:
        if event in (TcpEvent.closed, TcpEvent.reset):
            self.buffers.pop(conn.id, None)  # a connection that is over keeps nothing

    def on_data(self, conn: Conn, data: bytes) -> bytes | None:
        buffer = self.buffers.pop(conn.id, b"") + data
        consumed, response, close_after = handle(self.SITE, buffer)
        rest = buffer[consumed:]
        if close_after:
            self.tcp.close(conn)  # once this reply is sent
            return response or None
        if rest:
            if len(self.buffers) >= _MAX_CONNECTIONS_BUFFERED:
                self.buffers.pop(next(iter(self.buffers)))
            self.buffers[conn.id] = rest
        return response or None
