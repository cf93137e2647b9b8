"""Image sizes: does specialization pay?

    .venv/bin/python bench/size.py

Builds examples/dns.spec specialized (defaults: no TCP, log level info) and
with the options it can leave in (TCP and debug logging), and records the
sizes side by side in bench/results/size-DATE.{md,json}, with whether the
hvt image links the TCP stack (runtime/net/tcp.c: `tcp_init` in its symbol
table, `nm`): only the tcp=true image may.  The hvt bar is at most 64 KiB of
code (.text).

It also builds examples/dns.spec for unix and hvt with the compiler as it
was before the C lowering of lists (LIST_SUPPORT^), right after it
(LIST_SUPPORT) and now, each taken from git into a temporary directory: the
bar (issue 10) is that list support did not make the image's .text grow,
because the list code is linked only where a spec uses lists.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "dns.spec"
# The commit of the C lowering of the whole language (lists among it).
LIST_SUPPORT = "cb3279a"


def build(target: str, out: Path, *defines: str, tree: Path = ROOT,
          spec: Path = SPEC) -> dict[str, Any]:
    args = [sys.executable, "-m", "specc", "compile", str(spec), "-t", target, "-o", str(out)]
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
        report["tcp_linked"] = "tcp_init" in symbols
    return report


def main() -> int:
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as work:
        w = Path(work)
        rows["python, specialized"] = build("python", w / "p1")
        rows["python, tcp=true, log_level=debug"] = build("python", w / "p2", "tcp=true",
                                                          "log_level=debug")
        rows["hvt, specialized"] = build("hvt", w / "h1")
        rows["hvt, log_level=debug"] = build("hvt", w / "h2", "log_level=debug")
        rows["hvt, tcp=true"] = build("hvt", w / "h3", "tcp=true")
        history = list_support_sizes(w)
    date = datetime.date.today().isoformat()
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"size-{date}.json").write_text(json.dumps({**rows, "list support": history},
                                                          indent=2) + "\n")
    lines = [f"# Image sizes of examples/dns.spec, {date}", "",
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
              f"The same examples/dns.spec, .text in bytes, built by the compiler before "
              f"{LIST_SUPPORT} (the C lowering of lists), at {LIST_SUPPORT}, and now "
              "(other changes since then included).", "",
              "| target | before | with list support | now | bar: no growth |",
              "|---|---:|---:|---:|---|"]
    for target, sizes in history.items():
        grew = sizes["with list support"] > sizes["before"]
        lines.append(f"| {target} | {sizes['before']:,} | {sizes['with list support']:,} | "
                     f"{sizes['now']:,} | {'missed' if grew else 'met'} |")
    lines.append("")
    (results / f"size-{date}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


def list_support_sizes(work: Path) -> dict[str, dict[str, int]]:
    """.text of examples/dns.spec for unix and hvt, built by the compiler of
    LIST_SUPPORT^, of LIST_SUPPORT and of the working tree."""
    trees = {"before": f"{LIST_SUPPORT}^", "with list support": LIST_SUPPORT}
    sizes: dict[str, dict[str, int]] = {"unix": {}, "hvt": {}}
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
            report = build(target, out, tree=tree)
            sizes[target][label] = int(report["sections"]["text"])
    return sizes


if __name__ == "__main__":
    sys.exit(main())
