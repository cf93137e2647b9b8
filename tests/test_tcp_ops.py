"""The Tcp operations of LANGUAGE.md v1.1 section 12 (listen, on_event, send,
connect, close) on every target, and the discipline of socket_tcp on the
unix and python targets (backends/c/runtime/components/socket_tcp.c and its
Python twin), driven over real sockets on 127.0.0.1 with
tests/data/tcp_ops/ops.spec:

- every operation, with `connect` to a server this test runs, and to a port
  where nothing listens (`failed`), on unix, python and hvt (direct_tcp.c,
  one boot under `specc run`, the host at 10.0.2.2; there also 2 MiB of
  `send` to a stalled reader arrive whole while another client is served);
- a slow reader gets a large response whole (8 MiB through `send`, 512 KiB
  as one reply of on_data) after not reading for longer than the old 5 s
  write deadline, while other clients are answered at once;
- `send` refuses (false) what the send buffer cannot hold;
- an idle connection is reset after idle_timeout, a busy one is not;
- a full table resets the idlest connection for a new one, and so does
  running out of file descriptors.
"""

from __future__ import annotations

import contextlib
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import Server, compile_spec, start_server
from test_c_targets import needs_qemu
from test_dns_vs_nsd import free_port
from test_hvt_dhcp import read_until

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "tcp_ops" / "ops.spec"
TARGETS = ("unix", "python")
SPECC = [sys.executable, "-m", "specc"]
TIMEOUT = 10.0  # seconds: any one wait on an image
BOOT_TIMEOUT = 180.0  # seconds: an hvt build and boot under TCG on a loaded machine
FILL = b"0123456789abcdef" * 4096  # the spec's fill(b"0123456789abcdef", 12)
TIGHT_IDLE = 2.0  # seconds: idle_timeout of the "tight" images
TIGHT_MAX = 3  # max_connections of the "tight" images


def block(i: int) -> bytes:
    return f"block {i} ".encode() + FILL


@dataclass(frozen=True)
class Images:
    default: Path
    tight: Path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Images]:
    built = {}
    for target in TARGETS:
        default = compile_spec(SPEC, tmp_path_factory.mktemp(f"{target}-default"), target)
        tight = compile_spec(SPEC, tmp_path_factory.mktemp(f"{target}-tight"), target,
                             "-D", f"max_connections={TIGHT_MAX}",
                             "-D", f"idle_timeout={int(TIGHT_IDLE * 1000)}ms")
        built[target] = Images(default, tight)
    return built


@contextlib.contextmanager
def running(image: Path, *args: str) -> Iterator[tuple[Server, list[str]]]:
    """The image serving on a free port; the lines it printed, once it stopped."""
    server = start_server(image, ("tcp",), args)
    printed: list[str] = []
    try:
        yield server, printed
    finally:
        output = server.stop()
        printed.extend(output.decode().splitlines())
        assert server.process.returncode in (0, -15), output  # SIGTERM, not a trap


def connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect, so that the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    return sock


def receive(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(1 << 20, size - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def echo_ms(port: int, sock: socket.socket | None = None) -> float:
    """A round trip of a line, on a new connection unless ``sock``; its time in ms."""
    start = time.monotonic()
    own = sock is None
    sock = sock or connect(port)
    try:
        sock.sendall(b"ping\n")
        assert receive(sock, 5) == b"ping\n"
    finally:
        if own:
            sock.close()
    return (time.monotonic() - start) * 1000


def server_events(printed: list[str]) -> list[list[str]]:
    """The events of each accepted connection, in order ("server EVENT ID" lines)."""
    by_id: dict[str, list[str]] = {}
    for line in printed:
        if line.startswith("server "):
            _, event, ident = line.split()
            by_id.setdefault(ident, []).append(event)
    return list(by_id.values())


# ---- every operation -----------------------------------------------------------------


class Upstream:
    """A server on the host that the image `connect`s to: it reads the
    guest's greeting, answers, and waits for the guest to close."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(timeout)
        self.port = self.listener.getsockname()[1]
        self.greeting = b""
        self.saw_eof = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        with contextlib.suppress(OSError):
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(TIMEOUT)
                self.greeting = sock.recv(100)
                sock.sendall(b"hi guest\n")
                self.saw_eof = sock.recv(100) == b""
        self.listener.close()


def exercise(port: int) -> None:
    """listen's on_data (a reply; close from inside it) and send, as a client."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"echo me\n")
        assert receive(sock, 8) == b"echo me\n"
        assert echo_ms(port, sock) < TIMEOUT * 1000
        sock.sendall(b"quit\n")
        assert receive(sock, 5) == b"bye\n"
        assert sock.recv(10) == b"", "no FIN after quit"
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"big 2")  # send, outside of a reply
        assert receive(sock, 2 * len(block(0))) == block(0) + block(1)


def check_printed(printed: list[str], upstream: Upstream, accepted: int = 2) -> None:
    """What connect (to the upstream, and to a dead port) and on_event did."""
    assert upstream.greeting == b"hello from the guest\n"
    assert upstream.saw_eof, "the guest did not close its connection"
    assert [line for line in printed if line.startswith("upstream")] == [
        "upstream id nonzero: true", "upstream opened", "upstream said: hi guest",
        "upstream closed"], printed
    assert [line for line in printed if line.startswith("dead")] == ["dead failed"], printed
    assert server_events(printed) == [["opened", "closed"]] * accepted, printed


@pytest.mark.parametrize("target", TARGETS)
def test_each_operation(images: dict[str, Images], target: str) -> None:
    upstream = Upstream()
    dead = free_port()  # nothing listens there
    with running(images[target].default, f"--upstream-port={upstream.port}",
                 f"--dead-port={dead}") as (server, printed):
        upstream.thread.join(TIMEOUT)
        exercise(server.port)
        time.sleep(0.3)  # the close of the last client reaches the image
    check_printed(printed, upstream)


@needs_qemu
def test_each_operation_on_hvt(tmp_path: Path) -> None:
    """The same on hvt (direct_tcp over net/tcp.c) under `specc run`: the
    guest connects to the host at 10.0.2.2 through QEMU's user networking."""
    upstream = Upstream(timeout=BOOT_TIMEOUT)
    dead = free_port()
    port = free_port()
    process = subprocess.Popen(
        [*SPECC, "run", str(SPEC), "-t", "hvt", "-o", str(tmp_path), "-D", f"port={port}",
         "--", f"--upstream-port={upstream.port}", f"--dead-port={dead}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        seen = read_until(process, rf"listening: tcp [\d.]+:{port}\r?\n", BOOT_TIMEOUT)
        assert f":{port}" in seen, seen
        upstream.thread.join(TIMEOUT)
        exercise(port)
        # send to a reader that stalls: 2 MiB wait in the send pool while
        # another client is answered, then arrive whole.
        with connect(port, rcvbuf=4096) as slow:
            slow.sendall(b"big 32")
            time.sleep(1.0)
            assert echo_ms(port) < 2000, "a client waited behind the stalled reader"
            expected = b"".join(block(i) for i in range(32))
            assert receive(slow, len(expected)) == expected
        time.sleep(1.0)  # TCG is slow: the close of the last client reaches the image
    finally:
        process.terminate()  # specc run hands it to QEMU
        try:
            rest, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate(timeout=20)
    printed = (seen + rest.decode(errors="replace").replace("\r", "")).splitlines()
    assert not [line for line in printed if "direct_tcp" in line], printed  # no trap
    check_printed(printed, upstream, accepted=4)
    assert not [line for line in printed if "refused" in line], printed


# ---- a slow reader ----------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_slow_readers_get_large_responses_whole_and_stall_nobody(
        images: dict[str, Images], target: str) -> None:
    with running(images[target].default) as (server, printed):
        sent = connect(server.port, rcvbuf=4096)  # 8 MiB through 128 sends
        sent.sendall(b"big 128")
        replied = connect(server.port, rcvbuf=4096)  # 512 KiB as one reply of on_data
        replied.sendall(b"reply 3")
        # Neither reads for longer than the old 5 s write deadline; meanwhile
        # every other client is answered at once.
        stalled_until = time.monotonic() + 5.5
        worst = 0.0
        while time.monotonic() < stalled_until:
            worst = max(worst, echo_ms(server.port))
            time.sleep(0.25)
        assert worst < 1000, f"a new client waited {worst:.0f} ms behind the slow readers"
        expected_sent = b"".join(block(i) for i in range(128))
        expected_reply = block(0) * 8
        with sent, replied:
            assert receive(sent, len(expected_sent)) == expected_sent
            assert receive(replied, len(expected_reply)) == expected_reply
        assert server.alive()
    assert not [line for line in printed if "refused" in line], printed


@pytest.mark.parametrize("target", TARGETS)
def test_send_refuses_what_the_send_buffer_cannot_hold(images: dict[str, Images],
                                                       target: str) -> None:
    with running(images[target].default) as (server, printed):
        with connect(server.port, rcvbuf=4096) as sock:
            sock.sendall(b"big 400")  # 26 MiB for a client that does not read: over 16 MiB
            assert echo_ms(server.port) < TIMEOUT * 1000  # the loop went on
        time.sleep(0.3)
    refused = [line for line in printed if line.startswith("send refused at block ")]
    assert len(refused) == 1, printed
    # send_buffer (16 MiB) went in, and at most what the kernel can take besides.
    kernel = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2]) / (1 << 20)
    queued = int(refused[0].split()[-1]) * len(block(0)) / (1 << 20)
    assert 16 <= queued < 16 + kernel + 1, refused


# ---- idle timeouts and a full table --------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_an_idle_connection_is_reset_after_the_timeout(images: dict[str, Images],
                                                       target: str) -> None:
    with running(images[target].tight) as (server, printed):
        idle, busy = connect(server.port), connect(server.port)
        with idle, busy:
            echo_ms(server.port, idle)
            last_activity = time.monotonic()
            until = last_activity + TIGHT_IDLE * 1.5
            while time.monotonic() < until:  # busy keeps talking; idle says nothing
                echo_ms(server.port, busy)
                time.sleep(0.2)
            with pytest.raises(ConnectionResetError):
                idle.recv(10)
            assert echo_ms(server.port, busy) < TIMEOUT * 1000
        time.sleep(0.3)
    assert server_events(printed).count(["opened", "reset"]) == 1, printed


@pytest.mark.parametrize("target", TARGETS)
def test_a_slow_reader_is_not_idle(images: dict[str, Images], target: str) -> None:
    """A reader taking 32 KiB over about 6 s, three times idle_timeout: once the
    image has written everything, the kernel still holds most of it, and the
    connection is not idle while that queue drains."""
    data = bytes(range(256)) * 128
    with running(images[target].tight) as (server, printed):
        with connect(server.port, rcvbuf=4096) as sock:
            sock.sendall(data)
            got = bytearray()
            while len(got) < len(data):
                chunk = sock.recv(1024)
                if not chunk:
                    break
                got += chunk
                time.sleep(0.2)
            assert bytes(got) == data
        time.sleep(0.3)
    assert server_events(printed) == [["opened", "closed"]], printed


@pytest.mark.parametrize("target", TARGETS)
def test_a_full_table_resets_the_idlest(images: dict[str, Images], target: str) -> None:
    with running(images[target].tight) as (server, printed):
        first, second, third = (connect(server.port) for _ in range(TIGHT_MAX))
        with first, second, third:
            for sock in (first, second, third, first):  # second is now the idlest
                echo_ms(server.port, sock)
                time.sleep(0.05)
            with connect(server.port) as fourth:
                echo_ms(server.port, fourth)  # served: it took the idlest's slot
                with pytest.raises(ConnectionResetError):
                    second.recv(10)
                for sock in (first, third):
                    echo_ms(server.port, sock)
        time.sleep(0.3)
    events = server_events(printed)
    assert events.count(["opened", "reset"]) == 1, printed
    assert len(events) == TIGHT_MAX + 1, printed


@pytest.mark.parametrize("target", TARGETS)
def test_out_of_descriptors_resets_the_idlest(images: dict[str, Images], target: str) -> None:
    """With RLIMIT_NOFILE at 16 the kernel refuses descriptors before the
    table (16) is full: the idlest connection makes room, and the loop does
    not spin on a listener it cannot accept from."""
    image = images[target].default
    command = [str(image)] if image.suffix != ".py" else [sys.executable, str(image)]

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))

    process = subprocess.Popen([*command, "--bind=127.0.0.1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, preexec_fn=few_descriptors)
    held: list[socket.socket] = []
    try:
        assert process.stderr is not None
        line = process.stderr.readline().decode()
        found = re.search(r"listening: tcp 127\.0\.0\.1:(\d+)", line)
        assert found is not None, line
        port = int(found.group(1))
        for _ in range(24):  # more than there are descriptors: each is served at once
            sock = connect(port)
            held.append(sock)
            assert echo_ms(port, sock) < 2000
        reset = 0
        for sock in held[:-1]:
            try:
                sock.sendall(b"ping\n")
                reset += receive(sock, 5) != b"ping\n"
            except ConnectionResetError:
                reset += 1
        assert reset >= 24 - 16, f"only {reset} of the first 23 connections were reset"
        assert process.poll() is None
    finally:
        for sock in held:
            sock.close()
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode in (0, -15), output


@pytest.mark.parametrize(("target", "component"), [("unix", "socket_tcp"), ("python", "socket_tcp"),
                                                   ("hvt", "direct_tcp")])
def test_the_tcp_composition_passes_idle_timeout_on(tmp_path: Path, target: str,
                                                     component: str) -> None:
    spec = tmp_path / "idle.spec"
    spec.write_text('unikernel idle "tcp(ip, idle_timeout = 5s)"\n\n'
                    "devices {\n"
                    "  ip = match target {\n"
                    "    Target.hvt => static_ipv4(ethernet(virtio_net()), 10.0.2.15/24)\n"
                    "    _          => host_ip()\n"
                    "  }\n"
                    "  t  = tcp(ip, idle_timeout = 5s)\n"
                    "}\n\n"
                    "fn echo(c: Conn, data: bytes) -> bytes? {\n  return some(data)\n}\n\n"
                    "main {\n  t.listen(7000, echo)\n}\n")
    result = subprocess.run([*SPECC, "compile", str(spec), "-t", target, "-o", str(tmp_path / "out"),
                             "--dump-after", "devices"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("t ="))
    assert line.strip().startswith(f"t = {component}(") and "idle_timeout = 5s" in line, line
