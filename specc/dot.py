"""`specc graph`: the device graph in Graphviz DOT (and SVG/PNG through `dot`)."""

from __future__ import annotations

import shutil
import subprocess

from specc.driver import Compilation


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(c: Compilation) -> str:
    program, graph, reachable = c.program, c.graph, c.reachable
    assert program is not None and graph is not None and reachable is not None
    name = program.unikernel.name if program.unikernel else "image"
    kept = set(reachable.instances)
    reasons = {(r.kind, r.name): r.reason for r in reachable.removed}
    lines = [
        f"digraph {_quote(name)} {{",
        f"  label={_quote(f'{name} (target {program.target})')};",
        "  labelloc=t;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for key, instance in graph.instances.items():
        title = ", ".join(instance.names) if instance.names else key
        via = f"\n(via {', '.join(instance.via)})" if instance.via else ""
        label = f"{title}\n{instance.label}{via}"
        if key in kept:
            lines.append(f"  {_quote(key)} [label={_quote(label)}];")
        else:
            device = instance.names[0] if instance.names else ""
            reason = reasons.get(("device", device)) or reasons.get(
                ("component", instance.component), "not used")
            lines.append(f"  {_quote(key)} [label={_quote(label + chr(10) + 'removed: ' + reason)}"
                         f", tooltip={_quote(reason)}, style=\"rounded,dashed\", color=grey60, "
                         f"fontcolor=grey50];")
    # Components a constant condition removed before they were ever built.
    for removal in reachable.removed:
        if removal.kind == "component" and removal.decision is not None and \
                not any(i.component == removal.name for i in graph.instances.values()) and \
                removal.decision.owner == "devices" and \
                not removal.decision.span.file.endswith("prelude.spec"):
            label = f"{removal.name}\nremoved: {removal.reason}"
            lines.append(f"  {_quote('component ' + removal.name)} [label={_quote(label)}, "
                         f"tooltip={_quote(removal.reason)}, style=\"rounded,dashed\", "
                         "color=grey60, fontcolor=grey50];")
    for source, target, data in graph.graph.edges(data=True):
        style = "" if source in kept and target in kept else ", style=dashed, color=grey60"
        lines.append(f"  {_quote(source)} -> {_quote(target)} "
                     f"[label={_quote(data.get('param', ''))}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizMissing(Exception):
    pass


def render(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG from DOT, through Graphviz's `dot` (Debian `graphviz`)."""
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizMissing("Graphviz's `dot` is not installed (Debian: apt-get install "
                              "graphviz); `--as dot` writes DOT without it")
    completed = subprocess.run([executable, f"-T{fmt}"], input=dot_text.encode(),
                               capture_output=True, check=False, timeout=60)
    if completed.returncode != 0:
        raise GraphvizMissing("dot failed: " + completed.stderr.decode(errors="replace").strip())
    return completed.stdout
