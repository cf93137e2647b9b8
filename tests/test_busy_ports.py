"""A busy port stops an image at start (issue 12, item 5).

Hosted images (unix, python) bind without SO_REUSEADDR for UDP, so a second
image on a UDP port fails instead of receiving nothing; for TCP they keep
SO_REUSEADDR (a restart beside TIME_WAIT connections works) and Linux still
refuses a second listener.  Either way the image says which port, and exits
with status 69 (EX_UNAVAILABLE).  On hvt, QEMU itself refuses to start when
a forwarded host port is taken, with status 1 (which reads like an image's
exit(0)), so ``specc run`` checks the ports first (docs/targets.md).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from servers import ROOT, SPECC, compile_spec, start_server
from test_dns_vs_nsd import free_port

HOSTED = ("python", "unix")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


def run(image: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(image)] if image.suffix == ".py" else [str(image)]
    return subprocess.run([*command, "--bind=127.0.0.1"], capture_output=True, text=True,
                          timeout=30)


@needs_gcc
@pytest.mark.parametrize("target", HOSTED)
def test_a_busy_udp_port_stops_the_image(tmp_path: Path, target: str) -> None:
    port = free_port()
    image = compile_spec(ROOT / "examples" / "echo.spec", tmp_path, target, "-D", f"port={port}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))
        result = run(image)
    assert result.returncode == 69, result.stderr
    assert f"cannot listen on udp 127.0.0.1:{port}: Address already in use" in result.stderr


@needs_gcc
@pytest.mark.parametrize("target", HOSTED)
def test_a_busy_tcp_port_stops_the_image_but_a_restart_works(tmp_path: Path, target: str) -> None:
    port = free_port()
    image = compile_spec(ROOT / "examples" / "http.spec", tmp_path, target, "-D", f"port={port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # even so: refused
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = run(image)
    assert result.returncode == 69, result.stderr
    assert f"cannot listen on tcp 127.0.0.1:{port}: Address already in use" in result.stderr

    # The server closes an HTTP/1.0 connection first, so its side is left in
    # TIME_WAIT; a restart right away still binds.
    server = start_server(image, ("tcp",))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.")
    finally:
        server.stop()
    again = start_server(image, ("tcp",))
    again.stop()


def test_hvt_forwarding_to_a_busy_host_port_fails_to_start(tmp_path: Path) -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("QEMU is not installed")
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))
        result = subprocess.run([*SPECC, "run", str(ROOT / "examples" / "echo.spec"), "-t", "hvt",
                                 "-D", f"port={port}", "-o", str(tmp_path)],
                                capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 69, result.stderr
    assert f"cannot listen on udp 127.0.0.1:{port}: Address already in use" in result.stderr


def test_qemu_itself_refuses_a_busy_forwarded_port(tmp_path: Path) -> None:
    # What `specc run` checks for: QEMU exits with 1 and its own message.
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("QEMU is not installed")
    port = free_port()
    printed = subprocess.run([*SPECC, "run", str(ROOT / "examples" / "echo.spec"), "-t", "hvt",
                              "-D", f"port={port}", "-o", str(tmp_path), "--print-command"],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert printed.returncode == 0, printed.stderr
    command = printed.stdout.strip().split(" ")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"Could not set up host forwarding rule 'udp:127.0.0.1:{port}-" in result.stderr
