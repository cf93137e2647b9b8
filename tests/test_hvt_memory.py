"""An hvt image given less memory than it needs says so and exits 71.

tests/data/tcp_ops/ops.spec with 2,000 TCP connections has static tables
(direct_tcp's connection table) far larger than QEMU's ``-m 2``: the image
must stop at boot with a console message naming what needed how much and how
much RAM the machine has, and exit with PLATFORM_EXIT_NO_MEMORY (71), never
run into the missing memory (which used to end in a silent triple fault,
QEMU status 0).  One QEMU boot.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from targets import build
from test_c_targets import needs_qemu

from specc.backends.c.build import decode_exit_status, qemu_command

ROOT = Path(__file__).resolve().parent.parent
OPS_SPEC = ROOT / "tests" / "data" / "tcp_ops" / "ops.spec"
NO_MEMORY = 71  # platform.h: PLATFORM_EXIT_NO_MEMORY (EX_OSERR)


@needs_qemu
def test_too_little_memory_is_a_message_and_status_71(tmp_path: Path) -> None:
    image = build(OPS_SPEC, "hvt", tmp_path, "max_connections=2000")
    static_end = _symbol(image, "__image_end")
    assert static_end > 2 << 20, "the image must not fit in -m 2 for this test to mean anything"
    run = subprocess.run(qemu_command(image, memory_mib=2, net="user"), capture_output=True,
                         text=True, timeout=60, check=False)
    console = run.stdout.replace("\r", "")
    m = re.search(r"platform: out of memory at boot: the image's code and static data need "
                  r"(\d+) KiB of RAM and the machine has (\d+) KiB: give QEMU more -m\n", console)
    assert m, console + run.stderr
    assert int(m.group(1)) == (static_end + 1023) // 1024
    assert int(m.group(2)) == 2048
    assert decode_exit_status(run.returncode) == NO_MEMORY, (run.returncode, console)


def _symbol(image: Path, name: str) -> int:
    out = subprocess.run(["nm", str(image)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] == name:
            return int(fields[0], 16)
    raise AssertionError(f"{name} not in {image}")
