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
    if after == "image":
        return dump_image(c)
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


def dump_image(c: Compilation) -> str:
    """The `Image` the back ends build from (passes/image.py)."""
    image = c.image
    assert image is not None
    lines = [f"# the image after the image pass (target {image.target})",
             f"image {image.name}" + (f" \"{image.description}\"" if image.description else ""),
             "", "instances {  # in construction order"]
    for i in image.instances:
        names = ", ".join(i.names) if i.names else f"<{i.key}>"
        linked = "  # linked, never started (--no-specialize)" if i.key in image.linked_only else ""
        lines.append(f"  {names} = {i.label}{linked}")
        if i.device_args:
            lines.append("    uses " + ", ".join(f"{a.name} = {a.instance}" for a in i.device_args))
        lines.append("    operations " + (", ".join(sorted(i.operations)) or "(none)"))
        lines.append(f"    implementation {_shown(i.implementation)}")
        lines.extend(f"    data {d.describe()}" for d in i.data)
    lines.append("}")
    lines.append("")
    lines.append("params {  # read at boot")
    for p in image.params:
        owner = f"  # read by {p.owner}" if p.owner else ""
        lines.append(f"  --{p.flag}: {p.type} = {p.default_text}{owner}")
        if p.requires_text is not None:
            lines.append(f"    requires {p.requires_text}  # {p.requires_at}")
    lines.append("}")
    lines.append("")
    lines.append("listens " + (", ".join(f"{p.protocol} {p.port}" for p in image.ports)
                               or "(nothing)"))
    if image.guest_address is not None:
        gateway = image.guest_address.gateway
        lines.append(f"address {image.guest_address.address}" +
                     (f" gateway {gateway}" if gateway is not None else "") +
                     (" (by DHCP, as the launcher hands out)" if image.guest_address.dhcp
                      else ""))
    lines.append("")
    lines.append("runtime sources {")
    lines.extend(f"  {_shown(path)}" for path in image.runtime_sources)
    lines.append("}")
    lines.append("")
    lines.extend(f"var {v.name}: {v.type} = {source_text(v.initial)}" for v in image.vars)
    code = residual_print.block(image.code.main) if image.code.main is not None else "{}"
    lines.extend(residual_print.function(f) for f in image.code.functions)
    lines.append("main " + code)
    return "\n".join(lines) + "\n"


def _shown(path: str) -> str:
    """Shipped files relative to the installed package, so dumps do not
    depend on where specc is installed."""
    import os

    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    real = os.path.realpath(path)
    return "<specc>/" + os.path.relpath(real, root) if real.startswith(root + os.sep) else path
