"""socket_tcp(ip, max_connections, send_buffer, idle_timeout): TCP over host
sockets, for the python target; the twin of backends/c/runtime/components/
socket_tcp.c (the unix target), which says the same in C.

Nothing blocks.  Every socket is non-blocking and the event loop wakes a
connection when it is readable and, while it has output waiting, writable:

- A reply of on_data, and what `send` queues, goes to the kernel at once as
  far as the kernel takes it; the rest waits in the connection's own buffer
  and goes out as the peer reads.  All the connections together hold at most
  SEND_BUFFER unsent bytes.  `send` of more than is free returns false and
  queues nothing; a reply of on_data that does not fit resets the
  connection.  A response is sent whole or the connection is reset, never
  cut short under a FIN.
- While a connection has _DELIVER_BELOW bytes or more waiting, its input is
  not read: its receive window closes and the peer stops sending, so a
  client that sends requests but never reads the answers stops itself.
- A connection with no progress (nothing read, nothing written, and the
  kernel's queue for it unchanged) for IDLE_TIMEOUT is reset (0: never).  When MAX_CONNECTIONS are open, a new
  one (accepted or connected) takes the slot of the idlest, which is reset.

Closing: close(c) stops on_data for c, sends what is queued, then FIN
(shutdown), and reads and drops input until the peer closes too, for at most
_LINGER.  A close from inside c's own on_data takes effect after the reply.
When the peer closes first, what is queued is still sent, then the socket
is closed.

Events: a connection accepted on a port whose on_event was registered by
then, and every connection opened by connect, get `opened`, then one of
`closed` (orderly, either side) or `reset` (a reset from the peer, a failed
read or write, an idle timeout, an eviction, a reply too big for the send
buffer) as their last call; a connect that could not be made gets `failed`
alone.  Events are never delivered from inside a call of this component:
they wait until the callback that caused them returns, or for the next turn
of the loop when main caused them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import socket
import struct
import sys
import termios
from collections.abc import Callable
from typing import Final

from .core import Conn, Runtime, TcpEvent, fmt_ipv4, now, trap

_CHUNK = 65536  # bytes read per readable event, and the most handed to one on_data
_BACKLOG = 128
_DELIVER_BELOW = 65536  # a connection with this much output waiting is not read
_LINGER = 2_000_000_000  # ns a closed connection waits for the peer's FIN
_MAX_LISTENERS = 8


OnData = Callable[[Conn, bytes], "bytes | None"]
OnEvent = Callable[[Conn, TcpEvent], None]

# The states of a connection.
_CONNECTING = 0  # connect() in progress: waiting for writability
_OPEN = 1  # on_data is called with its input
_CLOSING = 2  # closed by us or by the peer: sending what is queued, then FIN
_LINGERING = 3  # FIN sent: dropping input until the peer's FIN, for at most _LINGER


class _Connection:
    __slots__ = (
        "conn",
        "kernel_queue",
        "last_progress",
        "linger_until",
        "on_data",
        "on_event",
        "opened",
        "out",
        "peer_closed",
        "sent",
        "sock",
        "state",
    )

    def __init__(self, conn: Conn, sock: socket.socket, on_data: OnData,
                 on_event: OnEvent | None, state: int) -> None:
        self.conn = conn
        self.sock = sock
        self.on_data = on_data
        self.on_event = on_event
        self.state = state
        self.out = bytearray()  # output not yet taken by the kernel, from `sent` on
        self.sent = 0
        self.last_progress = now()
        self.linger_until = 0
        self.peer_closed = False  # the peer's FIN has been read
        self.kernel_queue = 0  # the socket's TIOCOUTQ when a sweep last asked
        self.opened = state != _CONNECTING  # `opened` was (or will be) delivered

    def waiting(self) -> int:
        return len(self.out) - self.sent


class Impl:
    MAX_CONNECTIONS: Final[int] = 512
    SEND_BUFFER: Final[int] = 16 << 20
    IDLE_TIMEOUT: Final[int] = 120_000_000_000

    def __init__(self, rt: Runtime, ip: object) -> None:
        if self.MAX_CONNECTIONS < 1:
            trap("socket_tcp", "max_connections must be at least 1")
        self.rt = rt
        self.connections: dict[int, _Connection] = {}
        self.next_id = 0
        self.buffered = 0  # unsent bytes held by every connection together
        self.event_handlers: dict[int, OnEvent] = {}  # by listening port
        self.listeners = 0
        # Events waiting for the callback that caused them to return.
        self.events: list[tuple[OnEvent, Conn, TcpEvent]] = []
        self.depth = 0  # > 0 inside a handler of the loop (events wait for its end)
        self.drain_timer = False
        self.sweep_handle = 0
        self.sweep_at = 0
        # The connection whose on_data is running: closing it waits for the reply.
        self.current = 0
        self.close_after_reply = False

    # ------------------------------------------------------------ operations
    def listen(self, port: int, on_data: OnData) -> None:
        if self.listeners == _MAX_LISTENERS:
            trap("socket_tcp", "too many TCP listeners")
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # For a quick restart beside TIME_WAIT connections; Linux still refuses
        # a second listener on the port (EADDRINUSE), which stops the image.
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((fmt_ipv4(self.rt.bind_address), port))
            server.listen(_BACKLOG)
        except OSError as error:
            server.close()
            self.rt.cannot_listen("tcp", port, error)
        server.setblocking(False)
        self.listeners += 1
        bound = server.getsockname()[1]

        def accept() -> None:
            self.depth += 1
            try:
                for _ in range(32):  # then the other sockets get a turn
                    try:
                        sock, (host, peer_port) = server.accept()
                    except OSError as error:
                        # Out of descriptors: the table is full in the kernel's
                        # terms, and the idlest makes room; waiting would leave
                        # the listener readable and the loop spinning on it.
                        if error.errno in (errno.EMFILE, errno.ENFILE) and self.evict_idlest():
                            continue
                        break  # none waiting (EAGAIN)
                    self.accepted(sock, host, peer_port, port, on_data)
            finally:
                self.depth -= 1
            self.drain()

        self.rt.on_readable(server, accept)
        self.rt.announce(f"tcp {fmt_ipv4(self.rt.bind_address)}:{bound}")

    def on_event(self, port: int, f: OnEvent) -> None:
        if port not in self.event_handlers and len(self.event_handlers) == _MAX_LISTENERS:
            trap("socket_tcp", "too many TCP event handlers")
        self.event_handlers[port] = f

    def connect(self, to: int, port: int, on_data: OnData, on_event: OnEvent) -> int:
        if not self.make_room():
            return 0
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(to, port, self.fresh_id())
        c = _Connection(conn, sock, on_data, on_event, _CONNECTING)
        self.connections[conn.id] = c
        code = sock.connect_ex((fmt_ipv4(to), port))
        self.rt.on_ready(sock, lambda: self.ready(c), read=False, write=True)
        if code not in (0, errno.EINPROGRESS, errno.EAGAIN):
            self.end(c, TcpEvent.failed)  # delivered after this call returns
        self.arm_sweep()
        return conn.id

    def send(self, c: Conn, data: bytes) -> bool:
        connection = self.connections.get(c.id)
        if connection is None or connection.state != _OPEN or connection.peer_closed:
            return False
        # Only what surely fits, as if the kernel took none: nothing is queued otherwise.
        if len(data) > self.SEND_BUFFER - self.buffered:
            return False
        self.queue(connection, data)
        return True

    def close(self, c: Conn) -> None:
        if c.id == self.current:
            self.close_after_reply = True  # after the reply on_data is about to give
            return
        connection = self.connections.get(c.id)
        if connection is not None:
            self.finish(connection)

    # ------------------------------------------------------------ connections
    def fresh_id(self) -> int:
        while True:
            self.next_id = (self.next_id + 1) & 0xFFFF_FFFF
            if self.next_id != 0 and self.next_id not in self.connections:
                return self.next_id

    def make_room(self) -> bool:
        """A free slot, if need be by resetting the idlest connection; False
        when none can be given up."""
        return len(self.connections) < self.MAX_CONNECTIONS or self.evict_idlest()

    def evict_idlest(self) -> bool:
        """Reset the idlest connection, a closing one first (never the one in
        on_data); False when there is none."""
        candidates = [c for c in self.connections.values() if c.conn.id != self.current]
        if not candidates:
            return False
        victim = min(candidates, key=lambda c: (c.state < _CLOSING, c.last_progress))
        self.end(victim, TcpEvent.reset)
        return True

    def accepted(self, sock: socket.socket, host: str, peer_port: int, port: int,
                 on_data: OnData) -> None:
        if not self.make_room():
            sock.close()
            return
        sock.setblocking(False)
        # Replies go out as they are made, not held back for more (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(int.from_bytes(socket.inet_aton(host), "big"), peer_port, self.fresh_id())
        c = _Connection(conn, sock, on_data, self.event_handlers.get(port), _OPEN)
        self.connections[conn.id] = c
        self.rt.on_readable(sock, lambda: self.ready(c))
        self.event(c, TcpEvent.opened)
        self.arm_sweep()

    def ready(self, c: _Connection) -> None:
        """The socket of ``c`` is readable or writable (or failed)."""
        self.depth += 1
        try:
            if c.state == _CONNECTING:
                self.connected(c)
            else:
                self.flush(c)
                if self.connections.get(c.conn.id) is c:
                    self.read(c)
        finally:
            self.depth -= 1
        self.drain()

    def connected(self, c: _Connection) -> None:
        error = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error in (errno.EINPROGRESS, errno.EAGAIN):
            return
        if error != 0:
            self.end(c, TcpEvent.failed)
            return
        c.state = _OPEN
        c.opened = True
        c.last_progress = now()
        self.event(c, TcpEvent.opened)
        self.update_interest(c)

    def read(self, c: _Connection) -> None:
        if c.peer_closed or (c.state == _OPEN and c.waiting() >= _DELIVER_BELOW):
            return
        try:
            data = c.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.end(c, TcpEvent.reset)
            return
        if not data:
            self.peer_finished(c)
            return
        c.last_progress = now()
        if c.state != _OPEN:
            return  # closed by us: input is dropped until the peer's FIN
        self.current, self.close_after_reply = c.conn.id, False
        try:
            reply = c.on_data(c.conn, data)
        finally:
            self.current = 0
        if reply and self.connections.get(c.conn.id) is c:
            self.reply(c, reply)
        if self.close_after_reply:
            self.close_after_reply = False
            self.finish(c)
        self.update_interest(c)

    def peer_finished(self, c: _Connection) -> None:
        """The peer's FIN: what is queued still goes out, then the socket closes."""
        c.peer_closed = True
        if c.state == _OPEN:
            c.state = _CLOSING
        if c.waiting() == 0:
            self.end(c, TcpEvent.closed)
        else:
            self.update_interest(c)

    def reply(self, c: _Connection, data: bytes) -> None:
        """Queue on_data's reply: whole, or the connection is reset."""
        if c.state != _OPEN:
            return
        self.queue(c, data, reset_when_full=True)

    def queue(self, c: _Connection, data: bytes, reset_when_full: bool = False) -> None:
        if c.waiting() == 0:
            c.out, c.sent = bytearray(), 0
            taken = self.write(c, memoryview(data))
            if taken < 0:
                return
            data = data[taken:]
            if not data:
                return
        if len(data) > self.SEND_BUFFER - self.buffered:
            if reset_when_full:
                self.end(c, TcpEvent.reset)
            return
        c.out += data
        self.buffered += len(data)
        self.update_interest(c)

    def write(self, c: _Connection, data: memoryview) -> int:
        """Bytes of ``data`` the kernel took now; -1 when the connection failed (reset)."""
        taken = 0
        while taken < len(data):
            try:
                n = c.sock.send(data[taken:taken + (1 << 20)])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.end(c, TcpEvent.reset)
                return -1
            taken += n
        if taken:
            c.last_progress = now()
        return taken

    def flush(self, c: _Connection) -> None:
        if c.waiting() == 0:
            return
        taken = self.write(c, memoryview(c.out)[c.sent:])
        if taken < 0:
            return
        c.sent += taken
        self.buffered -= taken
        if c.sent == len(c.out):
            c.out, c.sent = bytearray(), 0
        elif c.sent > len(c.out) // 2:
            del c.out[:c.sent]
            c.sent = 0
        if c.waiting() == 0 and c.state == _CLOSING:
            self.shut(c)
        else:
            self.update_interest(c)

    def finish(self, c: _Connection) -> None:
        """Our orderly close: no more on_data; FIN once what is queued is sent."""
        if c.state == _CONNECTING:
            self.end(c, TcpEvent.failed)
        elif c.state == _OPEN:
            c.state = _CLOSING
            if c.waiting() == 0:
                self.shut(c)

    def shut(self, c: _Connection) -> None:
        """Everything queued is with the kernel: FIN, then wait for the peer's."""
        if c.peer_closed:
            self.end(c, TcpEvent.closed)
            return
        try:
            c.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.end(c, TcpEvent.reset)
            return
        c.state = _LINGERING
        c.linger_until = now() + _LINGER
        self.update_interest(c)
        self.arm_sweep()

    def update_interest(self, c: _Connection) -> None:
        if self.connections.get(c.conn.id) is not c or c.state == _CONNECTING:
            return
        read = not c.peer_closed and not (c.state == _OPEN and c.waiting() >= _DELIVER_BELOW)
        write = c.waiting() > 0
        self.rt.interest(c.sock, read=read or not write, write=write)

    def end(self, c: _Connection, why: TcpEvent) -> None:
        """The connection is over: release its socket and slot, and tell its on_event."""
        if self.connections.get(c.conn.id) is not c:
            return
        del self.connections[c.conn.id]
        self.buffered -= c.waiting()
        c.out, c.sent = bytearray(), 0
        self.rt.forget(c.sock)
        if why == TcpEvent.reset:
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            with contextlib.suppress(OSError):
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sock.close()
        if not self.connections and self.sweep_handle:
            self.rt.cancel(self.sweep_handle)  # nothing left to time out: let the loop end
            self.sweep_handle = 0
        self.event(c, why if c.opened else TcpEvent.failed)

    # ------------------------------------------------------------ events and time
    def event(self, c: _Connection, why: TcpEvent) -> None:
        if c.on_event is None:
            return
        self.events.append((c.on_event, c.conn, why))
        if self.depth == 0 and not self.drain_timer:
            self.drain_timer = True  # caused by main: deliver on the loop's next turn
            self.rt.at_time(now(), self.drain)

    def drain(self) -> None:
        self.drain_timer = False
        while self.events:
            f, conn, why = self.events.pop(0)
            self.depth += 1
            try:
                f(conn, why)
            finally:
                self.depth -= 1

    def arm_sweep(self) -> None:
        """A timer for the next idle timeout or end of lingering, if any."""
        deadlines = [c.linger_until for c in self.connections.values()
                     if c.state == _LINGERING]
        if self.IDLE_TIMEOUT > 0:
            deadlines += [c.last_progress + self.IDLE_TIMEOUT
                          for c in self.connections.values() if c.state != _LINGERING]
        if not deadlines:
            if self.sweep_handle:
                self.rt.cancel(self.sweep_handle)
                self.sweep_handle = 0
            return
        due = min(deadlines)
        if self.sweep_handle and self.sweep_at <= due:
            return  # it runs first, and arms the next one
        if self.sweep_handle:
            self.rt.cancel(self.sweep_handle)
        self.sweep_at = due
        self.sweep_handle = self.rt.at_time(due, self.sweep)

    @staticmethod
    def kernel_draining(c: _Connection) -> bool:
        """Whether the peer took some of what the kernel holds for it since the
        last look (the queue of unsent and unacknowledged bytes changed, down
        to 0 included): then the connection is not idle, though nothing was
        left here to write."""
        try:
            answer = fcntl.ioctl(c.sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return False
        queued = int.from_bytes(answer, sys.byteorder, signed=True)
        changed = queued != c.kernel_queue
        c.kernel_queue = queued
        return changed

    def sweep(self) -> None:
        self.sweep_handle = 0
        self.depth += 1
        try:
            current = now()
            for c in list(self.connections.values()):
                if c.state == _LINGERING and current >= c.linger_until:
                    self.end(c, TcpEvent.closed)
                elif self.IDLE_TIMEOUT > 0 and c.state != _LINGERING \
                        and current - c.last_progress >= self.IDLE_TIMEOUT:
                    if self.kernel_draining(c):
                        c.last_progress = current
                    else:
                        self.end(c, TcpEvent.reset)
        finally:
            self.depth -= 1
        self.drain()
        self.arm_sweep()
