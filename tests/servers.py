"""Compiling a spec and running the image as a server on 127.0.0.1, for the
end-to-end tests of every target."""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]


def compile_spec(spec: Path, out: Path, target: str, *extra: str) -> Path:
    """`specc compile SPEC -t TARGET -o OUT EXTRA...`; the image's path."""
    result = subprocess.run([*SPECC, "compile", str(spec), "-t", target, "-o", str(out), *extra],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    images = [p for p in out.iterdir() if p.is_file() and p.name != "manifest.json"]
    assert len(images) == 1
    return images[0]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    ports: dict[str, int]  # "udp" / "tcp" -> the port it said it listens on

    @property
    def port(self) -> int:
        return self.ports.get("tcp", self.ports.get("udp", 0))

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> bytes:
        """Stop the server; what it printed on stdout."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate(timeout=10)
        return output


def start_server(image: Path, protocols: tuple[str, ...], args: tuple[str, ...] = ()) -> Server:
    """Run `image` on 127.0.0.1 (with the parameters ``args``) until it says it
    listens on every protocol."""
    command = [str(image)] if image.suffix != ".py" else [sys.executable, str(image)]
    process = subprocess.Popen([*command, "--bind=127.0.0.1", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stderr is not None
    ports: dict[str, int] = {}
    seen = b""
    deadline = time.monotonic() + 20
    while set(ports) < set(protocols) and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], deadline - time.monotonic())
        data = os.read(process.stderr.fileno(), 4096) if ready else b""
        if not data:
            break
        seen += data
        ports = {m.group(1).decode(): int(m.group(2)) for m in
                 re.finditer(rb"listening: (udp|tcp) 127\.0\.0\.1:(\d+)\n", seen)}
    server = Server(process, ports)
    if not set(protocols) <= set(ports):
        server.stop()
        pytest.fail(f"{image.name} did not start: {seen!r}")
    return server


def exchange_with(port: int, *pieces: bytes, timeout: float) -> bytes:
    """Send `pieces` to 127.0.0.1:`port` on one connection (pausing 50 ms
    between them), end the input, and read until the server closes or resets."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):  # the server may close before all is sent
            for i, piece in enumerate(pieces):
                if i:
                    time.sleep(0.05)
                s.sendall(piece)
            s.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
        return received
