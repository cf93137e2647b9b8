"""`specc compile --no-specialize`: the same spec built without specializing
it, so that bench/size.py can say what specialization saves.

What the option changes, pass by pass:

- config: a `const` key becomes a boot-time parameter (`--port=53`, its
  value from the build as the default) wherever the language allows: its
  type is one an image parses at boot (integers, enums, bool, Ipv4, Cidr,
  Duration, Size, string, and options of them), and nothing that must be known at compile
  time reads it: not the devices block (the device graph is built at
  compile time), a `var`'s initial value, a key's default or `requires`, nor
  a function any of those calls.  A key that would make the residual code
  use an instance the target cannot build stays constant as well; `plan`
  says why for each key.
- fold: constant expressions are still evaluated (a zone's origin is only
  known at compile time), but every `if`, `if let`, `while` and `match` keeps
  all of its arms, no function of the spec runs at compile time and no call
  a component would drop is removed.  Still decided: conditions on `target`
  and conditions with an arm that uses a device the target cannot build
  (a component with no implementation on that target): the other arm could
  not be built.
- dce: every function, top-level `var` and device instance the target can
  build is kept, reached from `main` or not (`keep_everything`).  DCE's
  W0003 for a device nothing uses waits until then (specc/driver.py), so
  that it says the device is built anyway when it is kept.
- the C back ends compile without -ffunction-sections and link without
  --gc-sections, so every runtime object linked stays whole.

- the C targets also link one instance of every component the target can
  build that the spec does not use (`link_unbuilt_components`), never
  started, over the spec's instances or those linked before it: on hvt for
  examples/dns.spec dhcp_ipv4, console, clock, timer, kv_ro (of no files:
  an empty `Files` is a real value of the type) and http_server (over the
  spec's TCP and that kv_ro; its site, the error responses alone, built at
  compile time as any site is, once: linking builds it to know it can be,
  and the image pass takes it from `Linking.data`).  A constant with no
  default takes a neutral value (static_ipv4's address 0.0.0.0/0 when the
  spec uses dhcp_ipv4), not a boot parameter: an instance never started
  reads none, so its flag would change nothing.  `Plan.linked` says how
  each instance was linked, `Plan.not_linked` why a component was not (the
  manifest's `unspecialized`).  The python target links only what the spec
  uses.

Not done, because the language or the components do not allow it: a
component that needs a zone (dns_zone, when the spec builds none: a zone
must have an SOA and NS records, and one made up here would be a zone the
spec does not serve) or a device no instance provides (dns_over_tcp
without a dns_zone) is not linked; components' constant arguments
stay compile-time macros; a zone is read at compile time only (a Zone is
never a boot-time value).  What dns_zone does with it is not specialized,
though: on every target it carries the zone's records
(backends/dns/record_table.py) and decides each answer when the question
comes, as NSD does, instead of every answer precomputed (THE DNS
specialization): runtime/dns/dns_resolve.c on hvt and unix,
runtime/dns_resolve.py on python.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from specc import ast
from specc import types as T
from specc.check.program import CheckedProgram
from specc.diagnostics import DiagnosticSink
from specc.passes.branches import BranchLog, mentioned_names, walk
from specc.passes.config import ConfigValues
from specc.passes.dce import Reachable, run_dce
from specc.passes.devices import DeviceGraph, Instance
from specc.passes.fold import Folded, run_fold
from specc.passes.image import GraphView, unbuildable
from specc.span import Span
from specc.values import CidrV, DurationV, EnumV, FilesV, Ipv4V, SizeV, Value, source_text

if TYPE_CHECKING:
    from specc.backends.components import CompileTimeData
    from specc.evaluate import Evaluator

# The scalar types app_main (C) and the Python image parse from `--NAME=VALUE`
# (specc/backends/boot.py's KINDS), besides integers and enums.
_BOOT_SCALARS = (T.BOOL, T.IPV4, T.CIDR, T.DURATION, T.SIZE, T.STRING)


@dataclass
class Plan:
    """Which const keys this unspecialized build reads at boot, and why the
    others stay compile-time values; on the C targets, which components the
    spec does not use are linked, and how, and why the others are not
    (`link_unbuilt_components`)."""

    boot: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # key -> why it stays constant
    linked: dict[str, str] = field(default_factory=dict)  # instance key -> how
    not_linked: dict[str, str] = field(default_factory=dict)  # component -> why


def boot_parseable(t: T.Type) -> bool:
    inner = t.inner if isinstance(t, T.OptionT) else t
    return T.is_integer(inner) or isinstance(inner, T.EnumT) or inner in _BOOT_SCALARS


def compile_time_reads(program: CheckedProgram) -> dict[str, str]:
    """Every key that something evaluated at compile time reads -> what."""
    roots: list[tuple[str, object]] = []
    for name, device in program.devices.items():
        roots.append((f"device `{name}`", device.decl.value))
    for name, var in program.vars.items():
        roots.append((f"the initial value of `var {name}`", var.decl.value))
    for name, key in program.config.items():
        roots.append((f"the default or `requires` of `config.{name}`",
                      (key.decl.default, key.decl.requires)))
    bodies = {name: info.decl for name, info in program.functions.items()
              if info.decl is not None}
    reads: dict[str, str] = {}
    for what, root in roots:
        seen: set[str] = set()
        queue: list[object] = [root]
        while queue:
            node = queue.pop()
            for item in walk(node):
                if isinstance(item, ast.ConfigRef):
                    reads.setdefault(item.key, what)
            for name in mentioned_names(node):
                if name in bodies and name not in seen:
                    seen.add(name)
                    queue.append(bodies[name].body)
    return reads


def plan(program: CheckedProgram, config: ConfigValues,
         unbuildable_reached: Callable[[list[str]], str | None]) -> Plan:
    """The keys to read at boot.  ``unbuildable_reached(keys)`` folds and
    walks the program with ``keys`` at boot and names an instance the target
    cannot build that the code would then use, or None."""
    result = Plan()
    needed = compile_time_reads(program)
    for name, info in program.config.items():
        if info.decl.kind is not ast.KeyKind.CONST or name not in config.values:
            continue
        if not boot_parseable(info.type):
            result.kept[name] = f"an image cannot read a `{info.type}` at boot"
            if info.type == T.ZONE:
                result.kept[name] += (
                    "; its records are compiled in and dns_zone decides each answer from them "
                    "at run time (" + ("runtime/dns_resolve.py" if program.target == "python"
                                       else "runtime/dns/dns_resolve.c") + ")")
        elif name in needed:
            result.kept[name] = f"{needed[name]} reads it at compile time"
        else:
            blocked = unbuildable_reached([*result.boot, name])
            if blocked is not None:
                result.kept[name] = f"at boot it would need {blocked}"
            else:
                result.boot.append(name)
    return result


@dataclass
class Linking:
    """What `link_unbuilt_components` linked: instance key -> how (never
    started, over which instances, any constant it had to choose), and the
    components it could not link: name -> why.  ``data`` is the compile-time
    data each linked instance's hook prepared (instance key -> it): linking
    must prepare it to know the instance can be built, and the image pass
    takes it from here instead of running the hook again (an `http_server`
    over the spec's large `kv_ro` would build that site twice)."""

    linked: dict[str, str] = field(default_factory=dict)
    not_linked: dict[str, str] = field(default_factory=dict)
    data: dict[str, tuple[CompileTimeData, ...]] = field(default_factory=dict)


# Why a constant of these types, with no default, gets no value here.
_NO_NEUTRAL: dict[T.Type, str] = {
    T.ZONE: "a zone is data the spec must give: one made up here (it needs an SOA and NS "
            "records) would be a zone the spec does not serve",
}


_ZEROS: dict[T.Type, Value] = {T.BOOL: False, T.IPV4: Ipv4V(0), T.CIDR: CidrV(0, 0),
                               T.DURATION: DurationV(0), T.SIZE: SizeV(0), T.STRING: ""}


def neutral_value(t: T.Type) -> tuple[Value, str] | None:
    """A value for a constant with no default of an instance linked, never
    started, and how the plan shows it: an empty Files (a real `Files`: no
    files), or the zero of a type the boot code parses.  None for any other
    type (a Zone, a list, a struct)."""
    if t == T.FILES:
        return FilesV("", ()), "no files (an empty `Files`, a real value of the type)"
    if not boot_parseable(t):
        return None
    value: Value
    if isinstance(t, T.OptionT):
        value = None
    elif isinstance(t, T.EnumT):
        value = EnumV(t.name, t.variants[0], 0)
    elif T.is_integer(t):
        value = 0
    else:
        value = _ZEROS[t]
    return value, f"{source_text(value)}, a neutral value (not a boot parameter: an instance " \
        "never started reads none, so a flag would change nothing)"


def link_unbuilt_components(program: CheckedProgram, config: ConfigValues,
                            graph: DeviceGraph) -> Linking:
    """Add to ``graph`` one instance of every component the target can build
    that the spec does not: its constants at their defaults (or, with none,
    `neutral_value`), its devices the first buildable instances of the right
    interfaces, the spec's or those linked here (an `http_server` over the
    spec's Tcp and a linked `kv_ro` of no files).  These are linked, never
    started (a second IP stack must not configure the network).  A component
    is not linked when a device parameter has no instance to use, a constant
    has neither a default nor a neutral value (a Zone), or its hook cannot
    prepare its compile-time data; `Linking.not_linked` says which."""
    from specc.evaluate import Evaluator, Hooks, NotConstant
    from specc.passes.image import LANGUAGE, implementation_item

    def no_config(name: str, span: Span) -> Value:
        raise NotConstant(f"`config.{name}`", span)

    evaluator = Evaluator(program, Hooks(config=no_config), target=program.target)
    built = {i.component for i in graph.instances.values()} | \
        {c for i in graph.instances.values() for c in i.via}
    providers: dict[str, str] = {}
    for key in graph.construction_order(list(graph.instances)):
        if all(unbuildable(program, graph, k) is None for k in [key, *_dependencies(graph, key)]):
            interface = program.components[graph.instances[key].component].interface
            providers.setdefault(interface, key)
    pending = [name for name, info in program.components.items()
               if name not in built and info.decl.composition is None and
               program.target in info.targets and
               implementation_item(info, LANGUAGE[program.target]) is not None]
    linking = Linking()
    progress = True
    while pending and progress:  # until no instance linked gives another the device it lacked
        progress = False
        for name in list(pending):
            outcome = _link_one(program, graph, evaluator, providers, name)
            if isinstance(outcome, str):
                linking.not_linked[name] = outcome
                continue
            key, how, data = outcome
            pending.remove(name)
            linking.not_linked.pop(name, None)
            linking.linked[key] = how
            if data is not None:
                linking.data[key] = data
            providers.setdefault(program.components[name].interface, key)
            progress = True
    return linking


def _link_one(program: CheckedProgram, graph: DeviceGraph, evaluator: Evaluator,
              providers: dict[str, str], name: str
              ) -> tuple[str, str, tuple[CompileTimeData, ...] | None] | str:
    """Link one instance of component ``name`` into ``graph``: its key, how
    it was linked and its hook's compile-time data (None: it has no data
    hook), or why it cannot be."""
    from specc.backends.components import HookError, hooks_for
    from specc.evaluate import Env, EvalError, NotConstant

    info = program.components[name]
    consts: list[tuple[str, Value]] = []
    devices: list[tuple[str, str]] = []
    chosen: list[str] = []
    for param in info.params:
        if not param.is_const:
            provider = providers.get(str(param.type))
            if provider is None:
                return f"no instance gives it its `{param.name}: {param.type}`"
            devices.append((param.name, provider))
        elif param.decl.default is not None:
            try:
                consts.append((param.name, evaluator.eval(param.decl.default, Env())))
            except (EvalError, NotConstant) as error:
                return f"the default of `{param.name}` is not a constant: {error}"
        else:
            neutral = neutral_value(param.type)
            if neutral is None:
                why = _NO_NEUTRAL.get(param.type, f"no neutral value of a `{param.type}`")
                return f"`{param.name}: {param.type}` has no default, and {why}"
            consts.append((param.name, neutral[0]))
            chosen.append(f"`{param.name}` has no default: {neutral[1]}")
    key = name if name not in graph.instances else f"{name}#linked"
    instance = Instance(key, name, tuple(consts), tuple(devices), info.decl.name_span)
    implementation = _implementation(program, instance)
    if not os.path.isfile(implementation):
        return f"its implementation does not exist: {implementation}"
    hooks = hooks_for(implementation)
    values = dict(consts)
    for rule in hooks.const_rules:
        if rule.name in values and not rule.holds(values[rule.name]):
            return f"`{rule.name} = {source_text(values[rule.name])}` must be {rule.wants}"
    data: tuple[CompileTimeData, ...] | None = None
    if hooks.data is not None:
        try:  # as the image pass would see it, which then reuses it (Linking.data)
            data = hooks.data(GraphView(graph, lambda i: _implementation(program, i), instance,
                                        specialized=False))
        except (HookError, ValueError) as error:
            return f"its compile-time data cannot be prepared: {error}"
    graph.instances[key] = instance
    graph.graph.add_node(key, component=name, label=instance.label, names=[])
    for param_name, provider in devices:
        graph.graph.add_edge(key, provider, param=param_name)
    uses = ", ".join(f"{p} = {k}" for p, k in devices)
    return key, "; ".join(["linked, never started", *([f"uses {uses}"] if uses else []),
                           *chosen]), data


def _implementation(program: CheckedProgram, instance: Instance) -> str:
    """The instance's implementation file for the target, or ""."""
    from specc.passes.image import LANGUAGE, implementation_item, implementation_path

    info = program.components[instance.component]
    item = implementation_item(info, LANGUAGE[program.target])
    return implementation_path(info, item) if item is not None else ""


def unbuildable_devices(program: CheckedProgram, graph: DeviceGraph) -> frozenset[str]:
    """The devices whose instance, or one it uses, the target cannot build:
    a constant condition with an arm that uses one is still decided."""
    return frozenset(name for name, key in graph.devices.items()
                     if any(unbuildable(program, graph, k) is not None
                            for k in [key, *_dependencies(graph, key)]))


def unbuildable_reached(program: CheckedProgram, config: ConfigValues,
                        graph: DeviceGraph) -> Callable[[list[str]], str | None]:
    """For `plan`: fold and walk the program, unspecialized, with the keys
    given at boot (diagnostics of these trial runs are dropped: the real
    passes report them) and name the first unbuildable instance reached."""
    def reached(keys: list[str]) -> str | None:
        trial = read_at_boot(config, keys)
        folded = run_fold(program, trial, graph, BranchLog(), DiagnosticSink(), specialize=False,
                          unbuildable=unbuildable_devices(program, graph))
        reachable = run_dce(program, graph, folded, BranchLog(), DiagnosticSink())
        for key in reachable.instances:
            why = unbuildable(program, graph, key)
            if why is not None:
                names = graph.instances[key].names
                return f"`{names[0] if names else key}`, which {why}"
        return None
    return reached


def read_at_boot(config: ConfigValues, keys: Iterable[str]) -> ConfigValues:
    """``config`` with ``keys`` moved from the constants to the parameters
    (their values becoming the defaults)."""
    values = dict(config.values)
    defaults = dict(config.param_defaults)
    for key in keys:
        defaults[key] = values.pop(key)
    return ConfigValues(values, dict(config.sources), defaults)


def keep_everything(program: CheckedProgram, graph: DeviceGraph, folded: Folded,
                    reachable: Reachable, buildable: Callable[[str], bool]) -> Reachable:
    """DCE switched off: what ``reachable`` keeps, plus every function, `var`
    and buildable instance (with what it uses) of the program."""
    functions = [*reachable.functions,
                 *(n for n in folded.functions if n not in reachable.functions)]
    instances = list(reachable.instances)
    for key in graph.construction_order(list(graph.instances)):
        closure = [key, *(d for d in _dependencies(graph, key))]
        if all(buildable(k) for k in closure):
            instances.extend(k for k in closure if k not in instances)
    devices = list(reachable.devices)
    for key in instances:
        devices.extend(n for n in graph.instances[key].names if n not in devices)
        for component in [*graph.instances[key].via, graph.instances[key].component]:
            if component not in reachable.components:
                reachable.components.append(component)
    operations = {k: set(v) for k, v in reachable.operations.items()}
    for key in instances:
        interface = program.interfaces.get(
            program.components[graph.instances[key].component].interface)
        operations.setdefault(key, set()).update(interface.ops if interface is not None else ())
    kept = {"function": set(functions), "device": set(devices), "instance": set(instances),
            "component": set(reachable.components), "var": set(program.vars)}
    return Reachable(
        functions=functions,
        instances=instances,
        components=list(reachable.components),
        devices=devices,
        vars=list(program.vars),
        operations=operations,
        used_by=dict(reachable.used_by),
        removed=[r for r in reachable.removed if r.name not in kept.get(r.kind, set())],
    )


def _dependencies(graph: DeviceGraph, key: str) -> list[str]:
    found: list[str] = []
    queue = [key]
    while queue:
        for dependency in graph.graph.successors(queue.pop()):
            if dependency not in found:
                found.append(dependency)
                queue.append(dependency)
    return found
