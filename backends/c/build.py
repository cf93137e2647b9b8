"""Build ``hvt`` images and the QEMU command line that runs them.

An ``hvt`` image is one static x86-64 ELF: the application's C sources, the
freestanding runtime (``runtime/platform/hvt`` and ``runtime/lib``) and
``libgcc``, linked by ``runtime/platform/hvt/link.ld`` at 1 MiB.  Its
``PT_NOTE`` segment holds the Xen note (type 18, ``XEN_ELFNOTE_PHYS32_ENTRY``)
with the 32-bit PVH entry, which is how ``qemu-system-x86_64 -M microvm
-kernel IMAGE`` boots it.

Code model: the image runs identity-mapped (virtual == physical) at 1 MiB,
so plain ``-mcmodel=small`` with ``-fno-pic`` fits: every symbol is below
2 GiB and addresses are link-time constants.  ``-mcmodel=kernel`` would need
the image in the top 2 GiB of the address space, i.e. a second mapping for
nothing.  ``-mno-red-zone`` keeps the stack below ``%rsp`` free should an
exception ever be delivered on the same stack.

Exit status: the image exits through ``-device isa-debug-exit,iobase=0xf4,
iosize=4``, which makes QEMU exit with ``(status << 1) | 1``;
:func:`decode_exit_status` recovers ``status``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
PLATFORM_DIR = RUNTIME_DIR / "platform"
HVT_DIR = PLATFORM_DIR / "hvt"
LIB_DIR = RUNTIME_DIR / "lib"
LINKER_SCRIPT = HVT_DIR / "link.ld"
SELFTEST_SOURCE = HVT_DIR / "selftest.c"

# Not Debian's qemu-system-x86_64-microvm, though it loads 10 shared libraries
# where this one loads 51 (`--version` in ~4 ms of CPU rather than ~15): it has
# KVM only, no user networking, and no isa-debug-exit, which carries the
# image's exit status.
QEMU = "qemu-system-x86_64"
DEBUG_EXIT_DEVICE = "isa-debug-exit,iobase=0xf4,iosize=4"
# pit=on: the runtime calibrates the TSC against the i8254 (there is no other
# usable reference under TCG); rtc=on: the wall clock's starting point.
# x-option-roms=off: QEMU loads the PVH image itself and the firmware (specc's,
# backends/c/firmware.py, or qboot) only enters it: no option ROM is needed.
# acpi=off: the runtime reads no ACPI table, and QEMU starts ~5 ms sooner; QEMU
# then names the virtio-mmio transports on the command line, which the
# platform reads and removes (the slots are still probed without them).
MICROVM_MACHINE = "microvm,x-option-roms=off,acpi=off,pit=on,rtc=on"

HVT_CFLAGS: tuple[str, ...] = (
    "-std=c11",
    "-O2",
    "-ffreestanding",
    "-nostdinc",  # no host libc headers; the compiler's own come via -isystem
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=small",
    "-mno-red-zone",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fcf-protection=none",
    "-fno-common",
    # lib/string.c must not be compiled back into calls to itself.
    "-fno-tree-loop-distribute-patterns",
    "-ffunction-sections",
    "-fdata-sections",
    # Link-time optimization: the packet path crosses translation units on
    # every frame (net.c, virtio_net.c, the components, dns_answer.c, the
    # string functions), and under TCG each call and return is a jump QEMU
    # looks up in its translation cache.  Inlining across them took 7% of
    # the guest instructions per DNS answer and 10% of .text (-icount,
    # bench/dns.py, issue 13).
    "-flto",
    "-Wall",
    "-Wextra",
    "-Werror",
)

HVT_LDFLAGS: tuple[str, ...] = (
    "-flto",  # the optimization happens here, with each object's recorded flags
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--gc-sections",
    "-Wl,--build-id=none",
    "-Wl,-z,noexecstack",
    "-Wl,-z,max-page-size=4096",
    "-Wl,--fatal-warnings",
)


class BuildError(Exception):
    """The compiler or the linker failed; the message holds the command and its output."""


def _mode_cflags(env: str, flags: dict[str, list[str]], expected: str) -> list[str]:
    """The defines of the build mode ``$env`` names (the first of ``flags`` when unset)."""
    mode = os.environ.get(env) or next(iter(flags))
    if mode not in flags:
        raise BuildError(f"{env}={mode!r}: expected {expected}")
    return list(flags[mode])


# SPECC_HVT_WAIT=poll builds the image that spins while it waits (the code
# before interrupts), kept for bench/hvt_idle.py's comparison; the default,
# "halt", sleeps in `hlt` until an interrupt or the next deadline.
WAIT_ENV = "SPECC_HVT_WAIT"
WAIT_FLAGS: dict[str, list[str]] = {"halt": [], "poll": ["-DHVT_WAIT_POLL"]}


def wait_cflags() -> list[str]:
    """The define that selects how the image waits, from ``$SPECC_HVT_WAIT``."""
    return _mode_cflags(WAIT_ENV, WAIT_FLAGS, f"one of {', '.join(WAIT_FLAGS)}")


# SPECC_HVT_TRACE=boot builds an image that stamps each boot step with the
# TSC and prints the stamps as `[boot]` console lines once it is first idle
# (platform/hvt/trace.c), for bench/hvt_boot.py --trace; a normal build has
# neither the stamps nor the lines.
TRACE_ENV = "SPECC_HVT_TRACE"
TRACE_FLAGS: dict[str, list[str]] = {"": [], "boot": ["-DHVT_BOOT_TRACE"]}


def trace_cflags() -> list[str]:
    """The define that turns the boot trace on, from ``$SPECC_HVT_TRACE``."""
    return _mode_cflags(TRACE_ENV, TRACE_FLAGS, "`boot` or nothing")


def hvt_runtime_sources() -> list[Path]:
    """The runtime's sources for ``hvt``: platform (C and assembly) and lib, in a fixed order."""
    platform = sorted(p for p in HVT_DIR.glob("*.c") if p != SELFTEST_SOURCE)
    return [*platform, *sorted(HVT_DIR.glob("*.S")), *sorted(LIB_DIR.glob("*.c"))]


def find_cc() -> str | None:
    """The C compiler to use: ``$CC`` when set, else ``gcc`` from ``PATH``."""
    return shutil.which(os.environ.get("CC") or "gcc")


@functools.lru_cache(maxsize=4)
def _compiler_include_dir(cc: str) -> str:
    """The compiler's own headers (stddef.h, stdint.h, ...), which -nostdinc drops."""
    proc = _run([cc, "-print-file-name=include"])
    return proc.strip()


def compiler_environment() -> dict[str, str]:
    """The environment the compiler and linker run in: this one, with their
    messages in the C locale, so what specc reads back from them (and shows)
    does not depend on the user's language settings."""
    return {**os.environ, "LC_ALL": "C"}


def _run(cmd: Sequence[str]) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False,
                          env=compiler_environment())
    if proc.returncode != 0:
        raise BuildError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def compile_all(commands: Sequence[Sequence[str]]) -> None:
    """Run compiler commands, as many at once as there are cores; the first
    that fails, in the order given, raises its BuildError here."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_run, commands))


def hvt_cflags(cc: str, extra_cflags: Iterable[str] = ()) -> list[str]:
    """Every flag for compiling one ``hvt`` translation unit (not the ``-c``/``-o``)."""
    return [
        *HVT_CFLAGS,
        "-isystem", _compiler_include_dir(cc),
        "-isystem", str(LIB_DIR / "include"),
        "-I", str(PLATFORM_DIR),
        "-I", str(LIB_DIR),
        # Reproducible symbols and messages whatever the checkout's path.
        f"-ffile-prefix-map={RUNTIME_DIR}=runtime",
        *wait_cflags(),
        *trace_cflags(),
        *extra_cflags,
    ]


# What lets the linker drop every function and object nothing references.
# Link-time optimization is one of them: it drops what no one calls too.
SECTION_GC_FLAGS = frozenset({"-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections",
                              "-flto"})


def hvt_compile_command(cc: str, source: Path, obj: Path, extra_cflags: Iterable[str] = (), *,
                        keep_unused: bool = False) -> list[str]:
    """The command that compiles one ``hvt`` translation unit into ``obj``;
    ``keep_unused`` (an unspecialized build) leaves out SECTION_GC_FLAGS."""
    cflags = hvt_cflags(cc, extra_cflags)
    if keep_unused:
        cflags = [f for f in cflags if f not in SECTION_GC_FLAGS]
    return [cc, *cflags, "-c", str(source), "-o", str(obj)]


def build_hvt(c_sources: Sequence[Path], out: Path, extra_cflags: Iterable[str] = (), *,
              keep_unused: bool = False) -> Path:
    """Compile ``c_sources`` with the ``hvt`` runtime and link them into the image ``out``.

    ``c_sources`` are the application's files; one of them defines
    ``int app_main(void)``.  ``keep_unused`` (an unspecialized build) leaves
    out SECTION_GC_FLAGS: every object linked stays whole.  Raises
    :class:`BuildError` when no compiler is found or a step fails.  Returns
    ``out``, written atomically.
    """
    cc = find_cc()
    if cc is None:
        raise BuildError("no C compiler: install gcc (Debian package `gcc`) or set CC")
    ldflags = list(HVT_LDFLAGS)
    if keep_unused:
        ldflags = [f for f in ldflags if f not in SECTION_GC_FLAGS]
    sources = [*hvt_runtime_sources(), *(Path(s) for s in c_sources)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="specc-hvt-") as tmp:
        objects = [Path(tmp) / f"{i:03d}-{src.stem}.o" for i, src in enumerate(sources)]
        commands = [
            hvt_compile_command(cc, src, obj, extra_cflags, keep_unused=keep_unused)
            for src, obj in zip(sources, objects, strict=True)
        ]
        compile_all(commands)
        # Link next to `out` and rename: readers never see half an image.
        partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        try:
            _run([cc, *ldflags, f"-Wl,-T,{LINKER_SCRIPT}", *map(str, objects), "-lgcc",
                  "-o", str(partial)])
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return out


# ---- running ---------------------------------------------------------------


@dataclass(frozen=True)
class Accel:
    """The accelerator QEMU will use, its arguments, and why it was chosen."""

    name: str
    args: tuple[str, ...]
    reason: str


_KVM_ARGS = ("-accel", "kvm", "-cpu", "host")
# TCG's defaults are kept: tb-size (a 1 GiB code buffer, reserved but touched
# only as code is translated; 4, 16 and 64 MiB started no faster), thread
# (single made no difference with one vCPU).  Neither these nor -m 32 for -m 2,
# -display none, microvm's pic/smm/pcie/ioapic2/usb/mem-merge/graphics off or
# ipv6=off for user networking changed the start-up of an image that exits at
# once, in CPU time or page faults (bench/hvt_boot.py, issue 13): QEMU's start
# is loading and relocating its libraries and their page faults.  What was
# left to take was the firmware's: qboot's ~1.4 ms before the PVH entry;
# specc's own (backends/c/firmware.py) starts the image ~1.5 ms sooner.
_TCG_ARGS = ("-accel", "tcg")


def _can_open(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def choose_accel(
    requested: str = "auto",
    *,
    sys_module: Path = Path("/sys/module"),
    dev_kvm: Path = Path("/dev/kvm"),
) -> Accel:
    """Pick ``kvm`` only for hardware KVM, else ``tcg``; ``requested`` kvm/tcg overrides.

    A ``/dev/kvm`` served by ``kvm_pvm`` (a paravirtual KVM that emulates the
    guest) is far slower than TCG, so only ``kvm_intel`` or ``kvm_amd``
    together with an openable ``/dev/kvm`` counts as hardware KVM.
    """
    if requested == "kvm":
        return Accel("kvm", _KVM_ARGS, "requested")
    if requested == "tcg":
        return Accel("tcg", _TCG_ARGS, "requested")
    if requested != "auto":
        raise ValueError(f"accel must be auto, kvm or tcg, not {requested!r}")
    modules = [m for m in ("kvm_intel", "kvm_amd") if (sys_module / m).exists()]
    if not modules:
        if (sys_module / "kvm_pvm").exists():
            why = f"{dev_kvm} is kvm_pvm (paravirtual, slower than TCG), not hardware KVM"
        else:
            why = "no hardware KVM (neither kvm_intel nor kvm_amd is loaded)"
        return Accel("tcg", _TCG_ARGS, why)
    if not _can_open(dev_kvm):
        return Accel("tcg", _TCG_ARGS, f"{modules[0]} is loaded but {dev_kvm} cannot be opened")
    return Accel("kvm", _KVM_ARGS, f"hardware KVM ({modules[0]})")


def qemu_command(
    image: Path,
    *,
    append: str = "",
    net: str | None = None,
    accel: str = "auto",
    memory_mib: int = 32,
    mac: str | None = None,
    modern_virtio: bool = False,
    qemu: str = QEMU,
    firmware: str | None = None,
) -> list[str]:
    """The command line that boots ``image`` under QEMU microvm.

    ``append`` reaches the image as-is (``platform_cmdline()``).  ``net`` is a
    ``-netdev`` backend without its ``id``, e.g. ``"user"`` or
    ``"user,hostfwd=udp:127.0.0.1:5353-:53"``; it becomes one
    ``virtio-net-device`` (virtio-mmio, legacy unless ``modern_virtio``).
    The console is the serial port on QEMU's stdout; ``-no-reboot`` turns a
    triple fault into an exit (status 0) instead of an endless reboot.
    ``firmware`` is ``"specc"`` (``-bios`` with specc's own, backends/c/firmware.py)
    or ``"qemu"`` (QEMU's default, qboot); unset, ``$SPECC_HVT_FIRMWARE`` says,
    else ``"specc"``.
    """
    from specc.backends.c.firmware import firmware_args  # it imports this module

    cmd = [
        qemu,
        "-M", MICROVM_MACHINE,
        *choose_accel(accel).args,
        "-m", str(memory_mib),
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-serial", "stdio",
        "-device", DEBUG_EXIT_DEVICE,
        *firmware_args(firmware),
        "-kernel", str(image),
    ]
    if append:
        cmd += ["-append", append]
    if net is not None:
        device = "virtio-net-device,netdev=net0" + (f",mac={mac}" if mac else "")
        cmd += ["-netdev", f"{net},id=net0", "-device", device]
    if modern_virtio:
        cmd += ["-global", "virtio-mmio.force-legacy=false"]
    return cmd


def decode_exit_status(returncode: int) -> int | None:
    """The image's exit status from QEMU's, or ``None`` if it did not exit through the platform.

    QEMU exits with ``(status << 1) | 1`` for an image status 0..127.  An even
    code (0 after a triple fault with ``-no-reboot``, or a negative one for a
    signal) means the image never reached ``platform_exit``.  Code 1 is also
    what QEMU itself returns when it cannot start; it then explains on stderr.
    """
    if returncode < 0 or returncode % 2 == 0:
        return None
    return returncode >> 1
