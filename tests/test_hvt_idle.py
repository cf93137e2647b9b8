"""An idle hvt image costs its host (almost) nothing: it halts until an
interrupt instead of spinning.  examples/dns.spec is booted under QEMU
(TCG here), left alone for 5 s while QEMU's CPU time is sampled from
/proc, then asked a query, which it must still answer; its console says where it
listens, as unix and python do.

The bar of issue 9 is 1% of a host core over 10 s; that figure belongs to
bench/hvt_idle.py.  This test asserts 5%, far below the ~100% of a spinning
image and far above what noise on a shared machine adds.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import dns.message
import dns.rcode
from dns_queries import make
from test_c_targets import compile_c, needs_qemu
from test_dns_vs_nsd import ask, free_port

from specc.backends.c.build import qemu_command

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 5.0
IDLE_BAR = 0.05


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (proc(5): fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@needs_qemu
def test_an_idle_image_halts_and_still_answers(tmp_path: Path) -> None:
    image = compile_c(ROOT / "examples" / "dns.spec", tmp_path, "hvt",
                      "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
    port = free_port()
    process = subprocess.Popen(
        qemu_command(image, net=f"user,hostfwd=udp:127.0.0.1:{port}-10.0.2.15:53"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        query = make("www.example.org.", "A")
        reply = None
        deadline = time.monotonic() + 30
        while reply is None and time.monotonic() < deadline:
            reply = ask(port, query, 0.1)
        assert reply is not None, "the unikernel did not start answering"
        time.sleep(0.5)  # let the first answers' work settle
        cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        cpu1, wall1 = cpu_seconds(process.pid), time.monotonic()
        share = (cpu1 - cpu0) / (wall1 - wall0)
        print(f"hvt idle: QEMU used {share * 100:.2f}% of a core over {wall1 - wall0:.1f} s")
        assert share < IDLE_BAR, f"an idle image used {share * 100:.1f}% of a core"
        answer = ask(port, query, 2.0)
        assert answer is not None, "no answer after the idle period"
        message = dns.message.from_wire(answer)
        assert message.rcode() == dns.rcode.NOERROR and "192.0.2.80" in message.to_text()
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    # The readiness line unix and python print, on the console here.
    assert "listening: udp 10.0.2.15:53\n" in output.replace("\r", "")
