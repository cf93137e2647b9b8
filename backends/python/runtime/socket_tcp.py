"""socket_tcp(ip): TCP over host sockets, for the unix and python targets."""

from __future__ import annotations

import socket
from collections.abc import Callable

from .core import Conn, Runtime, fmt_ipv4

_SEND_TIMEOUT = 5.0  # seconds a slow reader may hold up a reply


class Impl:
    def __init__(self, rt: Runtime, ip: object) -> None:
        self.rt = rt
        self.connections: dict[int, socket.socket] = {}
        self.next_id = 0
        # The connection whose on_data is running: closing it waits for the reply.
        self.current = -1
        self.close_after_reply = False

    def listen(self, port: int, on_data: Callable[[Conn, bytes], bytes | None]) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # For a quick restart beside TIME_WAIT connections; Linux still refuses
        # a second listener on the port (EADDRINUSE), which stops the image.
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((fmt_ipv4(self.rt.bind_address), port))
            server.listen(128)
        except OSError as error:
            server.close()
            self.rt.cannot_listen("tcp", port, error)
        server.setblocking(False)

        def accept() -> None:
            try:
                sock, (host, peer_port) = server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            self.next_id = (self.next_id + 1) & 0xFFFF_FFFF
            conn = Conn(int.from_bytes(socket.inet_aton(host), "big"), peer_port, self.next_id)
            self.connections[conn.id] = sock

            def readable() -> None:
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    data = b""
                if not data:
                    self.close(conn)
                    return
                self.current, self.close_after_reply = conn.id, False
                try:
                    reply = on_data(conn, data)
                finally:
                    self.current = -1
                if reply and conn.id in self.connections:
                    self.write(conn, reply)
                if self.close_after_reply:
                    self.close(conn)

            self.rt.on_readable(sock, readable)

        self.rt.on_readable(server, accept)
        self.rt.announce(f"tcp {fmt_ipv4(self.rt.bind_address)}:{server.getsockname()[1]}")

    def write(self, conn: Conn, data: bytes) -> None:
        sock = self.connections[conn.id]
        try:
            sock.settimeout(_SEND_TIMEOUT)
            sock.sendall(data)
            sock.setblocking(False)
        except OSError:
            self.close(conn)

    def close(self, c: Conn) -> None:
        if c.id == self.current:
            self.close_after_reply = True  # after the reply on_data is about to give
            return
        sock = self.connections.pop(c.id, None)
        if sock is not None:
            self.rt.forget(sock)
            sock.close()
