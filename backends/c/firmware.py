"""specc's firmware for ``hvt`` images: QEMU's ``-bios`` in place of qboot.

``runtime/platform/hvt/firmware/firmware.S`` does only what a PVH ``-kernel``
boot needs (QEMU has already put the image's segments in RAM): from the reset
vector to 32-bit protected mode, the entry, command line and memory map from
fw_cfg, an ``hvm_start_info``, the jump.  qboot, QEMU microvm's default, does
more before the same jump, and the boot to the first DNS answer is ~1.5 ms
shorter under TCG without it (bench/hvt_boot.py, issue 13).

It is assembled here, not shipped: byte for byte the same from the same
source and commands (no build ID, no timestamps; a flat binary holds no file
names), kept in the user's cache under a name made from both, so a changed
source is a new file; building one deletes the others that have not been
built or used for a week.  ``$SPECC_HVT_FIRMWARE=qemu`` (or
``qemu_command(firmware="qemu")``) goes back to QEMU's default firmware;
``python -m specc.backends.c.firmware`` prints the path, for a QEMU command
line written by hand (``-bios PATH``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from specc.backends.c.build import HVT_DIR, BuildError, _run, find_cc

FIRMWARE_SOURCE = HVT_DIR / "firmware" / "firmware.S"
# QEMU takes a -bios of a multiple of 64 KiB and maps it at the top of 4 GiB:
# the reset vector, 0xfffffff0, is then the last 16 bytes.
FIRMWARE_SIZE = 64 * 1024
LOAD_ADDRESS = 0x1_0000_0000 - FIRMWARE_SIZE

FIRMWARE_ENV = "SPECC_HVT_FIRMWARE"
FIRMWARES = ("specc", "qemu")  # the first is the default


def firmware_commands(cc: str, source: Path, obj: Path, out: Path) -> list[list[str]]:
    """Assemble ``source`` (32-bit and 16-bit code) and link it flat at LOAD_ADDRESS."""
    return [
        [cc, "-m32", "-nostdinc", "-c", str(source), "-o", str(obj)],
        [cc, "-m32", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
         f"-Wl,-Ttext={LOAD_ADDRESS:#x}", "-Wl,-e,reset_vector", "-Wl,-N",
         "-Wl,--oformat=binary", "-Wl,--fatal-warnings", str(obj), "-o", str(out)],
    ]


def build_firmware(out: Path, source: Path = FIRMWARE_SOURCE) -> Path:
    """Build the firmware into ``out`` (atomically) and check its shape."""
    cc = find_cc()
    if cc is None:
        raise BuildError("no C compiler for the hvt firmware: install gcc or set CC")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="specc-firmware-") as tmp:
        partial = Path(tmp) / "firmware.bin"
        for command in firmware_commands(cc, source, Path(tmp) / "firmware.o", partial):
            _run(command)
        data = partial.read_bytes()
        if len(data) != FIRMWARE_SIZE or data[-16] != 0xE9:  # jmp rel16 at the reset vector
            raise BuildError(f"{source} built {len(data)} bytes without a reset vector jump; "
                             f"QEMU needs {FIRMWARE_SIZE} ending in one")
        # A file of its own beside `out`, then renamed: a QEMU started meanwhile
        # never reads half of it, and builders racing (processes or threads)
        # each rename a whole one.
        fd, staged = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(staged, 0o644)
            os.replace(staged, out)
        finally:
            Path(staged).unlink(missing_ok=True)
    return out


def cache_dir() -> Path:
    """Where built firmware is kept: ``$XDG_CACHE_HOME/specc``, else ``~/.cache/specc``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "specc"


@functools.lru_cache(maxsize=4)
def _cache_name(cc: str) -> str:
    digest = hashlib.sha256(FIRMWARE_SOURCE.read_bytes())
    for command in firmware_commands(cc, Path("S"), Path("O"), Path("B")):
        digest.update("\0".join(command).encode() + b"\n")
    return f"hvt-firmware-{digest.hexdigest()[:16]}.bin"


# Another version's firmware (another source, compiler or command) left in the
# cache is deleted when this one is built, once nothing has built or used it
# for this long: a specc of another checkout still in use keeps its own, and a
# deleted one is only built again, in milliseconds.
STALE_SECONDS = 7 * 24 * 3600


def _prune(directory: Path, keep: Path, now: float) -> None:
    """Delete the cache's other firmware builds (and staging files a killed
    build left) not touched for STALE_SECONDS; one that cannot be deleted
    stays: pruning never fails a build."""
    for old in [*directory.glob("hvt-firmware-*.bin"), *directory.glob(".hvt-firmware-*")]:
        try:
            if old != keep and now - old.stat().st_mtime > STALE_SECONDS:
                old.unlink()
        except OSError:
            continue


def _firmware_in(directory: Path) -> Path:
    cc = find_cc()
    if cc is None:
        raise BuildError("no C compiler for the hvt firmware: install gcc or set CC")
    path = directory / _cache_name(cc)
    try:  # looked at on every call: another process may have pruned it
        built = path.stat()
    except OSError:
        built = None
    if built is None or built.st_size != FIRMWARE_SIZE:
        build_firmware(path)
        _prune(directory, path, time.time())
    elif time.time() - built.st_mtime > STALE_SECONDS / 2:
        # In use: the pruning of another version's build leaves it alone.
        with contextlib.suppress(OSError):
            os.utime(path)
    return path


def firmware_path() -> Path:
    """The built firmware, built first if the cache does not hold this source's."""
    return _firmware_in(cache_dir())


def chosen_firmware(requested: str | None = None) -> str:
    """``requested`` if given, else ``$SPECC_HVT_FIRMWARE``, else ``specc``."""
    choice = requested or os.environ.get(FIRMWARE_ENV) or FIRMWARES[0]
    if choice not in FIRMWARES:
        raise ValueError(f"firmware must be one of {', '.join(FIRMWARES)}, not {choice!r} "
                         f"(${FIRMWARE_ENV} or firmware=)")
    return choice


def firmware_args(requested: str | None = None) -> list[str]:
    """QEMU's arguments for the firmware: ``-bios PATH`` for specc's, none for QEMU's own."""
    if chosen_firmware(requested) == "qemu":
        return []
    return ["-bios", str(firmware_path())]


if __name__ == "__main__":
    print(firmware_path())
    sys.exit(0)
