"""The smallest QEMU memory with which the hvt TCP images serve.

    .venv/bin/python bench/tcp_memory.py [--before REVISION]

For examples/dns.spec (a UDP query), examples/dns.spec -D tcp=true (a UDP
and a TCP query) and examples/http.spec (GET /), built by the specc of the
working tree and of REVISION (taken from git into a temporary directory;
default a1cd1e7, before TCP's tables were sized from the component's
consts), it boots the hvt image with `-m 2, 3, ...` until it answers, and
records each image's .bss and the console's last line of the largest -m
that did not serve (an image with too little memory says why and exits 71).
Issue 13 item 5: the DNS image serves with `-m 2`.

Results in bench/results/tcp-memory-DATE.{md,json}.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import (  # bench/machine.py, before bench/ leaves sys.path
    ROOT,
    argument_parser,
    leave_bench_path,
    machine,
    stop,
    write_results,
)

leave_bench_path(ROOT / "tests")

from dns_queries import make  # noqa: E402
from test_dns_vs_nsd import ask, free_port  # noqa: E402

from specc.backends.c.build import qemu_command  # noqa: E402

BEFORE = "a1cd1e7"
ADDRESS = "10.0.2.15"
MAX_MEMORY_MIB = 32
BOOT_WAIT_S = 8.0
CASES = (  # name, spec, defines, guest port, protocol
    ("dns.spec", "dns.spec", (), 53, "udp"),
    ("dns.spec -D tcp=true", "dns.spec", ("tcp=true",), 53, "dns-tcp"),
    ("http.spec", "http.spec", (), 8080, "http"),
)


def build(tree: Path, spec: str, defines: tuple[str, ...], out: Path) -> dict[str, Any]:
    args = [sys.executable, "-m", "specc", "compile", str(tree / "examples" / spec), "-t",
            "hvt", "-o", str(out), "-q", "-D", f"address={ADDRESS}/24"]
    for define in defines:
        args += ["-D", define]
    subprocess.run(args, check=True, capture_output=True, cwd=tree, timeout=600,
                   env={**os.environ, "PYTHONPATH": str(tree)})
    report = json.loads((out / "manifest.json").read_text())["image"]
    return {"path": str(out / report["file"]), "bss": report.get("sections", {}).get("bss")}


def tcp_dns(port: int, wire: bytes) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(struct.pack(">H", len(wire)) + wire)
        head = sock.recv(2)
        return len(head) == 2 and struct.unpack(">H", head)[0] > 12


def http_get(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return sock.recv(64).startswith(b"HTTP/1.1 200")


def answers(port: int, protocol: str) -> bool:
    query = make("www.example.org.", "A", edns=1232)
    try:
        if protocol == "http":
            return http_get(port)
        if ask(port, query, 0.05) is None:
            return False
        return protocol == "udp" or tcp_dns(port, query)
    except OSError:
        return False


def serves(image: str, memory_mib: int, guest_port: int, protocol: str) -> tuple[bool, str]:
    """Does the image answer within BOOT_WAIT_S with memory_mib; its console's last line."""
    port = free_port()
    forward = f"hostfwd=udp:127.0.0.1:{port}-{ADDRESS}:{guest_port}," \
              f"hostfwd=tcp:127.0.0.1:{port}-{ADDRESS}:{guest_port}"
    command = qemu_command(Path(image), net=f"user,{forward}", memory_mib=memory_mib)
    with tempfile.TemporaryFile() as console:
        process = subprocess.Popen(command, stdout=console, stderr=subprocess.STDOUT)
        ok = False
        try:
            deadline = time.monotonic() + BOOT_WAIT_S
            while not ok and time.monotonic() < deadline and process.poll() is None:
                ok = answers(port, protocol)
                time.sleep(0 if ok else 0.05)
        finally:
            stop(process)
        console.seek(0)
        lines = console.read().decode(errors="replace").replace("\r", "").splitlines()
    return ok, lines[-1] if lines else ""


def smallest(image: str, guest_port: int, protocol: str) -> dict[str, Any]:
    why = ""
    for memory in range(2, MAX_MEMORY_MIB + 1):
        ok, last = serves(image, memory, guest_port, protocol)
        if ok:
            return {"smallest_mib": memory, "last_failure": why}
        why = f"-m {memory}: {last}" if last else f"-m {memory}: no answer"
    return {"smallest_mib": None, "last_failure": why}


def peers() -> int:
    """QEMU processes on the host besides ours (other sessions' images)."""
    out = subprocess.run(["pgrep", "-c", "qemu-system"], capture_output=True, text=True,
                         check=False).stdout.strip()
    return int(out or 0)


def main() -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--before", default=BEFORE, help="the git revision to compare with")
    options = parser.parse_args()
    host_before, peers_before = machine(), peers()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work:
        before = Path(work) / "before"
        before.mkdir()
        archive = subprocess.run(["git", "archive", options.before], check=True, cwd=ROOT,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        for name, spec, defines, guest_port, protocol in CASES:
            row: dict[str, Any] = {"image": name}
            for label, tree in (("before", before), ("now", ROOT)):
                built = build(tree, spec, defines, Path(work) / f"{label}-{len(rows)}")
                row[label] = {"bss": built["bss"], **smallest(built["path"], guest_port,
                                                                  protocol)}
            rows.append(row)
            print(row, flush=True)
    host = machine()
    date = datetime.date.today().isoformat()
    dns = rows[0]["now"]["smallest_mib"]
    record = {"date": date, "before": options.before, "rows": rows,
              "bar_dns_memory_mib": 2, "bar_dns_met": dns is not None and dns <= 2,
              "machine": host, "load_average_before": host_before["load_average"],
              "qemu_peers_before": peers_before, "qemu_peers_after": peers()}
    lines = [f"# Smallest -m that serves, hvt, {date}", "",
             f"Built by the specc of `{options.before}` (before) and of the working tree "
             f"(now, commit {host['commit']}), `-D address={ADDRESS}/24`; booted with "
             "`-m 2, 3, ...` until the image answers (UDP query; for tcp=true a UDP and a TCP "
             "query; for http.spec GET /).", "",
             "| image | before: .bss | before: -m | now: .bss | now: -m | now, one MiB less |",
             "|---|---:|---:|---:|---:|---|"]
    for row in rows:
        b, n = row["before"], row["now"]
        lines.append(f"| {row['image']} | {b['bss']:,} | {b['smallest_mib']} | {n['bss']:,} | "
                     f"{n['smallest_mib']} | {n['last_failure'] or '(smallest tried)'} |")
    verdict = "met" if record["bar_dns_met"] else "**missed**"
    lines += ["", f"Bar (issue 13 item 5): dns.spec serves with `-m 2`: {verdict}.", "",
              f"Machine: `{host['uname']}`, {host['cpu']} ({host['nproc']} logical), load "
              f"average {host_before['load_average']} before and {host['load_average']} after; "
              f"other QEMU processes on the host: {peers_before} before, "
              f"{record['qemu_peers_after']} after.", "",
              "Reproduce: `.venv/bin/python bench/tcp_memory.py`", ""]
    stem = write_results("tcp-memory", date, record, "\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
