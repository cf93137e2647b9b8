"""The counters of a running hvt image, read from outside through QEMU's
human monitor (`-monitor unix:PATH,server=on,wait=off`): the image is
identity-mapped, so the address `nm` gives for `tcp_counters` (net/tcp.c's
`struct tcp_stats`) is where `xp` finds it in guest memory.  The field names
come from net/tcp.h, where every field is a uint64_t."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

from specc.backends.c.build import RUNTIME_DIR

TCP_H = RUNTIME_DIR / "net" / "tcp.h"


def monitor_args(path: Path) -> list[str]:
    return ["-monitor", f"unix:{path},server=on,wait=off"]


def tcp_stats_fields() -> list[str]:
    body = TCP_H.read_text().split("struct tcp_stats {", 1)[1].split("};", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields: list[str] = []
    for declaration in body.split(";"):
        declaration = declaration.strip()
        if not declaration:
            continue
        assert declaration.startswith("uint64_t "), declaration
        fields += [f.strip() for f in declaration[len("uint64_t "):].split(",")]
    return fields


def symbol(image: Path, name: str) -> int:
    out = subprocess.run(["nm", str(image)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise LookupError(f"{image.name} has no symbol {name}")


def _command(path: Path, command: str, timeout: float = 10) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        seen = b""
        deadline = time.monotonic() + timeout
        while b"(qemu) " not in seen and time.monotonic() < deadline:
            seen += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        seen = b""
        while seen.count(b"(qemu) ") < 1 and time.monotonic() < deadline:
            data = s.recv(65536)
            if not data:
                break
            seen += data
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", seen.decode(errors="replace"))


def tcp_counters(image: Path, monitor: Path) -> dict[str, int]:
    """tcp_stats of the running image, by name."""
    fields = tcp_stats_fields()
    address = symbol(image, "tcp_counters")
    text = _command(monitor, f"xp /{len(fields)}gx {address:#x}")
    values = [int(v, 16) for line in text.splitlines()
              if re.match(r"\s*[0-9a-f]+:", line)
              for v in re.findall(r"0x([0-9a-f]{16})", line.split(":", 1)[1])]
    if len(values) != len(fields):
        raise RuntimeError(f"the monitor gave {len(values)} of {len(fields)} counters: {text!r}")
    return dict(zip(fields, values, strict=True))
