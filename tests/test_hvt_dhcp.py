"""dhcp_ipv4: on the host over a fake stack and clock (tests/c/dhcp_host.c,
with the sanitizers), and end to end under QEMU's user networking: `specc run
examples/dns.spec -t hvt -D dhcp=true` boots, takes its lease from the DHCP
server built into slirp, prints it and its readiness line, and answers dig
on the port QEMU forwards to the address it handed out.

The same on a tap against dnsmasq, with a lease short enough to be renewed
during the test, is in tests/test_hvt_tap.py (root only).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_c_targets import needs_gcc, needs_qemu
from test_dns_vs_nsd import free_port

from specc.backends.c.build import LIB_DIR, PLATFORM_DIR, RUNTIME_DIR

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
needs_dig = pytest.mark.skipif(shutil.which("dig") is None,
                               reason="dig is missing (Debian dnsutils; scripts/setup.sh)")


@needs_gcc
def test_the_client_on_the_host_with_a_fake_stack(tmp_path: Path) -> None:
    """RFC 2131's exchanges, timers and retransmissions, then 100,000 mutated
    and random replies, under AddressSanitizer and UBSan."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "instances.h").write_text("/* no generated instances on the host */\n")
    exe = tmp_path / "dhcp_host"
    compiled = subprocess.run(
        ["gcc", "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", str(stub),
         "-I", str(RUNTIME_DIR), "-I", str(PLATFORM_DIR), "-I", str(LIB_DIR),
         str(ROOT / "tests" / "c" / "dhcp_host.c"), "-o", str(exe)],
        capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0, compiled.stderr
    run = subprocess.run([str(exe), "100000"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"dhcp host test: \d+ checks, 0 failed", run.stdout), run.stdout
    assert "Sanitizer" not in run.stderr, run.stderr


def read_until(process: subprocess.Popen[bytes], pattern: str, timeout: float) -> str:
    """What `process` printed on stdout until a line matches `pattern` (or the
    timeout), without the carriage returns of the serial console, which
    `pattern` is matched without too."""
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern.encode(), seen.replace(b"\r", b"")) and \
            time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        data = os.read(process.stdout.fileno(), 4096) if ready else b""
        if not data:
            break
        seen += data
    return seen.decode(errors="replace").replace("\r", "")


def dig(port: int, name: str, rdtype: str, server: str = "127.0.0.1") -> str:
    result = subprocess.run(["dig", f"@{server}", "-p", str(port), name, rdtype, "+short",
                             "+time=2", "+tries=2"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_qemu
@needs_dig
def test_specc_run_with_dhcp_answers_dig(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([*SPECC, "run", str(ROOT / "examples" / "dns.spec"), "-t", "hvt",
                                "-D", "dhcp=true", "-D", f"port={port}", "-o", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        output = read_until(process, rf"listening: udp [\d.]+:{port}\n", 120)
        lease = re.search(r"dhcp: bound (\S+)/(\d+) router (\S+) server (\S+) lease (\d+) s "
                          r"\(renew at (\d+) s, rebind at (\d+) s\)", output)
        assert lease is not None, output
        # slirp's defaults: the first address from 10.0.2.15, a /24, itself
        # the router and the server, a day's lease (T1 and T2 are ours).
        assert lease.groups() == ("10.0.2.15", "24", "10.0.2.2", "10.0.2.2", "86400", "43200",
                                  "75600"), output
        assert f"listening: udp 10.0.2.15:{port}\n" in output
        assert output.index("dhcp: bound") < output.index("listening: udp")
        assert dig(port, "www.example.org", "A") == "192.0.2.80\n"
        assert dig(port, "example.org", "MX") == "10 mail.example.org.\n"
    finally:
        process.terminate()
        process.communicate(timeout=20)
