"""The core of every generated Python image: the event loop, the prelude's
structs, traps and the helpers generated code calls."""

from __future__ import annotations

import errno
import heapq
import selectors
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

EXIT_TRAP = 70  # EX_SOFTWARE: the program hit a run-time trap
EXIT_USAGE = 64  # EX_USAGE: a bad command-line parameter
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a port to listen on is busy or not ours


@dataclass(frozen=True, slots=True)
class Datagram:
    src: int
    src_port: int
    dst_port: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Conn:
    peer: int
    peer_port: int
    id: int


class TcpEvent(IntEnum):
    """The prelude's `enum TcpEvent`, in its order, as Tcp components hand it
    to programs (whose own enum of that name compares equal: both are ints)."""

    opened = 0
    closed = 1
    reset = 2
    failed = 3


def trap(position: str, message: str) -> NoReturn:
    """A run-time trap: report where in the spec, and stop."""
    sys.stdout.flush()
    sys.stderr.write(f"{position}: {message}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_TRAP)


def ck(value: int, low: int, high: int, position: str) -> int:
    """An integer result that must fit its type."""
    if value < low or value > high:
        trap(position, "integer overflow")
    return value


def div(a: int, b: int, low: int, high: int, position: str) -> int:
    """Division truncating toward zero, as C does."""
    if b == 0:
        trap(position, "division by zero")
    q = abs(a) // abs(b)
    return ck(q if (a >= 0) == (b >= 0) else -q, low, high, position)


def rem(a: int, b: int, position: str) -> int:
    if b == 0:
        trap(position, "division by zero")
    q = abs(a) // abs(b)
    return a - (q if (a >= 0) == (b >= 0) else -q) * b


def shl(a: int, b: int, width: int, low: int, high: int, position: str) -> int:
    if b < 0 or b >= width:
        trap(position, "shift amount out of range")
    return ck(a << b, low, high, position)


def shr(a: int, b: int, width: int, position: str) -> int:
    if b < 0 or b >= width:
        trap(position, "shift amount out of range")
    return a >> b


_T = TypeVar("_T")
_Seq = TypeVar("_Seq", bytes, tuple[Any, ...])


def ix(items: Sequence[_T], index: int, position: str) -> _T:
    """``items[index]``, or a trap when the index is out of range."""
    if index < 0 or index >= len(items):
        trap(position, f"index {index} out of range (length {len(items)})")
    return items[index]


def sl(items: _Seq, lower: int | None, upper: int | None, position: str) -> _Seq:
    """``items[lower:upper]``, or a trap when the bounds are out of range."""
    low = 0 if lower is None else lower
    high = len(items) if upper is None else upper
    if not 0 <= low <= high <= len(items):
        trap(position, f"slice [{low}:{high}] out of range (length {len(items)})")
    return items[low:high]


EXIT_MAX = 127  # the largest status hvt can hand to its host (QEMU: (status << 1) | 1)
EXIT_OUT_OF_RANGE = 126


def stop(code: int) -> NoReturn:
    """The builtin `exit(code)`.  A status above 127 stops with 126 and says
    so, as the C targets do (docs/language.md section 11)."""
    if code > EXIT_MAX:
        sys.stdout.write(f"platform: exit status {code} is outside 0..{EXIT_MAX}\n")
        code = EXIT_OUT_OF_RANGE
    sys.stdout.flush()
    raise SystemExit(code)


def fmt_bool(value: bool) -> str:
    return "true" if value else "false"


def fmt_lists(value: Any, depth: int, element: Callable[[Any], str]) -> str:
    """A list nested ``depth`` deep whose innermost elements ``element``
    shows: the formatting of a deep list, which as one expression would
    nest past what CPython's parser takes (200 brackets)."""
    if depth == 0:
        return element(value)
    return "[" + ", ".join([fmt_lists(v, depth - 1, element) for v in value]) + "]"


def fmt_ipv4(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def fmt_cidr(value: tuple[int, int]) -> str:
    return f"{fmt_ipv4(value[0])}/{value[1]}"


def fmt_duration(value: int) -> str:
    """The rule of docs/language.md section 4.11, as the compiler applies it."""
    if value == 0:
        return "0s"
    sign = "-" if value < 0 else ""
    n = abs(value)
    if n % 1_000_000_000 == 0:
        for unit, scale in (("h", 3_600_000_000_000), ("m", 60_000_000_000)):
            if n % scale == 0:
                return f"{sign}{n // scale}{unit}"
        return f"{sign}{n // 1_000_000_000}s"
    for unit, scale in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if n >= scale:
            fraction = (n % scale) // (scale // 1000)
            decimals = f".{fraction:03d}".rstrip("0") if fraction else ""
            return f"{sign}{n // scale}{decimals}{unit}"
    return f"{sign}{n}ns"


def fmt_size(value: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)):
        if value % scale == 0 and value != 0:
            return f"{value // scale}{unit}"
    return "0B"


def utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def console_write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


_START = time.monotonic_ns()


def now() -> int:
    """Monotonic time since boot, in nanoseconds (a `Duration`)."""
    return time.monotonic_ns() - _START


class Runtime:
    """The event loop: sockets that are ready and timers that are due."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.timers: list[tuple[int, int, Callable[[], None]]] = []
        self.sequence = 0
        self.readers = 0
        self.stopping = False
        # The address sockets bind to (`--bind`, read by host_ip), as an Ipv4 value.
        self.bind_address = 0
        # The parameters components read at boot, by flag (already parsed).
        self.params: dict[str, Any] = {}

    def announce(self, what: str) -> None:
        """Say on standard error where the image listens (tests wait for it)."""
        sys.stderr.write(f"listening: {what}\n")
        sys.stderr.flush()

    def cannot_listen(self, proto: str, port: int, error: OSError) -> NoReturn:
        """Stop at start: the image cannot have the port it is built to serve."""
        busy = " (another program is using the port)" if error.errno == errno.EADDRINUSE else ""
        sys.stderr.write(f"cannot listen on {proto} {fmt_ipv4(self.bind_address)}:{port}: "
                         f"{error.strerror or error}{busy}\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_UNAVAILABLE)

    def on_readable(self, sock: socket.socket, callback: Callable[[], None]) -> None:
        self.on_ready(sock, callback, read=True, write=False)

    def on_ready(self, sock: socket.socket, callback: Callable[[], None], *, read: bool,
                 write: bool) -> None:
        """Call ``callback`` whenever ``sock`` is readable (when ``read``) or
        writable (when ``write``)."""
        self.selector.register(sock, _events(read, write), callback)
        self.readers += 1

    def interest(self, sock: socket.socket, *, read: bool, write: bool) -> None:
        """Change what wakes a registered socket's callback (one of the two at least)."""
        key = self.selector.get_key(sock)
        events = _events(read, write)
        if key.events != events:
            self.selector.modify(sock, events, key.data)

    def forget(self, sock: socket.socket) -> None:
        try:
            self.selector.unregister(sock)
            self.readers -= 1
        except (KeyError, ValueError):
            pass

    def at_time(self, when: int, callback: Callable[[], None]) -> int:
        """Call ``callback`` at ``when`` (a `now()` reading); a handle for `cancel`."""
        self.sequence += 1
        heapq.heappush(self.timers, (when, self.sequence, callback))
        return self.sequence

    def cancel(self, handle: int) -> None:
        """Forget the timer ``handle``, so that it neither runs nor keeps the loop going."""
        self.timers = [t for t in self.timers if t[1] != handle]
        heapq.heapify(self.timers)

    def run(self) -> None:
        """Serve until nothing is registered (or a signal stops the program)."""
        while not self.stopping and (self.readers > 0 or self.timers):
            timeout: float | None = None
            if self.timers:
                timeout = max(0.0, (self.timers[0][0] - now()) / 1e9)
            for key, _ in self.selector.select(timeout):
                callback: Callable[[], None] = key.data
                callback()
            current = now()
            while self.timers and self.timers[0][0] <= current:
                _, _, due = heapq.heappop(self.timers)
                due()


def _events(read: bool, write: bool) -> int:
    return (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
