"""The DCE pass: what is reachable from `main` over the folded program and
the device graph stays; everything else is removed, with its reason.

Before (tcp = false)::

    devices { tcp4 = tcp(ip); dns_tcp = dns_over_tcp(tcp4, db) }
    main { udp4.listen(53, answer) }            # `if config.tcp` folded away

After::

    kept: udp4, ip, db (and what they use), answer
    removed: dns_tcp (`config.tcp` is false, at dns.spec:47:6),
             tcp4 (used only by dns_tcp, which is removed)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import networkx as nx

from specc import ast
from specc.check.program import CheckedProgram
from specc.diagnostics import DiagnosticSink
from specc.passes.branches import BranchLog, Decision, mentioned_names, walk
from specc.passes.devices import DeviceGraph
from specc.passes.fold import Folded
from specc.span import Span
from specc.values import DeviceV, FnRefV, StructV


@dataclass(frozen=True)
class Removal:
    """Something that is not in the image, and why."""

    kind: str  # "device", "instance", "component", "function", "var"
    name: str
    reason: str
    decision: Decision | None = None  # the constant condition behind it, if any
    span: Span | None = None  # where the removed thing is declared


@dataclass
class Reachable:
    functions: list[str] = field(default_factory=list)  # in the order first reached
    instances: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    vars: list[str] = field(default_factory=list)  # top-level `var`s kept code reads or sets
    # instance key -> operations called on it
    operations: dict[str, set[str]] = field(default_factory=dict)
    # how each kept item was reached: item -> the item that uses it ("main" at the root)
    used_by: dict[str, str] = field(default_factory=dict)
    removed: list[Removal] = field(default_factory=list)


# The reason of a device nothing uses at all: the one W0003 is given for.
NEVER_USED = "never used"


class DeadCode:
    def __init__(self, program: CheckedProgram, graph: DeviceGraph, folded: Folded,
                 branches: BranchLog, sink: DiagnosticSink, warn: bool = True) -> None:
        self.program = program
        self.graph = graph
        self.folded = folded
        self.branches = branches
        self.sink = sink
        self.warn = warn
        self.result = Reachable()
        self.function_removals: dict[str, Removal] = {}
        self._device_mentions: dict[str, list[str]] | None = None
        self._function_mentions: dict[str, list[str]] | None = None

    def run(self) -> Reachable:
        r = self.result
        work: list[tuple[str, object]] = []
        if self.folded.main is not None:
            work.append(("main", self.folded.main))
        seen_functions: set[str] = set()
        while work:
            owner, body = work.pop(0)
            for node in walk(body):
                for function in self.functions_in(node):
                    if function not in seen_functions and function in self.folded.functions:
                        seen_functions.add(function)
                        r.functions.append(function)
                        r.used_by[f"fn {function}"] = owner
                        work.append((f"fn {function}", self.folded.functions[function].body))
                self.note_device_use(owner, node)
                var = self.note_var_use(owner, node)
                for function in _functions_in_value(self.folded.vars.get(var or "")):
                    # a `var` of function type starts as a function: keep it
                    if function not in seen_functions and function in self.folded.functions:
                        seen_functions.add(function)
                        r.functions.append(function)
                        r.used_by[f"fn {function}"] = f"var {var}"
                        work.append((f"fn {function}", self.folded.functions[function].body))
        r.vars = [name for name in self.program.vars if name in r.vars]  # declaration order
        self.close_instances()
        self.removals()
        if self.warn:
            warn_unused_devices(r.removed, self.sink)
        return r

    def functions_in(self, node: object) -> list[str]:
        if isinstance(node, ast.Const) and isinstance(node.value, FnRefV):
            return [node.value.name]
        if isinstance(node, ast.Name):
            symbol = self.folded.symbol(node)
            if symbol is not None and symbol.kind == "function":
                return [node.name]
        return []

    def note_device_use(self, owner: str, node: object) -> None:
        key: str | None = None
        name: str | None = None
        if isinstance(node, ast.Name):
            symbol = self.folded.symbol(node)
            if symbol is not None and symbol.kind == "device":
                name = node.name
                key = self.graph.devices.get(node.name)
        elif isinstance(node, ast.Const) and isinstance(node.value, DeviceV):
            key = node.value.key
        if key is None:
            return
        r = self.result
        if name is not None and name not in r.devices:
            r.devices.append(name)
        if key not in r.instances:
            r.instances.append(key)
            r.used_by.setdefault(key, owner)
        if isinstance(node, ast.Name):
            r.operations.setdefault(key, set())

    def note_var_use(self, owner: str, node: object) -> str | None:
        """The top-level `var` ``node`` reads or assigns, when it is the first
        use of it."""
        if not isinstance(node, ast.Name | ast.Assign):
            return None
        symbol = self.folded.symbol(node)
        if symbol is None or symbol.kind != "global-var" or symbol.name in self.result.vars:
            return None
        self.result.vars.append(symbol.name)
        self.result.used_by.setdefault(f"var {symbol.name}", owner)
        return symbol.name

    def close_instances(self) -> None:
        """Everything a kept instance uses is kept too."""
        r = self.result
        for call in self.operation_calls():
            r.operations.setdefault(call[0], set()).add(call[1])
        queue = list(r.instances)
        while queue:
            key = queue.pop(0)
            for dependency in self.graph.graph.successors(key):
                if dependency not in r.instances:
                    r.instances.append(dependency)
                    r.used_by[dependency] = key
                    queue.append(dependency)
        for key in r.instances:
            instance = self.graph.instances[key]
            for component in [*instance.via, instance.component]:
                if component not in r.components:
                    r.components.append(component)
            for name in instance.names:
                if name not in r.devices:
                    r.devices.append(name)

    def operation_calls(self) -> list[tuple[str, str]]:
        calls = []
        bodies: list[object] = [self.folded.main]
        bodies.extend(self.folded.functions[f].body for f in self.result.functions)
        for body in bodies:
            for node in walk(body):
                if isinstance(node, ast.Call) and isinstance(node.callee, ast.Field) \
                        and isinstance(node.callee.obj, ast.Name):
                    key = self.graph.devices.get(node.callee.obj.name)
                    if key is not None:
                        calls.append((key, node.callee.name))
        return calls

    # ------------------------------------------------------------ reasons
    def removals(self) -> None:
        r = self.result
        live = {"devices", "main", *(f"fn {f}" for f in r.functions)}
        removed: list[Removal] = []
        for name, info in self.program.functions.items():
            if name in r.functions or info.decl is None:
                continue
            decision = self.branches.reason_for(name, live)
            reason = _pruned(decision) if decision else self.unused_function_reason(name)
            removal = Removal("function", name, reason, decision, info.decl.name_span)
            self.function_removals[name] = removal
            removed.append(removal)
        for name, var in self.program.vars.items():
            if name not in r.vars:
                removed.append(self.var_removal(name, var.decl.name_span, live))
        device_reasons: dict[str, Removal] = {}
        for name in self.program.devices:
            if name in r.devices:
                continue
            removal = self.device_removal(name, live, device_reasons)
            removed.append(removal)
        for component, component_info in self.program.components.items():
            if component in r.components:
                continue
            decision = self.branches.reason_for(component, live)
            instances = [i for i in self.graph.instances.values()
                         if i.component == component or component in i.via]
            if instances:  # built, then left out: say why its instances are out
                names = [n for i in instances for n in (i.names or [i.key])]
                users = ", ".join(f"`{n}`" for n in names[:5])
                if len(names) > 5:
                    users += f" and {len(names) - 5} more"
                reason = f"its instances ({users}) are not in the image"
                first = device_reasons.get(instances[0].names[0]) if instances[0].names else None
                decision = first.decision if first else None
            elif decision is not None:
                reason = _pruned(decision)
            else:
                reason = "not used by this spec"
            removed.append(Removal("component", component, reason, decision,
                                   component_info.decl.name_span))
        r.removed = removed

    def device_removal(self, name: str, live: set[str],
                       done: dict[str, Removal]) -> Removal:
        if name in done:
            return done[name]
        decl = self.program.devices[name].decl
        decision = self.branches.reason_for(name, live)
        if decision is not None:
            removal = Removal("device", name, _pruned(decision), decision, decl.name_span)
        else:
            users = self.device_users(name)
            functions = self.function_users(name)
            if functions and not users:
                listing = ", ".join(f"`{f}`" for f in functions)
                first = self.function_removals[functions[0]]
                removal = Removal("device", name, f"used only by {listing}, which "
                                  f"{'is' if len(functions) == 1 else 'are'} not in the image "
                                  f"({first.reason})", first.decision, decl.name_span)
            elif users:
                firsts = [self.device_removal(u, live, done) for u in users]
                listing = ", ".join(f"`{u}`" for u in users)
                removal = Removal("device", name, f"used only by {listing}, which "
                                  f"{'is' if len(users) == 1 else 'are'} not in the image",
                                  next((f.decision for f in firsts if f.decision), None),
                                  decl.name_span)
            else:
                removal = Removal("device", name, NEVER_USED, None, decl.name_span)
        done[name] = removal
        return removal

    def var_removal(self, name: str, span: Span, live: set[str]) -> Removal:
        """Why a top-level `var` is not in the image.  One that nothing reads
        at all has its W0002 from the checker already."""
        decision = self.branches.reason_for(name, live)
        if decision is not None:
            return Removal("var", name, _pruned(decision), decision, span)
        functions = self.function_users(name)
        if functions:
            listing = ", ".join(f"`{f}`" for f in functions)
            first = self.function_removals[functions[0]]
            return Removal("var", name, f"used only by {listing}, which "
                           f"{'is' if len(functions) == 1 else 'are'} not in the image "
                           f"({first.reason})", first.decision, span)
        return Removal("var", name, "never used", None, span)

    def unused_function_reason(self, name: str) -> str:
        if name in self.folded.evaluated:
            return "every call of it was evaluated at compile time"
        for dropped in self.folded.dropped_calls:
            for node in walk(dropped.call):
                if isinstance(node, ast.Name) and node.name == name:
                    return (f"its only use is in `{dropped.device}.{dropped.op}(...)` "
                            f"({dropped.span}), which the component drops "
                            f"(`drop {dropped.op} when ...` holds)")
        return "never called from `main`"

    def function_users(self, name: str) -> list[str]:
        """Functions not in the image whose bodies mention ``name``."""
        if self._function_mentions is None:
            self._function_mentions = {}
            for function in self.function_removals:
                decl = self.program.functions[function].decl
                if decl is not None:
                    for mentioned in sorted(mentioned_names(decl.body)):
                        self._function_mentions.setdefault(mentioned, []).append(function)
        return self._function_mentions.get(name, [])

    def device_users(self, name: str) -> list[str]:
        """Other devices whose definitions mention ``name`` (an index built
        once: asking each device of every other is quadratic)."""
        if self._device_mentions is None:
            self._device_mentions = {}
            for other, device in self.program.devices.items():
                for mentioned in sorted(mentioned_names(device.decl.value)):
                    if mentioned != other:
                        self._device_mentions.setdefault(mentioned, []).append(other)
        return self._device_mentions.get(name, [])


def warn_unused_devices(removed: Iterable[Removal], sink: DiagnosticSink,
                        built: Collection[str] = ()) -> None:
    """W0003 for each device nothing uses, unless its name starts with `_`
    (the devices only it uses are removed with it, without a warning of their
    own).  ``built`` are the devices the build keeps all the same: an
    unspecialized build (passes/unspecialize.py, keep_everything) keeps every
    device the target can build, so its warning must not say "not built"."""
    for removal in removed:
        if removal.kind != "device" or removal.reason != NEVER_USED or removal.span is None \
                or removal.name.startswith("_"):
            continue
        name = removal.name
        outcome = ("; it is built anyway, because --no-specialize keeps every device the "
                   "target can build") if name in built else ", so it is not built"
        sink.add("W0003", removal.span, f"device `{name}` is never used{outcome}",
                 hint=f"remove it, or name it `_{name}`")


def _functions_in_value(value: object) -> list[str]:
    """The functions a compile-time value names (in lists and structs too)."""
    if isinstance(value, FnRefV):
        return [value.name]
    if isinstance(value, tuple):
        return [f for item in value for f in _functions_in_value(item)]
    if isinstance(value, StructV):
        return [f for _, item in value.fields for f in _functions_in_value(item)]
    return []


def _pruned(decision: Decision) -> str:
    return f"its only use is in a branch removed because {decision.describe()}"


def kept_graph(graph: DeviceGraph, reachable: Reachable) -> nx.DiGraph:
    return graph.graph.subgraph(reachable.instances).copy()


def run_dce(program: CheckedProgram, graph: DeviceGraph, folded: Folded, branches: BranchLog,
            sink: DiagnosticSink, warn: bool = True) -> Reachable:
    """The DCE pass's entry point.  ``warn=False`` leaves W0003 to the
    caller (`warn_unused_devices`), for a build that keeps more than DCE
    does (--no-specialize: specc/driver.py)."""
    return DeadCode(program, graph, folded, branches, sink, warn).run()
