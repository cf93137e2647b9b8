"""http_server(tcp, site): static files over HTTP/1.1, responses precomputed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from .core import Conn, Runtime
from .http_engine import handle

_MAX_CONNECTIONS_BUFFERED = 4096  # partial requests kept at once; the oldest go first


class _Tcp(Protocol):
    def listen(self, port: int, on_data: Callable[[Conn, bytes], bytes | None]) -> None: ...
    def close(self, c: Conn) -> None: ...


class Impl:
    # The response table of backends/http/precompute.py, built from the site's files.
    SITE: Final[dict[Any, Any]] = {}

    def __init__(self, rt: Runtime, tcp: _Tcp, site: object) -> None:
        self.rt = rt
        self.tcp = tcp
        self.buffers: dict[int, bytes] = {}

    def serve(self, port: int) -> None:
        self.tcp.listen(port, self.on_data)

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
