"""The boot trace: ``SPECC_HVT_TRACE=boot`` builds an hvt image that prints a TSC stamp per boot step.

``runtime/platform/hvt/trace.c`` keeps the stamps until the image first
halts with nothing to do, then prints them as ``[boot] <ms> ms (+<us> us)
<step>`` lines; ``bench/hvt_boot.py`` reads them to say where boot time
goes.  A normal build prints none of them.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from test_hvt_platform import SELFTEST_STATUS, boot, needs_cc, needs_qemu

from specc.backends.c.build import SELFTEST_SOURCE, TRACE_ENV, BuildError, build_hvt, trace_cflags

TRACE_LINE = re.compile(r"\[boot\] (\d+)\.(\d{3}) ms \(\+(\d+) us\) (.+)")
# The platform's own steps, in boot order (platform.c, clock.c, virtio_net.c).
PLATFORM_STEPS = ["PVH entry", "C entered", "traps", "command line", "page tables", "APIC",
                  "PIT counting", "virtio-net found", "virtio-net features",
                  "virtio-net queues", "virtio-net", "clock"]


def test_the_trace_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRACE_ENV, raising=False)
    assert trace_cflags() == []
    monkeypatch.setenv(TRACE_ENV, "boot")
    assert trace_cflags() == ["-DHVT_BOOT_TRACE"]
    monkeypatch.setenv(TRACE_ENV, "everything")
    with pytest.raises(BuildError, match="SPECC_HVT_TRACE='everything'"):
        trace_cflags()


@needs_qemu
@needs_cc
def test_a_trace_build_prints_each_boot_step_once_idle(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRACE_ENV, "boot")
    traced = build_hvt([SELFTEST_SOURCE], tmp_path / "traced.elf")
    monkeypatch.delenv(TRACE_ENV)
    plain = build_hvt([SELFTEST_SOURCE], tmp_path / "plain.elf")

    result = boot(traced, tmp_path, append="")
    assert result.status == SELFTEST_STATUS, result.transcript()
    stamps = [(int(m[1]) * 1000 + int(m[2]), int(m[3]), m[4])
              for m in map(TRACE_LINE.fullmatch, result.lines) if m]
    steps = [step for _, _, step in stamps]
    assert steps[:len(PLATFORM_STEPS)] == PLATFORM_STEPS, result.transcript()
    # The self-test's own console lines come first: the stamps wait for the
    # first halt (its 30 ms idle wait), after them.
    first = next(i for i, line in enumerate(result.lines) if TRACE_LINE.fullmatch(line))
    assert result.lines.index("hello from hvt") < first
    # Its first console line came before that halt; its first frame out (the
    # ARP request, "frame out ARP") may come after the last halt, and then
    # is never printed.
    assert "console write" in steps
    # Stamps in microseconds since the TSC started; each delta is the
    # difference from the one before.
    for (before, _, _), (after, delta, step) in itertools.pairwise(stamps):
        assert after - before == delta >= 0, (step, result.transcript())
    # The calibration window opens at "PIT counting" and spans at least
    # 0.5 ms of PIT time, the network's start included.
    at = {step: us for us, _, step in stamps}
    assert 500 <= at["clock"] - at["PIT counting"] < 1_000_000, result.transcript()

    plain_result = boot(plain, tmp_path, append="")
    assert plain_result.status == SELFTEST_STATUS, plain_result.transcript()
    assert not [line for line in plain_result.lines if line.startswith("[boot]")]
