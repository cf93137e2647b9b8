"""The hvt target's TCP (``backends/c/runtime/net/tcp.c``) on the host.

``net/selftest_tcp_host.c`` compiles ``tcp.c`` (and ``net.c``) for the host
with AddressSanitizer and UBSan when this gcc has them, over a fake link to a
test peer of its own (a small independent TCP): handshakes both ways with the
MSS and window-scale options, echoes of 200 kB and 300 kB under seeded loss,
duplication and reordering, a 1 MiB response, backpressure and zero-window
probes, RST in several states and RFC 5961's challenge ACKs, retransmission
timeouts with backoff, fast retransmit, limited transmit (RFC 3042), a SYN flood against the bounded
backlog, eviction from a full table, idle timeouts, bounded TIME_WAIT, each
kind of bad segment counted, and 10,000 random malformed segments.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from host_c import compile_host_test, compile_strict

from specc.backends.c.build import RUNTIME_DIR, find_cc

NET_DIR = RUNTIME_DIR / "net"

needs_cc = pytest.mark.skipif(
    find_cc() is None, reason="no C compiler: install gcc (scripts/setup.sh does)"
)


@needs_cc
def test_tcp_on_the_host_with_a_fake_link(tmp_path: Path) -> None:
    cc = find_cc()
    assert cc is not None
    exe = tmp_path / "tcp_host_test"
    flags = compile_host_test(cc, [NET_DIR / "selftest_tcp_host.c", NET_DIR / "net.c"], exe)
    run = subprocess.run([str(exe), "10000"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"tcp host test: \d+ checks, 0 failed", run.stdout), run.stdout
    # The link really was lossy, and the stack really recovered.
    for m in re.finditer(r"lossy link .*: (\d+) dropped, (\d+) duplicated, (\d+) reordered",
                         run.stdout):
        assert sum(int(g) for g in m.groups()) > 0, m.group(0)
    assert re.search(r"fuzz: 10000 segments, \d+ dropped as malformed", run.stdout), run.stdout
    if flags:
        assert "Sanitizer" not in run.stderr, run.stderr


@needs_cc
def test_tcp_is_warning_free_with_strict_host_flags(tmp_path: Path) -> None:
    """Beyond build.py's flags: pedantic C11, conversions and shadowing."""
    cc = find_cc()
    assert cc is not None
    for source in ("tcp.c", "net.c"):
        compile_strict(cc, NET_DIR / source, tmp_path / (source + ".o"))
