"""A Linux guest running NSD under the same QEMU as the hvt image: the
baseline of bench/dns.py (issue 13, item 2).

    .venv/bin/python bench/linux_guest.py [ZONE ORIGIN]   # build, boot, ask, stop

The kernel is Debian's cloud kernel: `apt-get download` fetches the
versioned image package that `linux-image-cloud-amd64` depends on, and
`dpkg-deb -x` unpacks it into build/linux-guest/ (never installed).  QEMU
boots an ELF through PVH only, and Debian ships a bzImage: its payload is
lz4-compressed (CONFIG_KERNEL_LZ4), so the ELF `vmlinux` is cut out at the
lz4 magic and decompressed with `lz4` (its PVH entry is the Xen ELF note,
CONFIG_PVH=y).

The initramfs (written here as a newc cpio, so the same inputs give the same
bytes) holds busybox (Debian busybox-static), NSD with the shared libraries
`ldd` names, the virtio modules (virtio_mmio and virtio_net are modules in the
cloud kernel), NSD's configuration and the zone, and an /init that loads the
modules, sets 10.0.2.15/24 via 10.0.2.2 on eth0 and runs NSD in the
foreground.  Every entry has the same non-zero mtime: NSD skips a zone file
whose mtime is 0 as not changed since its (empty) database.

QEMU: `-M microvm,acpi=on` (the cloud kernel finds virtio-mmio devices only
through ACPI: it lacks CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), the same TCG
accelerator and virtio-net device as the hvt image, 256 MiB.  The kernel
gets `tsc_early_khz=2000000 tsc=reliable`: under TCG, TSC calibration
against the PIT otherwise does not finish.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import time
from pathlib import Path

# bench/machine.py: bench/ is on sys.path, this script's folder or bench/dns.py's.
from machine import ROOT, argument_parser

CACHE = ROOT / "build" / "linux-guest"
META_PACKAGE = "linux-image-cloud-amd64"
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"
# In load order: each after the modules its `depends=` names.
MODULES = ["drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
           "drivers/virtio/virtio_mmio.ko", "net/core/failover.ko",
           "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko"]
GUEST_ADDRESS = "10.0.2.15"
GATEWAY = "10.0.2.2"
MTIME = 1_700_000_000  # any fixed non-zero time (see the module docstring)
KERNEL_ARGS = ("console=ttyS0 quiet panic=-1 rdinit=/init "
               "tsc_early_khz=2000000 tsc=reliable")
MEMORY_MIB = 256
BOOT_SECONDS = 120.0  # Linux under TCG takes seconds where the hvt image takes milliseconds

INIT = f"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
for m in {' '.join(Path(m).name for m in MODULES)}; do /bin/busybox insmod /modules/$m; done
/bin/busybox ip link set lo up
/bin/busybox ip link set eth0 up
/bin/busybox ip addr add {GUEST_ADDRESS}/24 dev eth0
/bin/busybox ip route add default via {GATEWAY}
echo "guest: starting nsd"
exec /usr/sbin/nsd -d -c /nsd/nsd.conf
"""


class GuestError(Exception):
    """The guest could not be built; the message says why."""


def _run(argv: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False, timeout=600)
    if done.returncode != 0:
        raise GuestError(f"`{' '.join(argv)}` failed: {done.stderr.strip()[-1000:]}")
    return done.stdout


def kernel_package() -> str:
    """The versioned image package the cloud meta package depends on."""
    for line in _run(["apt-cache", "depends", META_PACKAGE]).splitlines():
        match = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
        if match:
            return match.group(1)
    raise GuestError(f"`apt-cache depends {META_PACKAGE}` names no linux-image package")


def vmlinux_from_bzimage(bzimage: bytes) -> bytes:
    """The ELF kernel inside an lz4-compressed bzImage."""
    at = bzimage.find(LZ4_LEGACY_MAGIC)
    if at < 0:
        raise GuestError("the bzImage has no lz4 payload (is the kernel not CONFIG_KERNEL_LZ4?)")
    # lz4 exits 1 on the bytes that follow the payload; what it wrote is whole.
    done = subprocess.run(["lz4", "-dc"], input=bzimage[at:], capture_output=True, check=False,
                          timeout=120)
    if not done.stdout.startswith(b"\x7fELF"):
        raise GuestError(f"lz4 did not produce an ELF kernel: {done.stderr.decode()[-500:]}")
    return done.stdout


def kernel() -> tuple[Path, Path]:
    """(vmlinux, modules folder) of the cloud kernel, fetched once into CACHE."""
    package = kernel_package()
    folder = CACHE / package
    vmlinux = folder / "vmlinux"
    if vmlinux.exists():
        return vmlinux, next((folder / "root" / "lib" / "modules").iterdir())
    folder.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", package], cwd=folder)
    debs = sorted(folder.glob(f"{package}_*.deb"))
    if not debs:
        raise GuestError(f"apt-get download {package} left no .deb in {folder}")
    _run(["dpkg-deb", "-x", str(debs[-1]), str(folder / "root")])
    bzimage = next((folder / "root" / "boot").glob("vmlinuz-*"))
    partial = folder / "vmlinux.partial"
    partial.write_bytes(vmlinux_from_bzimage(bzimage.read_bytes()))
    partial.rename(vmlinux)
    return vmlinux, next((folder / "root" / "lib" / "modules").iterdir())


def _cpio_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, MTIME, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(f"{f:08x}".encode() for f in fields)
    out = header + encoded
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def shared_libraries(binary: str) -> list[str]:
    """The absolute paths `ldd` resolves for `binary`, the loader included."""
    paths = []
    for line in _run(["ldd", binary]).splitlines():
        match = re.search(r"(/\S+) \(0x", line)
        if match:
            paths.append(match.group(1))
    return paths


def initramfs(zone: Path, origin: str, modules: Path) -> bytes:
    """The newc cpio archive of the guest's root file system."""
    import dns_servers  # bench/ is on sys.path: this script's folder, or bench/dns.py's

    config = dns_servers.nsd_config(GUEST_ADDRESS, 53, "/nsd", {origin: "/nsd/zone"})
    files: dict[str, tuple[int, bytes]] = {
        "init": (0o100755, INIT.encode()),
        "bin/busybox": (0o100755, Path("/bin/busybox").read_bytes()),
        "usr/sbin/nsd": (0o100755, Path("/usr/sbin/nsd").read_bytes()),
        "nsd/nsd.conf": (0o100644, config.encode()),
        "nsd/zone": (0o100644, zone.read_bytes()),
    }
    for library in shared_libraries("/usr/sbin/nsd"):
        files[library.lstrip("/")] = (0o100755, Path(library).resolve().read_bytes())
    for module in MODULES:
        files[f"modules/{Path(module).name}"] = (0o100644,
                                                 (modules / "kernel" / module).read_bytes())
    folders = {"proc", "sys", "dev", "tmp", "bin"}
    for name in files:
        parts = name.split("/")[:-1]
        folders.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    out = b""
    ino = 1
    for folder in sorted(folders):
        out += _cpio_entry(folder, stat.S_IFDIR | 0o755, b"", ino)
        ino += 1
    out += _cpio_entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox", ino)
    ino += 1
    for name, (mode, data) in sorted(files.items()):
        out += _cpio_entry(name, mode, data, ino)
        ino += 1
    out += _cpio_entry("TRAILER!!!", 0, b"", 0)
    return out + b"\0" * (-len(out) % 512)


def build(zone: Path, origin: str, workdir: Path) -> tuple[Path, Path]:
    """(vmlinux, initramfs) serving `zone`; the initramfs is written in `workdir`."""
    vmlinux, modules = kernel()
    workdir.mkdir(parents=True, exist_ok=True)
    image = workdir / f"initramfs-{origin.rstrip('.')}.cpio"
    image.write_bytes(initramfs(zone, origin, modules))
    return vmlinux, image


def qemu_command(vmlinux: Path, initrd: Path, net: str) -> list[str]:
    """The hvt image's QEMU, machine and network device, with ACPI on for Linux."""
    from specc.backends.c.build import QEMU, choose_accel

    return [QEMU, "-M", "microvm,acpi=on,x-option-roms=off,pit=on,rtc=on",
            *choose_accel("auto").args, "-m", str(MEMORY_MIB),
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-kernel", str(vmlinux), "-initrd", str(initrd),
            "-append", KERNEL_ARGS,
            "-netdev", f"{net},id=net0", "-device", "virtio-net-device,netdev=net0"]


def main(argv: list[str]) -> int:
    """Build the guest, boot it on user networking, ask it one query, stop it."""
    import dns_servers  # bench/ is on sys.path: this script's folder, or bench/dns.py's

    arguments = argument_parser(__doc__, __file__)
    arguments.add_argument("zone", nargs="?", type=Path, metavar="ZONE",
                           default=ROOT / "examples" / "zones" / "example.org.zone",
                           help="the zone file NSD serves (default: examples/zones/example.org.zone)")
    arguments.add_argument("origin", nargs="?", default="example.org.", metavar="ORIGIN",
                           help="the zone's origin (default: example.org.)")
    args = arguments.parse_args(argv)
    zone: Path = args.zone
    origin: str = args.origin
    workdir = CACHE / "work"
    try:
        vmlinux, initrd = build(zone.resolve(), origin, workdir)
    except GuestError as error:
        print(f"bench/linux_guest.py: {error}", file=sys.stderr)
        return 1
    port = dns_servers.free_port()
    net = f"user,hostfwd=udp:127.0.0.1:{port}-{GUEST_ADDRESS}:53"
    log = workdir / "console.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(qemu_command(vmlinux, initrd, net), stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            dns_servers.wait_answering("127.0.0.1", port, origin, process, BOOT_SECONDS)
            print(f"the guest answers on 127.0.0.1:{port} after "
                  f"{time.monotonic() - started:.1f} s")
        except RuntimeError as error:
            print(f"bench/linux_guest.py: {error}; console in {log}", file=sys.stderr)
            return 1
        finally:
            process.terminate()
            process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
