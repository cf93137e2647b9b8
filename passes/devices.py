"""The devices pass: the `devices` block evaluated into a graph of component
instances (LANGUAGE.md section 7).

Before::

    devices { ip = host_ip(); udp4 = udp(ip) }          # --target unix

After (nodes are instances, edges "uses", labelled with the parameter)::

    udp4: socket_udp  --ip-->  ip: host_ip

Equal calls (same component, same arguments) are one instance.  A
composition (`component udp(ip: Ip) -> Udp = match target {...}`) is
evaluated to the instance it chooses.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import networkx as nx

from specc import ast
from specc.check.program import CheckedProgram
from specc.diagnostics import DiagnosticSink, Note
from specc.evaluate import Env, EvalError, Evaluator, Hooks, NotConstant
from specc.evaluate.data import DataLog, read_directory, read_zone
from specc.passes.branches import BranchLog
from specc.passes.config import ConfigValues
from specc.span import Span
from specc.values import DeviceV, Value, source_text


@dataclass
class Instance:
    """One component instance: a node of the device graph."""

    key: str  # unique and stable: the first device name bound to it, or component#n
    component: str
    const_args: tuple[tuple[str, Value], ...]
    device_args: tuple[tuple[str, str], ...]  # parameter -> instance key
    span: Span  # the call that first made it
    names: list[str] = field(default_factory=list)  # device names bound to it
    # Compositions that chose this instance, outermost first (e.g. ["udp"]).
    via: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        args = ", ".join(f"{k} = {source_text(v)}" for k, v in self.const_args)
        return f"{self.component}({args})"


@dataclass
class DeviceGraph:
    target: str
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    instances: dict[str, Instance] = field(default_factory=dict)
    # device name -> instance key
    devices: dict[str, str] = field(default_factory=dict)

    def instance_of(self, device: str) -> Instance | None:
        key = self.devices.get(device)
        return self.instances.get(key) if key is not None else None

    def construction_order(self, kept: list[str]) -> list[str]:
        """The ``kept`` instances, each after the instances it uses: the order
        an image builds its devices in."""
        order: list[str] = []
        done: set[str] = set()
        wanted = set(kept)

        def visit(key: str) -> None:
            if key in done:
                return
            done.add(key)
            for target in self.graph.successors(key):
                if target in wanted:
                    visit(target)
            order.append(key)

        for key in kept:
            visit(key)
        return order


class DevicesPass:
    def __init__(self, program: CheckedProgram, config: ConfigValues, sink: DiagnosticSink,
                 branches: BranchLog, data_log: DataLog | None = None) -> None:
        self.program = program
        self.config = config
        self.sink = sink
        self.result = DeviceGraph(program.target)
        self.by_call: dict[tuple[object, ...], str] = {}
        self.counts: dict[str, int] = {}
        self.failed: set[str] = set()
        self.composing: list[str] = []
        self.evaluator = Evaluator(
            program,
            Hooks(config=self.config_value, device=self.device_value,
                  instantiate=self.instantiate,
                  zonefile=lambda path, span: read_zone(path, span, sink, data_log),
                  directory=lambda path, span: read_directory(path, span, sink, data_log)),
            target=program.target, on_branch=branches.record)

    def config_value(self, name: str, span: Span) -> Value:
        if name in self.config.values:
            return self.config.values[name]
        raise NotConstant(f"`config.{name}` has no compile-time value", span)

    def run(self) -> DeviceGraph:
        for name in self.program.devices:
            with contextlib.suppress(NotConstant):  # reported where it went wrong
                self.device_value(name, self.program.devices[name].decl.name_span)
        return self.result

    def device_value(self, name: str, span: Span) -> Value:
        key = self.result.devices.get(name)
        if key is not None:
            return DeviceV(key)
        if name in self.failed:
            raise NotConstant(f"device `{name}` could not be built", span)
        decl = self.program.devices[name].decl
        self.failed.add(name)  # until it succeeds: a cycle reads as a failure
        try:
            value = self.evaluator.eval(decl.value)
        except EvalError as error:
            self.sink.add(error.code, error.span, error.message)
            raise NotConstant(f"device `{name}` could not be built", span) from None
        if not isinstance(value, DeviceV):
            raise NotConstant(f"device `{name}` is not an instance", span)
        self.failed.discard(name)
        self.result.devices[name] = value.key
        instance = self.result.instances[value.key]
        instance.names.append(name)
        self.result.graph.nodes[value.key]["names"] = list(instance.names)
        return value

    def instantiate(self, component: str, args: list[Value | None], call: ast.Call) -> Value:
        info = self.program.components[component]
        decl = info.decl
        const_args: list[tuple[str, Value]] = []
        device_args: list[tuple[str, str]] = []
        env_values: dict[str, Value] = {}
        for param, value in zip(info.params, args, strict=True):
            if value is None:  # a default
                assert param.decl.default is not None
                value = self.evaluator.eval(param.decl.default)
            env_values[param.name] = value
            if isinstance(value, DeviceV):
                device_args.append((param.name, value.key))
            else:
                const_args.append((param.name, value))
        if decl.composition is not None:
            if component in self.composing:
                raise EvalError("E0222", call.span, f"composition `{component}` uses itself")
            self.composing.append(component)
            try:
                chosen = self.evaluator.eval(decl.composition, Env(None, env_values))
            finally:
                self.composing.pop()
            if isinstance(chosen, DeviceV):
                via = self.result.instances[chosen.key].via
                if component not in via:
                    via.insert(0, component)
            return chosen
        if self.program.target not in info.targets:
            supported = ", ".join(info.targets)
            self.sink.add("E0601", call.span, f"component `{component}` is not available on "
                          f"target `{self.program.target}` (it supports: {supported})",
                          notes=[Note(f"`{component}` is declared here", decl.name_span)],
                          hint=f"choose it only there: `match target {{ Target.{info.targets[0]}"
                          f" => {component}(...), _ => ... }}`" if info.targets else None)
            raise NotConstant(f"`{component}` is not available on this target", call.span)
        identity = (component, tuple(const_args), tuple(device_args))
        key = self.by_call.get(identity)
        if key is None:
            key = self.new_key(component)
            self.by_call[identity] = key
            instance = Instance(key, component, tuple(const_args), tuple(device_args), call.span)
            self.result.instances[key] = instance
            graph = self.result.graph
            graph.add_node(key, component=component, label=instance.label, names=[])
            for param_name, target in device_args:
                graph.add_edge(key, target, param=param_name)
        return DeviceV(key)

    def new_key(self, component: str) -> str:
        self.counts[component] = self.counts.get(component, 0) + 1
        count = self.counts[component]
        return component if count == 1 else f"{component}#{count}"


def run_devices(program: CheckedProgram, config: ConfigValues, sink: DiagnosticSink,
                branches: BranchLog, data_log: DataLog | None = None) -> DeviceGraph:
    """The devices pass's entry point."""
    return DevicesPass(program, config, sink, branches, data_log).run()
