"""The python target end to end: compile examples, check the emitted file with
mypy, run it, and talk to it over UDP on 127.0.0.1."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
DATA = ROOT / "tests" / "data" / "python_target"


def compile_python(spec: Path, out: Path, *extra: str) -> Path:
    result = subprocess.run([*SPECC, "compile", str(spec), "-t", "python", "-o", str(out),
                             *extra], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    images = list(out.glob("*.py"))
    assert len(images) == 1
    return images[0]


def functions_in(image: Path) -> set[str]:
    tree = ast.parse(image.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def start(image: Path, *args: str, expect: int = 1) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """Start an image on 127.0.0.1 and wait until it says where it listens
    (``expect`` listening sockets)."""
    process = subprocess.Popen([sys.executable, str(image), "--bind=127.0.0.1", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 20
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        match = re.match(r"listening: (udp|tcp) 127\.0\.0\.1:(\d+)", line)
        if match:
            ports[match.group(1)] = int(match.group(2))
            if len(ports) == expect:
                break
    return process, ports


@pytest.fixture
def echo_image(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str], int]]:
    image = compile_python(ROOT / "examples" / "echo.spec", tmp_path, "-D", "port=17007")
    process, ports = start(image, "--max-size=100")
    try:
        assert ports.get("udp") == 17007, "the image did not start listening"
        yield image, process, ports["udp"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_echo_answers_over_udp(echo_image: tuple[Path, subprocess.Popen[str], int]) -> None:
    _, _, port = echo_image
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        for payload in (b"hello", b"\x00\xff binary", b"x" * 100):
            client.sendto(payload, ("127.0.0.1", port))
            data, _ = client.recvfrom(2048)
            assert data == payload
        client.sendto(b"y" * 101, ("127.0.0.1", port))  # over --max-size: dropped
        with pytest.raises(TimeoutError):
            client.settimeout(0.5)
            client.recvfrom(2048)


def test_sigterm_stops_cleanly(echo_image: tuple[Path, subprocess.Popen[str], int]) -> None:
    _, process, _ = echo_image
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_emitted_files_pass_mypy_strict(tmp_path: Path) -> None:
    images = [compile_python(ROOT / "examples" / f"{name}.spec", tmp_path / name)
              for name in ("echo", "inventory")]
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                             *map(str, images)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout


def imported_modules(source: str) -> set[str]:
    """The top-level modules a Python file imports."""
    tree = ast.parse(source)
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
               for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.module}
    return modules


def test_emitted_file_imports_only_the_standard_library(tmp_path: Path) -> None:
    image = compile_python(ROOT / "examples" / "inventory.spec", tmp_path)
    assert imported_modules(image.read_text()) <= set(sys.stdlib_module_names) | {"__future__"}


def test_log_debug_is_specialized_away(tmp_path: Path) -> None:
    quiet = compile_python(ROOT / "examples" / "echo.spec", tmp_path / "info")
    chatty = compile_python(ROOT / "examples" / "echo.spec", tmp_path / "debug",
                            "-D", "log_level=debug")
    assert ".debug(" not in quiet.read_text() and "def debug" not in quiet.read_text()
    assert ".debug(" in chatty.read_text() and "def debug" in chatty.read_text()


def test_help_and_bad_parameters(tmp_path: Path) -> None:
    image = compile_python(DATA / "trapper.spec", tmp_path)
    shown = subprocess.run([sys.executable, str(image), "--help"], capture_output=True,
                           text=True, timeout=30)
    assert shown.returncode == 0
    assert "--a=U8" in shown.stdout and "The second number." in shown.stdout
    for bad in (["--a=300"], ["--a=x"], ["--nope=1"], ["--b=150"], ["a=1"]):
        run = subprocess.run([sys.executable, str(image), *bad], capture_output=True, text=True,
                             timeout=30)
        assert run.returncode == 64, (bad, run.stderr)
        assert run.stderr.strip() and "Traceback" not in run.stderr


def test_runtime_trap_names_the_spec_position(tmp_path: Path) -> None:
    image = compile_python(DATA / "trapper.spec", tmp_path)
    overflow = subprocess.run([sys.executable, str(image)], capture_output=True, text=True,
                              timeout=30)
    assert overflow.returncode == 70
    assert overflow.stderr.strip() == "trapper.spec:11:10: integer overflow"
    index = subprocess.run([sys.executable, str(image), "--a=1"], capture_output=True,
                           text=True, timeout=30)
    assert index.stdout == "sum 61\n"
    assert index.returncode == 70
    assert re.fullmatch(r"trapper\.spec:17:\d+: index 2 out of range \(length 2\)\n",
                        index.stderr)


def test_component_without_python_implementation_is_a_diagnostic(tmp_path: Path) -> None:
    result = subprocess.run([*SPECC, "compile", str(DATA / "custom.spec"), "-t", "python",
                             "-o", str(tmp_path), "--format", "gcc"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert re.search(r"custom\.spec:\d+:\d+: error\[E0701\]: device `light` cannot be built for "
                     r"target `python`: component `led` has no Python implementation",
                     result.stdout), result.stdout
    assert "Traceback" not in result.stderr


def test_specc_run_passes_arguments_and_exit_status(tmp_path: Path) -> None:
    result = subprocess.run([*SPECC, "run", str(DATA / "trapper.spec"), "-t", "python", "-o",
                             str(tmp_path), "--", "--a=1", "--b=2"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.stdout == "sum 3\n"
    assert result.returncode == 70  # the index trap's status becomes specc's


def test_same_inputs_give_identical_files(tmp_path: Path) -> None:
    first = compile_python(ROOT / "examples" / "inventory.spec", tmp_path / "a")
    second = compile_python(ROOT / "examples" / "inventory.spec", tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a" / "manifest.json").read_bytes() == \
        (tmp_path / "b" / "manifest.json").read_bytes()


def test_unused_code_is_not_emitted(tmp_path: Path) -> None:
    image = compile_python(ROOT / "examples" / "echo.spec", tmp_path)
    names = functions_in(image)
    assert "echo" in names and "main" in names
    assert not {"SocketTcp", "DnsZone", "HttpServer", "parse_duration", "shl"} & names
    assert os.access(image, os.X_OK)


@pytest.fixture
def http_image(tmp_path: Path) -> Iterator[int]:
    image = compile_python(ROOT / "examples" / "http.spec", tmp_path, "-D", "port=18088")
    process, ports = start(image)
    try:
        assert ports.get("tcp") == 18088, "the image did not start listening"
        yield ports["tcp"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_http_site_over_real_clients(http_image: int) -> None:
    import http.client
    import shutil
    import urllib.error
    import urllib.request

    port = http_image
    site = ROOT / "examples" / "site"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        assert response.status == 200
        assert response.read() == (site / "index.html").read_bytes()
        assert response.headers["Content-Type"].startswith("text/html")
        etag = response.headers["ETag"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/no/such/file", timeout=5)
    assert missing.value.code == 404
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/style.css")  # keep-alive: two requests, one connection
    first = connection.getresponse()
    assert first.status == 200 and first.read() == (site / "style.css").read_bytes()
    connection.request("GET", "/", headers={"If-None-Match": etag})
    second = connection.getresponse()
    assert second.status == 304 and second.read() == b""
    connection.request("HEAD", "/about/")
    head = connection.getresponse()
    assert head.status == 200 and head.read() == b""
    assert int(head.headers["Content-Length"]) == len((site / "about" / "index.html").read_bytes())
    connection.close()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=5) as response:
        assert response.read() == (site / "hello.txt").read_bytes()  # still serving
    if shutil.which("curl"):
        curl = subprocess.run(["curl", "-s", "-o", "-", "-w", "%{http_code}",
                               f"http://127.0.0.1:{port}/data.json"], capture_output=True,
                              timeout=30)
        assert curl.stdout.endswith(b"200")
        assert curl.stdout[:-3] == (site / "data.json").read_bytes()
