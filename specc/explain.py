"""`specc explain`: is a device, component, function or config key in the
image, and why (LANGUAGE.md section 10)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specc import ast
from specc.driver import Compilation
from specc.manifest import decision_json, position
from specc.passes.branches import Decision, mentioned_names, where
from specc.passes.image import unbuildable
from specc.span import Span
from specc.values import source_text


@dataclass
class Explanation:
    kind: str  # "device", "component", "function", "config", "var"
    name: str
    in_image: bool
    summary: str
    path: list[str] = field(default_factory=list)  # use path, from `main`
    reasons: list[str] = field(default_factory=list)
    decision: Decision | None = None
    declared_at: Span | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "in_image": self.in_image,
                "summary": self.summary, "use_path": self.path, "reasons": self.reasons,
                "decided_by": decision_json(self.decision),
                "declared_at": position(self.declared_at)}

    def render(self) -> str:
        status = "in the image" if self.in_image else "not in the image"
        lines = [f"{self.kind} `{self.name}`: {status}", f"  {self.summary}"]
        if self.path:
            lines.append("  use path: " + " -> ".join(self.path))
        lines.extend(f"  because: {r}" for r in self.reasons)
        if self.decision is not None:
            d = self.decision
            lines.append(f"  decided by: `{d.condition}` = {d.value} at {where(d.span)}")
        if self.declared_at is not None:
            lines.append(f"  declared at: {where(self.declared_at)}")
        return "\n".join(lines)


def explain(c: Compilation, name: str) -> list[Explanation]:
    """Every explanation that fits ``name`` (a device, component, function or key)."""
    program, reachable, graph = c.program, c.reachable, c.graph
    assert program is not None and reachable is not None and graph is not None
    found: list[Explanation] = []
    removed = {(r.kind, r.name): r for r in reachable.removed}
    if name in program.devices:
        decl = program.devices[name].decl
        if name in reachable.devices:
            instance = graph.instance_of(name)
            assert instance is not None
            via = f" (chosen by composition {', '.join(f'`{v}`' for v in instance.via)})" \
                if instance.via else ""
            ops = sorted(reachable.operations.get(instance.key, set()))
            summary = f"built as {instance.label}{via}"
            if ops:
                summary += "; operations used: " + ", ".join(ops)
            unbuilt = unbuildable(program, graph, instance.key)
            found.append(Explanation("device", name, True, summary,
                                     use_path(c, instance.key),
                                     reasons=[unbuilt] if unbuilt else [],
                                     declared_at=decl.name_span))
        else:
            r = removed[("device", name)]
            found.append(Explanation("device", name, False, "removed", reasons=[r.reason],
                                     decision=r.decision, declared_at=decl.name_span))
    if name in program.components:
        decl_c = program.components[name].decl
        if name in reachable.components:
            users = [i for i in (graph.instances[k] for k in reachable.instances)
                     if i.component == name or name in i.via]
            listing = ", ".join(i.names[0] if i.names else i.key for i in users)
            found.append(Explanation("component", name, True, f"instances in the image: "
                                     f"{listing}", use_path(c, users[0].key) if users else [],
                                     declared_at=decl_c.name_span))
        else:
            r = removed[("component", name)]
            found.append(Explanation("component", name, False, "removed", reasons=[r.reason],
                                     decision=r.decision, declared_at=decl_c.name_span))
    if name in program.functions and program.functions[name].decl is not None:
        decl_f = program.functions[name].decl
        assert decl_f is not None
        if name in reachable.functions:
            found.append(Explanation("function", name, True, "called from the image",
                                     use_path(c, f"fn {name}"), declared_at=decl_f.name_span))
        else:
            r = removed[("function", name)]
            found.append(Explanation("function", name, False, "removed", reasons=[r.reason],
                                     decision=r.decision, declared_at=decl_f.name_span))
    if name in program.vars:
        decl_v = program.vars[name].decl
        if name in reachable.vars:
            initial = source_text(c.folded.vars[name]) if c.folded is not None \
                and name in c.folded.vars else "?"
            found.append(Explanation("var", name, True, f"run-time state of type "
                                     f"`{program.vars[name].type}`, starting at {initial}",
                                     use_path(c, f"var {name}"), declared_at=decl_v.name_span))
        else:
            r = removed[("var", name)]
            found.append(Explanation("var", name, False, "removed", reasons=[r.reason],
                                     decision=r.decision, declared_at=decl_v.name_span))
    if name in program.config:
        found.append(explain_config(c, name))
    return found


def explain_config(c: Compilation, name: str) -> Explanation:
    program, config = c.program, c.config
    assert program is not None and config is not None
    info = program.config[name]
    decl = info.decl
    if decl.kind is ast.KeyKind.PARAM:
        default = config.param_defaults.get(name)
        summary = (f"param `{name}: {info.type}`, read at boot (--{name.replace('_', '-')}=...)"
                   f"; default {source_text(default)}")
        return Explanation("config", name, True, summary, declared_at=decl.name_span)
    value = config.values.get(name)
    source = config.sources.get(name, "default")
    summary = f"const `{name}: {info.type}` = {source_text(value)} (from {source}); " \
              "folded into the image at compile time"
    reasons = [f"decides `{d.condition}` = {d.value} at {where(d.span)}, removing a branch"
               for d in c.branches.decisions if _mentions_key(d, name)]
    return Explanation("config", name, True, summary, reasons=reasons,
                       declared_at=decl.name_span)


def _mentions_key(decision: Decision, key: str) -> bool:
    return decision.condition.replace(" ", "").startswith(f"config.{key}") or \
        f"config.{key}" in decision.condition


def use_path(c: Compilation, item: str) -> list[str]:
    """The chain from `main` to ``item`` through `used_by` links."""
    reachable, graph = c.reachable, c.graph
    assert reachable is not None and graph is not None
    chain: list[str] = []
    current: str | None = item
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        chain.append(_display(c, current))
        if current == "main":
            break
        current = reachable.used_by.get(current)
    chain.reverse()
    return chain


def _display(c: Compilation, item: str) -> str:
    graph = c.graph
    assert graph is not None
    if item in graph.instances:
        instance = graph.instances[item]
        return f"{instance.names[0]} ({instance.component})" if instance.names \
            else instance.label
    return item


__all__ = ["Explanation", "explain", "mentioned_names"]
