"""Image sizes: does specialization pay?

    .venv/bin/python bench/size.py

Builds examples/dns.spec specialized (defaults: no TCP, log level info) and
with the options it can leave in (TCP and debug logging on the python
target; debug logging on hvt, whose C components do not include TCP yet),
and records the sizes side by side in bench/results/size-DATE.{md,json}.
The hvt bar is at most 64 KiB of code (.text).
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "dns.spec"


def build(target: str, out: Path, *defines: str) -> dict[str, Any]:
    args = [sys.executable, "-m", "specc", "compile", str(SPEC), "-t", target, "-o", str(out)]
    for define in defines:
        args += ["-D", define]
    if target == "hvt":
        args += ["-D", "address=10.0.2.15/24"]
    subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
    manifest = json.loads((out / "manifest.json").read_text())
    if target == "python":
        image = out / "dns.py"
        return {"bytes": image.stat().st_size,
                "lines": len(image.read_text().splitlines()),
                "instances": len(manifest["instances"])}
    report: dict[str, Any] = manifest["image"]
    report["instances"] = len(manifest["instances"])
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
    date = datetime.date.today().isoformat()
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"size-{date}.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [f"# Image sizes of examples/dns.spec, {date}", "",
             "| build | instances | size | .text | .rodata |", "|---|---:|---:|---:|---:|"]
    for name, row in rows.items():
        sections = row.get("sections", {})
        size = f"{row['bytes']:,} B" + (f" ({row['lines']:,} lines)" if "lines" in row else "")
        lines.append(f"| {name} | {row['instances']} | {size} | {sections.get('text', '')} | "
                     f"{sections.get('rodata', '')} |")
    text_ok = rows["hvt, specialized"]["sections"]["text"] <= 64 * 1024
    lines += ["", f"hvt bar (.text at most 64 KiB): {'met' if text_ok else 'missed'}.", ""]
    (results / f"size-{date}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
