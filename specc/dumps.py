"""What `specc compile --dump-after PASS` prints after each pass."""

from __future__ import annotations

from specc import residual_print
from specc.driver import Compilation
from specc.values import source_text


def dump(c: Compilation, after: str) -> str:
    if after == "config":
        return dump_config(c)
    if after == "devices":
        return dump_devices(c)
    if after == "fold":
        return dump_program(c, kept_only=False)
    return dump_program(c, kept_only=True)


def dump_config(c: Compilation) -> str:
    program, config = c.program, c.config
    assert program is not None and config is not None
    lines = [f"# config after the config pass (target {program.target})", "config {"]
    for name, info in program.config.items():
        if name in config.values:
            lines.append(f"  const {name}: {info.type} = {source_text(config.values[name])}"
                         f"  # {config.sources[name]}")
        else:
            default = config.param_defaults.get(name)
            lines.append(f"  param {name}: {info.type} = {source_text(default)}  # read at boot")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dump_devices(c: Compilation) -> str:
    graph = c.graph
    assert graph is not None
    lines = [f"# device graph after the devices pass (target {graph.target})", "devices {"]
    for key, instance in graph.instances.items():
        names = ", ".join(instance.names) if instance.names else f"<{key}>"
        uses = ", ".join(f"{p} = {t}" for p, t in instance.device_args)
        via = f"  # via {', '.join(instance.via)}" if instance.via else ""
        lines.append(f"  {names} = {instance.label}" + (f" uses {uses}" if uses else "") + via)
    lines.append("}")
    return "\n".join(lines) + "\n"


def dump_program(c: Compilation, *, kept_only: bool) -> str:
    folded, reachable = c.folded, c.reachable
    assert folded is not None
    out = [dump_config(c), dump_devices(c) if not kept_only else _kept_devices(c)]
    out.extend(_vars(c, kept_only=kept_only))
    names = reachable.functions if kept_only and reachable is not None else list(folded.functions)
    for name in names:
        out.append(residual_print.function(folded.functions[name]) + "\n")
    if folded.main is not None:
        out.append("main " + residual_print.block(folded.main) + "\n")
    if kept_only and reachable is not None:
        out.append("# removed")
        for removal in reachable.removed:
            out.append(f"#   {removal.kind} {removal.name}: {removal.reason}")
        out.append("")
    return "\n".join(out)


def _kept_devices(c: Compilation) -> str:
    graph, reachable = c.graph, c.reachable
    assert graph is not None and reachable is not None
    lines = ["# devices in the image", "devices {"]
    for key in reachable.instances:
        instance = graph.instances[key]
        names = ", ".join(instance.names) if instance.names else f"<{key}>"
        ops = ", ".join(sorted(reachable.operations.get(key, set())))
        lines.append(f"  {names} = {instance.label}" + (f"  # uses {ops}" if ops else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _vars(c: Compilation, *, kept_only: bool) -> list[str]:
    """Top-level `var`s with the value they start with (never folded further)."""
    program, folded, reachable = c.program, c.folded, c.reachable
    assert program is not None and folded is not None
    names = reachable.vars if kept_only and reachable is not None else list(folded.vars)
    lines = [f"var {name}: {program.vars[name].type} = {source_text(folded.vars[name])}"
             for name in program.vars if name in names and name in folded.vars]
    return ["\n".join(lines) + "\n"] if lines else []
