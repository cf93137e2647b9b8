"""``specc new DIR --template udp|dns|http`` (issue 12, item 7): each template
is formatted, checks clean, and builds and answers on every target that can
build it today; nothing existing is ever overwritten.

hvt runs under QEMU through ``specc run`` (user networking forwarding a free
127.0.0.1 port), one boot per template.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest
from servers import ROOT, SPECC, compile_spec, start_server
from test_dns_vs_nsd import free_port

HOSTED = ("python", "unix")
TEMPLATES = ("udp", "dns", "http")


def specc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPECC, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def new(tmp_path: Path, template: str) -> Path:
    result = specc("new", str(tmp_path / f"my-{template}"), "--template", template, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = tmp_path / f"my-{template}" / f"my_{template}.spec"
    assert spec.is_file()
    return spec


def ask(template: str, port: int, deadline: float) -> bytes:
    """One request to the template's service on 127.0.0.1:port, retried until
    ``deadline`` (a booting hvt image answers after a moment)."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if template == "udp":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.settimeout(1)
                    sock.sendto(b"hello specc", ("127.0.0.1", port))
                    return sock.recvfrom(2048)[0]
            if template == "dns":
                query = dns.message.make_query("www.example.test.", dns.rdatatype.A)
                answer = dns.query.udp(query, "127.0.0.1", port=port, timeout=1)
                return answer.to_text().encode()
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                reply = b""
                while chunk := conn.recv(65536):
                    reply += chunk
                return reply
        except (OSError, dns.exception.Timeout) as error:
            last = error
            time.sleep(0.2)
    raise AssertionError(f"no answer from the {template} template on port {port}: {last}")


def check_answer(template: str, reply: bytes) -> None:
    if template == "udp":
        assert reply == b"hello specc"
    elif template == "dns":
        assert b"www.example.test. 3600 IN A 192.0.2.80" in reply, reply
    else:
        assert reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n")[0], reply[:200]
        assert b"Served by a specc unikernel" in reply


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_new_spec_is_formatted_and_checks_clean(tmp_path: Path, template: str) -> None:
    spec = new(tmp_path, template)
    assert specc("fmt", "--check", str(spec), cwd=tmp_path).returncode == 0
    checked = specc("check", str(spec), "--format", "json", cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout.strip() == "[]", checked.stdout


@pytest.mark.parametrize("target", HOSTED)
@pytest.mark.parametrize("template", TEMPLATES)
def test_a_new_spec_builds_and_answers_hosted(tmp_path: Path, template: str, target: str) -> None:
    if target == "unix" and shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    spec = new(tmp_path, template)
    port = free_port()
    image = compile_spec(spec, tmp_path / "out", target, "-D", f"port={port}")
    server = start_server(image, ("tcp",) if template == "http" else ("udp",))
    try:
        check_answer(template, ask(template, server.port, time.monotonic() + 20))
    finally:
        server.stop()


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_new_spec_builds_and_answers_on_hvt(tmp_path: Path, template: str) -> None:
    if shutil.which("qemu-system-x86_64") is None or shutil.which("gcc") is None:
        pytest.skip("QEMU or gcc is not installed")
    spec = new(tmp_path, template)
    port = free_port()
    built = specc("compile", str(spec), "-t", "hvt", "-D", f"port={port}", "-o",
                  str(tmp_path / "out"), "--format", "gcc", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    run = subprocess.Popen([*SPECC, "run", str(spec), "-t", "hvt", "-D", f"port={port}", "-o",
                            str(tmp_path / "out")], cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    try:
        check_answer(template, ask(template, port, time.monotonic() + 60))
    finally:
        run.terminate()
        try:
            run.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            run.kill()
            run.communicate(timeout=10)


def test_specc_new_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "site"
    (target / "site").mkdir(parents=True)
    index = target / "site" / "index.html"
    index.write_text("mine\n")
    result = specc("new", str(target), "--template", "http", cwd=tmp_path)
    assert result.returncode == 1
    assert f"error[E0806]: `{index}` exists already" in result.stderr
    assert index.read_text() == "mine\n"
    assert not (target / "site.spec").exists()  # nothing at all was written
    # Without the obstacle it writes; a second time it refuses the spec.
    assert specc("new", str(tmp_path / "again"), cwd=tmp_path).returncode == 0
    spec = tmp_path / "again" / "again.spec"
    before = spec.read_text()
    second = specc("new", str(tmp_path / "again"), cwd=tmp_path)
    assert second.returncode == 1 and spec.read_text() == before


def test_the_readme_first_steps_use_specc_new() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "specc new" in readme
