"""specc's own firmware for hvt images (backends/c/firmware.py): built the same
every time, and an image booted by it sees what it sees under qboot, QEMU's
default: the command line, and a memory map whose RAM from 1 MiB ends at -m.

The boots use runtime/platform/hvt/selftest.c (test_hvt_platform.py says what
it prints); every other tests/test_hvt_*.py boots under this firmware too,
since it is qemu_command()'s default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specc.backends.c.build import (
    SELFTEST_SOURCE,
    build_hvt,
    decode_exit_status,
    find_cc,
    qemu_command,
)
from specc.backends.c.firmware import (
    FIRMWARE_ENV,
    FIRMWARE_SIZE,
    STALE_SECONDS,
    build_firmware,
    chosen_firmware,
    firmware_path,
)

QEMU = "qemu-system-x86_64"
SELFTEST_STATUS = 7
BOOT_TIMEOUT_S = 30.0

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler: install gcc")
needs_qemu = pytest.mark.skipif(shutil.which(QEMU) is None,
                                reason=f"{QEMU} not installed: Debian package qemu-system-x86")


@pytest.fixture(scope="module")
def selftest_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_cc() is None:
        pytest.skip("no C compiler: install gcc")
    return build_hvt([SELFTEST_SOURCE], tmp_path_factory.mktemp("hvt") / "selftest.elf")


@needs_cc
def test_the_firmware_is_built_byte_for_byte_the_same(tmp_path: Path) -> None:
    first = build_firmware(tmp_path / "a" / "firmware.bin").read_bytes()
    second = build_firmware(tmp_path / "b" / "firmware.bin").read_bytes()
    assert first == second
    assert firmware_path().read_bytes() == first  # the cached copy is this source's
    assert len(first) == FIRMWARE_SIZE
    # The reset vector (0xfffffff0, the last 16 bytes) is a near jump: real
    # mode, CS base 0xffff0000, so IP wraps within the file's 64 KiB.
    assert first[-16] == 0xE9
    target = (FIRMWARE_SIZE - 13 + int.from_bytes(first[-15:-13], "little")) % 0x10000
    assert 0 < target < FIRMWARE_SIZE - 16 and first[target] == 0xFA  # cli


@needs_cc
def test_building_prunes_other_versions_left_unused(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Another version's build not touched for a week goes when this one is
    built, as does a staging file a killed build left; a recent one stays (a
    checkout still in use), and a build deleted meanwhile is built again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "specc"
    cache.mkdir()
    week_ago = time.time() - STALE_SECONDS - 60
    stale = cache / "hvt-firmware-0000000000000000.bin"
    staging = cache / ".hvt-firmware-0000000000000000.bin.x1y2"
    recent = cache / "hvt-firmware-1111111111111111.bin"
    unrelated = cache / "notes.txt"
    for path in (stale, staging, recent, unrelated):
        path.write_bytes(b"old")
    for path in (stale, staging, unrelated):
        os.utime(path, (week_ago, week_ago))
    built = firmware_path()
    assert built.parent == cache and built.stat().st_size == FIRMWARE_SIZE
    assert not stale.exists() and not staging.exists()
    assert recent.exists() and unrelated.exists()
    built.unlink()  # as another process's pruning would
    assert firmware_path() == built and built.stat().st_size == FIRMWARE_SIZE


def test_the_firmware_is_chosen_by_argument_then_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FIRMWARE_ENV, raising=False)
    assert chosen_firmware() == "specc"
    monkeypatch.setenv(FIRMWARE_ENV, "qemu")
    assert chosen_firmware() == "qemu"
    assert "-bios" not in qemu_command(Path("img.elf"), accel="tcg")
    assert chosen_firmware("specc") == "specc"
    monkeypatch.setenv(FIRMWARE_ENV, "seabios")
    with pytest.raises(ValueError, match="SPECC_HVT_FIRMWARE"):
        chosen_firmware()


def boot(image: Path, firmware: str, memory_mib: int, append: str) -> list[str]:
    command = qemu_command(image, append=append, net="user", memory_mib=memory_mib,
                           firmware=firmware)
    assert ("-bios" in command) == (firmware == "specc")
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=BOOT_TIMEOUT_S)
    lines = result.stdout.decode(errors="replace").splitlines()
    transcript = "\n".join([*lines, result.stderr.decode(errors="replace")])
    assert decode_exit_status(result.returncode) == SELFTEST_STATUS, transcript
    return lines


def heap_end(lines: list[str]) -> int:
    found = [re.fullmatch(r"heap: (\d+) KiB at (0x[0-9a-f]+)", line) for line in lines]
    match = next(m for m in found if m)
    return int(match[2], 16) + int(match[1]) * 1024


@needs_cc
@needs_qemu
@pytest.mark.parametrize("memory_mib", [3, 32])
def test_an_image_sees_the_same_under_both_firmwares(selftest_image: Path,
                                                     memory_mib: int) -> None:
    append = "--max-udp=1400 hello=world"
    ours = boot(selftest_image, "specc", memory_mib, append)
    qboot = boot(selftest_image, "qemu", memory_mib, append)
    assert f'cmdline: "{append}"' in ours, ours
    # The heap is the rest of the memory map's RAM region that holds the image.
    assert heap_end(ours) == heap_end(qboot) == memory_mib << 20
    assert [line for line in ours if line.startswith(("heap:", "net:"))] == \
        [line for line in qboot if line.startswith(("heap:", "net:"))]


@needs_cc
@needs_qemu
def test_without_a_pvh_kernel_the_firmware_says_so(selftest_image: Path) -> None:
    command = qemu_command(selftest_image, firmware="specc")
    at = command.index("-kernel")
    del command[at:at + 2]
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=3)
        output = result.stdout
    except subprocess.TimeoutExpired as halted:  # it halts for good, as it should
        output = halted.stdout or b""
    assert b"specc firmware: no PVH kernel in fw_cfg" in output


SPECC = [sys.executable, "-m", "specc"]
DNS_SPEC = Path(__file__).resolve().parent.parent / "examples" / "dns.spec"


def test_specc_run_rejects_an_unknown_firmware_before_building(tmp_path: Path) -> None:
    """$SPECC_HVT_FIRMWARE is the user's input: a bad value is E0802, exit 1,
    not an internal error, and nothing is built."""
    env = {**os.environ, FIRMWARE_ENV: "seabios"}
    result = subprocess.run([*SPECC, "run", str(DNS_SPEC), "-o", str(tmp_path / "out")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "error[E0802]" in result.stderr and "'seabios'" in result.stderr
    assert "Traceback" not in result.stderr and "E9001" not in result.stderr
    assert not (tmp_path / "out").exists()


@needs_cc
def test_specc_run_says_when_the_firmware_cannot_be_built(tmp_path: Path) -> None:
    """A toolchain that builds the image but not the 32-bit firmware: a plain
    message naming the way back to QEMU's firmware, exit 1, QEMU not started."""
    cc = find_cc()
    assert cc is not None
    wrapper = tmp_path / "cc"
    wrapper.write_text("#!/bin/sh\n"
                       'for a in "$@"; do [ "$a" = -m32 ] && { echo "no -m32 here" >&2; exit 1; }; done\n'
                       f'exec {cc} "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "CC": str(wrapper), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop(FIRMWARE_ENV, None)
    result = subprocess.run([*SPECC, "run", str(DNS_SPEC), "-o", str(tmp_path / "out")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "the hvt firmware could not be built" in result.stderr
    assert "no -m32 here" in result.stderr and "SPECC_HVT_FIRMWARE=qemu" in result.stderr
    assert "Traceback" not in result.stderr and "E9001" not in result.stderr
