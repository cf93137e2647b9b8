"""Image sizes: what specialization saves, what options cost, and the
smallest QEMU memory the hvt DNS image serves with.

    .venv/bin/python bench/size.py

1. Specialized against unspecialized (issue 13): for each examples/*.spec
   and each target (hvt, unix, python) it builds the image both ways (an
   example a target cannot build is reported, not skipped silently) and
   records the image's size and, for the ELF images, `.text`, `.rodata` and
   `.bss`.  Bar: specialization removes at least 70% of `.text` for
   examples/dns.spec on hvt.
2. Memory (issue 13): it boots the hvt DNS image, specialized and
   unspecialized, with `-m 1, 2, 3, ...` (QEMU's granularity is MiB) until
   one answers `www.example.org A`.  Bar: the specialized one serves with
   `-m 2`.
3. Options: examples/dns.spec specialized with the defaults (no TCP, log
   level info) and with the options it can leave in (TCP and debug
   logging), with whether the hvt image links the TCP stack
   (runtime/net/tcp.c: a `tcp_` function in its symbol table, `nm`): only the
   tcp=true image may.  The hvt bar is at most 64 KiB of code (.text).
4. List support (issue 10): examples/dns.spec for unix and hvt with the
   compiler as it was before the C lowering of lists (LIST_SUPPORT^), right
   after it (LIST_SUPPORT) and now, each taken from git into a temporary
   directory: list support must not make the image's .text grow, because
   the list code is linked only where a spec uses lists.

Results in bench/results/size-DATE.{md,json}.
"""

from __future__ import annotations

import datetime
import json
import os
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

EXAMPLES = sorted((ROOT / "examples").glob("*.spec"))
TARGETS = ("hvt", "unix", "python")
HVT_DEFINES = ("-D", "address=10.0.2.15/24")  # every example has it; dns.spec a gateway too
BAR_TEXT_REMOVED = 0.70
BAR_MEMORY_MIB = 2
MAX_MEMORY_MIB = 64
BOOT_WAIT_S = 5.0
DNS_SPEC = ROOT / "examples" / "dns.spec"
# The commit of the C lowering of the whole language (lists among it).
LIST_SUPPORT = "cb3279a"


def build(spec: Path, target: str, out: Path, specialize: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "specc", "compile", str(spec), "-t", target, "-o", str(out),
            "-q"]
    if target == "hvt":
        args += HVT_DEFINES
        if "const gateway" in spec.read_text():
            args += ["-D", "gateway=10.0.2.2"]
    if not specialize:
        args.append("--no-specialize")
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False,
                          timeout=600)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        first = next((line for line in output.splitlines() if "error" in line),
                     output.strip()[:200])
        return {"error": first}
    manifest = json.loads((out / "manifest.json").read_text())
    if target == "python":
        image = next(p for p in out.iterdir() if p.suffix == ".py")
        return {"bytes": image.stat().st_size, "lines": len(image.read_text().splitlines()),
                "path": str(image)}
    report = manifest["image"]
    sections = report.get("sections", {})
    return {"bytes": report["bytes"], "text": sections.get("text"),
            "rodata": sections.get("rodata"), "bss": sections.get("bss"),
            "path": str(out / report["file"])}


def serves(image: Path, memory_mib: int) -> bool:
    """Does the image answer within BOOT_WAIT_S when QEMU gives it memory_mib?"""
    port = free_port()
    command = qemu_command(image, net=f"user,hostfwd=udp:127.0.0.1:{port}-10.0.2.15:53",
                           memory_mib=memory_mib)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        query = make("www.example.org.", "A", edns=1232)
        deadline = time.monotonic() + BOOT_WAIT_S
        while time.monotonic() < deadline and process.poll() is None:
            if ask(port, query, 0.05) is not None:
                return True
        return False
    finally:
        stop(process)


def smallest_memory(image: Path) -> int | None:
    for memory in range(1, MAX_MEMORY_MIB + 1):
        if serves(image, memory):
            return memory
    return None


def percent_removed(specialized: int | None, unspecialized: int | None) -> float | None:
    if not specialized or not unspecialized:
        return None
    return 1 - specialized / unspecialized


def cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else f"{value:,}"


def build_dns(target: str, out: Path, *defines: str, tree: Path = ROOT,
              spec: Path = DNS_SPEC) -> dict[str, Any]:
    """``spec`` (examples/dns.spec) specialized with ``defines``, by the specc of ``tree``."""
    args = [sys.executable, "-m", "specc", "compile", str(spec), "-t", target, "-o",
            str(out)]
    for define in defines:
        args += ["-D", define]
    if target == "hvt":
        args += ["-D", "address=10.0.2.15/24"]
    # PYTHONPATH: the specc of ``tree`` rather than the installed one.
    subprocess.run(args, check=True, capture_output=True, cwd=tree,
                   env={**os.environ, "PYTHONPATH": str(tree)})
    manifest = json.loads((out / "manifest.json").read_text())
    if target == "python":
        image = out / "dns.py"
        return {"bytes": image.stat().st_size,
                "lines": len(image.read_text().splitlines()),
                "instances": len(manifest["instances"])}
    report: dict[str, Any] = manifest["image"]
    report["instances"] = len(manifest["instances"])
    if target == "hvt":
        symbols = subprocess.run(["nm", str(out / "dns.hvt")], check=True, capture_output=True,
                                 text=True).stdout.split()
        # Any function of net/tcp.c: -flto (4b2442e) inlines tcp_init into its caller.
        report["tcp_linked"] = any(symbol.startswith("tcp_") for symbol in symbols)
    return report


def option_sizes(w: Path) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    rows["python, specialized"] = build_dns("python", w / "p1")
    rows["python, tcp=true, log_level=debug"] = build_dns("python", w / "p2", "tcp=true",
                                                          "log_level=debug")
    rows["hvt, specialized"] = build_dns("hvt", w / "h1")
    rows["hvt, log_level=debug"] = build_dns("hvt", w / "h2", "log_level=debug")
    rows["hvt, tcp=true"] = build_dns("hvt", w / "h3", "tcp=true")
    return rows


def list_support_sizes(work: Path) -> dict[str, dict[str, int]]:
    """.text of examples/dns.spec as it was at LIST_SUPPORT^ (and at LIST_SUPPORT), for unix and hvt,
    built by the compiler of LIST_SUPPORT^, of LIST_SUPPORT and of the working
    tree.  One spec for all three: today's examples/dns.spec uses components
    (direct_tcp's arguments) that the older compilers do not know."""
    trees = {"before": f"{LIST_SUPPORT}^", "with list support": LIST_SUPPORT}
    sizes: dict[str, dict[str, int]] = {"unix": {}, "hvt": {}}
    spec = work / f"{LIST_SUPPORT}-parent" / "examples" / "dns.spec"  # taken from git first
    for label, revision in [*trees.items(), ("now", "")]:
        tree = ROOT
        if revision:
            tree = work / revision.replace("^", "-parent")
            tree.mkdir()
            archive = subprocess.run(["git", "archive", revision], check=True, cwd=ROOT,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        for target in sizes:
            out = work / f"{target}-{label.replace(' ', '-')}"
            report = build_dns(target, out, tree=tree, spec=spec)
            sizes[target][label] = int(report["sections"]["text"])
    return sizes


def option_lines(rows: dict[str, dict[str, Any]],
                 history: dict[str, dict[str, int]]) -> list[str]:
    lines = ["## examples/dns.spec with its options (specialized)", "",
             "| build | instances | size | .text | .rodata | TCP linked |",
             "|---|---:|---:|---:|---:|---|"]
    for name, row in rows.items():
        sections = row.get("sections", {})
        size = f"{row['bytes']:,} B" + (f" ({row['lines']:,} lines)" if "lines" in row else "")
        linked = "" if "tcp_linked" not in row else "yes" if row["tcp_linked"] else "no"
        lines.append(f"| {name} | {row['instances']} | {size} | {sections.get('text', '')} | "
                     f"{sections.get('rodata', '')} | {linked} |")
    text_ok = rows["hvt, specialized"]["sections"]["text"] <= 64 * 1024
    tcp_ok = [n for n, r in rows.items() if r.get("tcp_linked")] == ["hvt, tcp=true"]
    lines += ["", f"hvt bar (.text at most 64 KiB): {'met' if text_ok else 'missed'}.",
              f"TCP linked only into the image that uses it: {'yes' if tcp_ok else 'no'}.", ""]
    lines += ["## Did list support make examples/dns.spec grow?", "",
              f"examples/dns.spec as of {LIST_SUPPORT}, .text in bytes, built by the compiler before "
              f"{LIST_SUPPORT} (the C lowering of lists), at {LIST_SUPPORT}, and now "
              "(other changes since then included).", "",
              "| target | before | with list support | now | bar: no growth |",
              "|---|---:|---:|---:|---|"]
    for target, sizes in history.items():
        grew = sizes["with list support"] > sizes["before"]
        lines.append(f"| {target} | {sizes['before']:,} | {sizes['with list support']:,} | "
                     f"{sizes['now']:,} | {'missed' if grew else 'met'} |")
    return [*lines, ""]


def main(argv: list[str]) -> int:
    argument_parser(__doc__, __file__).parse_args(argv)  # no arguments: --help, or a usage error
    host_before = machine()
    rows: list[dict[str, Any]] = []
    memory: dict[str, int | None] = {}
    with tempfile.TemporaryDirectory() as work:
        for spec in EXAMPLES:
            for target in TARGETS:
                both = {}
                for specialize in (True, False):
                    kind = "specialized" if specialize else "unspecialized"
                    out = Path(work) / f"{spec.stem}-{target}-{kind}"
                    both[kind] = build(spec, target, out, specialize)
                rows.append({"example": spec.name, "target": target, **both})
        dns_hvt = next(r for r in rows if r["example"] == "dns.spec" and r["target"] == "hvt")
        for kind in ("specialized", "unspecialized"):
            path = dns_hvt[kind].get("path")
            memory[kind] = smallest_memory(Path(path)) if path else None
        options = option_sizes(Path(work) / "options")
        history = list_support_sizes(Path(work))
    for row in rows:
        for kind in ("specialized", "unspecialized"):
            row[kind].pop("path", None)
        s, u = row["specialized"], row["unspecialized"]
        row["text_removed"] = percent_removed(s.get("text"), u.get("text"))
        row["bytes_removed"] = percent_removed(s.get("bytes"), u.get("bytes"))
    dns_hvt = next(r for r in rows if r["example"] == "dns.spec" and r["target"] == "hvt")
    removed = dns_hvt["text_removed"]
    host = machine()
    date = datetime.date.today().isoformat()
    record = {"date": date, "rows": rows, "smallest_memory_mib": memory,
              "options": options, "list support": history,
              "bar_text_removed": BAR_TEXT_REMOVED,
              "bar_text_met": removed is not None and removed >= BAR_TEXT_REMOVED,
              "bar_memory_mib": BAR_MEMORY_MIB,
              "bar_memory_met": memory["specialized"] is not None
              and memory["specialized"] <= BAR_MEMORY_MIB,
              "machine": host, "load_average_before": host_before["load_average"]}
    lines = [f"# Image sizes, {date}", "", "## What specialization saves", "",
             "Every example built specialized and with `specc compile --no-specialize` "
             "(hvt with `-D address=10.0.2.15/24`, and `-D gateway=10.0.2.2` for dns.spec).", "",
             "| example | target | build | image bytes | .text | .rodata | .bss |",
             "|---|---|---|---:|---:|---:|---:|"]
    for row in rows:
        for kind in ("specialized", "unspecialized"):
            r = row[kind]
            if "error" in r:
                lines.append(f"| {row['example']} | {row['target']} | {kind} | "
                             f"does not build: {r['error']} | | | |")
                continue
            size = f"{r['bytes']:,}" + (f" ({r['lines']:,} lines)" if "lines" in r else "")
            lines.append(f"| {row['example']} | {row['target']} | {kind} | {size} | "
                         f"{cell(r, 'text')} | {cell(r, 'rodata')} | {cell(r, 'bss')} |")
    lines += ["", "Share removed by specializing:", "",
              "| example | target | .text | image bytes |", "|---|---|---:|---:|"]
    for row in rows:
        t, b = row["text_removed"], row["bytes_removed"]
        if t is None and b is None:
            continue
        lines.append(f"| {row['example']} | {row['target']} | "
                     f"{'' if t is None else f'{t:.0%}'} | {'' if b is None else f'{b:.0%}'} |")
    text_verdict = "met" if record["bar_text_met"] else (
        "**missed**" + (f" ({removed:.1%})" if removed is not None else ""))
    memory_verdict = "met" if record["bar_memory_met"] else "**missed**"
    lines += ["",
              f"Bar: specializing removes at least {BAR_TEXT_REMOVED:.0%} of `.text` for "
              f"examples/dns.spec on hvt: {text_verdict}.", "",
              "Smallest QEMU `-m` (MiB) with which the hvt DNS image answers: "
              f"specialized {memory['specialized']}, unspecialized {memory['unspecialized']}. "
              f"Bar `-m {BAR_MEMORY_MIB}`: {memory_verdict}.", "",
              *option_lines(options, history),
              f"Machine: `{host['uname']}`, {host['cpu']} ({host['nproc']} logical), load "
              f"average {host_before['load_average']} before and {host['load_average']} after; "
              f"commit {host['commit']}.", "",
              "Reproduce: `.venv/bin/python bench/size.py`", ""]
    stem = write_results("size", date, record, "\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
