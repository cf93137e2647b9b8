"""The image pass: the last middle-end step.  A successful compilation becomes
an `Image`, frozen: everything a back end needs, so that no back end derives
anything from the program again.

Before (after dce)::

    Compilation(program, config, graph, folded, reachable, ...)   # all optional

After::

    Image(target="unix", name="dns",
          instances=(ip: host_ip(), udp4: socket_udp(ip), db: dns_zone(zone)  # built in
                     + its answer table, ...),                                # this order
          params=(--bind: Ipv4 = 0.0.0.0 (host_ip), --max-udp: u16 = 1232 requires ...),
          ports=(udp 53,), code=<residual main and functions>, ...)

Each kept instance is resolved to its implementation for the target (`impl
c` on hvt and unix, `impl python` on python), relative to the file that
declares the component.  A kept instance that has none, or whose file is
missing, is E0701 at the device (or at the `impl` path).  Compile-time data
comes from the hooks registered with the implementation
(`backends/components.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from specc import ast
from specc import types as T
from specc.backends.components import CompileTimeData, HookError, Hooks, hooks_for
from specc.check.loader import prelude_path
from specc.check.program import (
    CheckedProgram,
    ComponentInfo,
    FunctionInfo,
    InterfaceInfo,
    StructInfo,
    Symbol,
)
from specc.diagnostics import DiagnosticSink, Note
from specc.passes.branches import walk
from specc.passes.config import ConfigValues
from specc.passes.dce import Reachable
from specc.passes.devices import DeviceGraph, Instance
from specc.passes.fold import Folded
from specc.span import Span
from specc.values import CidrV, DeviceV, Ipv4V, Value, source_text

# The implementation language of each target.
LANGUAGE = {"hvt": "c", "unix": "c", "python": "python"}


@dataclass(frozen=True)
class Declarations:
    """The types and signatures the residual code refers to."""

    target: str
    enums: Mapping[str, ast.EnumDecl]
    structs: Mapping[str, StructInfo]
    # Structs the run-time core defines itself (those of the shipped prelude).
    runtime_structs: frozenset[str]
    interfaces: Mapping[str, InterfaceInfo]
    functions: Mapping[str, FunctionInfo]
    types: Mapping[object, T.Type]  # every checked expression's type


@dataclass(frozen=True)
class Code:
    """The residual program: kept functions (in the order first reached) and
    `main`, after fold and dce."""

    functions: tuple[ast.FnDecl, ...]
    main: ast.Block | None
    types: Mapping[object, object]  # nodes folding built -> their types
    references: Mapping[object, Symbol]
    checked_references: Mapping[object, Symbol]

    def symbol(self, node: object) -> Symbol | None:
        found = self.references.get(node)
        return found if found is not None else self.checked_references.get(node)


@dataclass(frozen=True)
class StateVar:
    """A top-level `var` the kept code reads or sets, with its initial value."""

    name: str
    type: T.Type
    initial: Value


@dataclass(frozen=True)
class ConstArg:
    name: str
    type: T.Type
    value: Value


@dataclass(frozen=True)
class DeviceArg:
    name: str  # the parameter
    instance: str  # the key of the instance it uses


@dataclass(frozen=True)
class ImageInstance:
    key: str
    component: str
    label: str  # `dns_zone(zone = zonefile("example.zone"))`
    names: tuple[str, ...]  # device names bound to it
    interface: str
    const_args: tuple[ConstArg, ...]
    device_args: tuple[DeviceArg, ...]
    # Operations called on it: by the program, or every operation of its
    # interface when another kept instance uses it.
    operations: frozenset[str]
    implementation: str  # absolute path of its file for this target
    data: tuple[CompileTimeData, ...]  # from its implementation's hooks
    span: Span  # the call that builds it
    event_arena: int = 0  # the most it takes from the per-event arena (bytes)
    # `impl LANG "PATH"`'s path, where a diagnostic about the file points.
    implementation_span: Span | None = None
    # The operations the program itself calls (a subset of `operations`): an
    # implementation of the user's own must define at least these.
    called: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuntimeParam:
    """A parameter read at boot: a `param` key, or one a component reads."""

    name: str
    flag: str  # as given on the command line, without `--`
    type: T.Type
    default: Value
    doc: str | None
    requires: ast.Expr | None  # the code, over the key itself
    requires_text: str | None  # as written in the spec
    requires_at: str | None  # "dns.spec:12:5"
    owner: str | None  # the instance that reads it; None for a `param` key

    @property
    def default_text(self) -> str:
        return source_text(self.default)


@dataclass(frozen=True)
class Port:
    protocol: str  # "udp" | "tcp"
    port: int


@dataclass(frozen=True)
class GuestAddress:
    """The address the image configures (hvt), for port forwarding: its static
    one, or (dhcp) the one the launcher's DHCP server hands out."""

    address: CidrV
    gateway: Ipv4V | None
    dhcp: bool = False


# What a DHCP client gets from a launcher: QEMU user networking's defaults
# (10.0.2.0/24, the host at .2, the first lease .15), which the DHCP server
# of `specc run --net tap` (specc/netns.py) hands out too.
DHCP_GUEST = GuestAddress(CidrV(0x0A00020F, 24), Ipv4V(0x0A000202), dhcp=True)


@dataclass(frozen=True)
class Image:
    target: str
    name: str
    description: str | None
    source: str  # the spec file, as given
    declarations: Declarations
    code: Code
    vars: tuple[StateVar, ...]  # in declaration order
    instances: tuple[ImageInstance, ...]  # in construction order
    devices: Mapping[str, str]  # kept device name -> instance key
    params: tuple[RuntimeParam, ...]
    ports: tuple[Port, ...]
    guest_address: GuestAddress | None
    runtime_sources: tuple[str, ...]  # the kept instances' implementation files
    # False for --no-specialize (passes/unspecialize.py): the C back ends then
    # keep every function of every object they link.
    specialized: bool = True
    # Unspecialized C builds: instances linked but never started (their
    # components are not used by the spec; passes/unspecialize.py).
    linked_only: frozenset[str] = frozenset()

    @property
    def language(self) -> str:
        return LANGUAGE[self.target]

    def instance(self, key: str) -> ImageInstance:
        return next(i for i in self.instances if i.key == key)


class GraphView:
    """An instance of the device graph as its hook sees it (the image pass's,
    and passes/unspecialize.py's trial of an instance it links)."""

    def __init__(self, graph: DeviceGraph, implementation: Callable[[Instance], str],
                 instance: Instance, specialized: bool = True) -> None:
        self.graph = graph
        self.implementation_of = implementation  # the instance's file, or ""
        self.instance = instance
        self._specialized = specialized  # False: --no-specialize

    @property
    def key(self) -> str:
        return self.instance.key

    def const(self, name: str) -> Value:
        for param, value in self.instance.const_args:
            if param == name:
                return value
        raise HookError(f"`{self.instance.component}` has no constant `{name}`")

    def device(self, param: str) -> GraphView:
        key = dict(self.instance.device_args).get(param)
        if key is None:
            raise HookError(f"`{self.instance.component}` has no device parameter `{param}`")
        return GraphView(self.graph, self.implementation_of, self.graph.instances[key],
                         self._specialized)

    def implementation(self) -> str:
        return self.implementation_of(self.instance)

    @property
    def specialized(self) -> bool:
        return self._specialized


class _ImageBuilder:
    def __init__(self, program: CheckedProgram, config: ConfigValues, graph: DeviceGraph,
                 folded: Folded, reachable: Reachable, sink: DiagnosticSink,
                 specialized: bool = True, boot_consts: frozenset[str] = frozenset(),
                 linked_only: frozenset[str] = frozenset(),
                 prepared: Mapping[str, tuple[CompileTimeData, ...]] | None = None) -> None:
        self.specialized = specialized
        self.linked_only = linked_only
        # Data hooks already run (passes/unspecialize.py's Linking.data): key -> their data.
        self.prepared = prepared or {}
        self.boot_consts = boot_consts  # const keys an unspecialized build reads at boot
        self.program = program
        self.config = config
        self.graph = graph
        self.folded = folded
        self.reachable = reachable
        self.sink = sink
        self.language = LANGUAGE[program.target]
        self.implementations: dict[str, str] = {}
        self.implementation_spans: dict[str, Span] = {}
        self.hooks: dict[str, Hooks] = {}

    def run(self) -> Image | None:
        order = self.graph.construction_order(self.reachable.instances)
        for key in order:
            self.resolve(self.graph.instances[key])
        if any(d.is_error for d in self.sink.items):
            return None
        instances = []
        for key in order:
            built = self.instance(self.graph.instances[key])
            if built is not None:
                instances.append(built)
        if any(d.is_error for d in self.sink.items):
            return None
        p = self.program
        unikernel = p.unikernel
        return Image(
            target=p.target,
            name=unikernel.name if unikernel else "image",
            description=unikernel.description if unikernel else None,
            source=p.root.path,
            declarations=self.declarations(),
            code=Code(tuple(self.folded.functions[n] for n in self.reachable.functions),
                      self.folded.main, MappingProxyType(self.folded.types),
                      MappingProxyType(self.folded.references),
                      MappingProxyType(p.references)),
            vars=tuple(StateVar(n, p.vars[n].type, self.folded.vars[n])
                       for n in self.reachable.vars),
            instances=tuple(instances),
            devices=MappingProxyType({name: self.graph.devices[name]
                                      for name in self.reachable.devices
                                      if name in self.graph.devices}),
            params=self.params(order),
            ports=self.ports(),
            guest_address=self.guest_address(order),
            runtime_sources=tuple(dict.fromkeys(self.implementations[k] for k in order)),
            specialized=self.specialized,
            linked_only=self.linked_only,
        )

    # ------------------------------------------------------------ instances
    def resolve(self, instance: Instance) -> None:
        """The instance's implementation file, or E0701."""
        info = self.program.components[instance.component]
        item = implementation_item(info, self.language)
        if item is None:
            device = f"device `{instance.names[0]}`" if instance.names else \
                f"`{instance.label}`"
            self.sink.add("E0701", self.location(instance),
                          f"{device} cannot be built for target `{self.program.target}`: "
                          f"component `{instance.component}` has no {_LANGUAGE_NAME[self.language]} "
                          "implementation",
                          notes=[Note(f"`{instance.component}` is declared here",
                                      info.decl.name_span)],
                          hint=f"add `impl {self.language} \"FILE\"` to `{instance.component}`, "
                          "or choose another component on this target with `match target`")
            return
        path = implementation_path(info, item)
        if not os.path.isfile(path):
            self.sink.add("E0701", item.path_span,
                          f"the {_LANGUAGE_NAME[self.language]} implementation of component "
                          f"`{instance.component}` does not exist: {path}",
                          notes=[Note("the component is built here", self.location(instance))],
                          hint="the path is relative to the file that declares the component")
            return
        self.implementations[instance.key] = path
        self.implementation_spans[instance.key] = item.path_span
        self.hooks[instance.key] = hooks_for(path)

    def location(self, instance: Instance) -> Span:
        """Where the user builds the instance: its call, or, when a shipped
        composition chose it (`tcp(ip)` choosing `direct_tcp(ip)`), the device's."""
        if instance.span.file == prelude_path() and instance.names:
            return self.program.devices[instance.names[0]].decl.value.span
        return instance.span

    def instance(self, instance: Instance) -> ImageInstance | None:
        info = self.program.components[instance.component]
        types = {p.name: p.type for p in info.params}
        hooks = self.hooks[instance.key]
        if not self.constants_hold(instance, hooks):
            return None
        data: tuple[CompileTimeData, ...] = ()
        if instance.key in self.prepared:
            data = self.prepared[instance.key]
        elif hooks.data is not None:
            try:
                data = hooks.data(GraphView(self.graph,
                                            lambda i: self.implementations.get(i.key, ""),
                                            instance, self.specialized))
            except (HookError, ValueError) as error:
                self.sink.add("E0701", self.location(instance), f"`{instance.label}` cannot be built for "
                              f"target `{self.program.target}`: {error}")
                return None
        return ImageInstance(
            key=instance.key,
            component=instance.component,
            label=instance.label,
            names=tuple(instance.names),
            interface=info.interface,
            const_args=tuple(ConstArg(n, types[n], v) for n, v in instance.const_args),
            device_args=tuple(DeviceArg(n, k) for n, k in instance.device_args),
            operations=frozenset(self.operations(instance, info)),
            implementation=self.implementations[instance.key],
            data=data,
            span=instance.span,
            event_arena=hooks.event_arena,
            implementation_span=self.implementation_spans.get(instance.key),
            called=frozenset(self.reachable.operations.get(instance.key, set())),
        )

    def constants_hold(self, instance: Instance, hooks: Hooks) -> bool:
        """Whether the instance's constants meet its implementation's bounds
        (E0403 at the instance for each that does not)."""
        args = dict(instance.const_args)
        held = True
        for rule in hooks.const_rules:
            if rule.name in args and not rule.holds(args[rule.name]):
                shown = str(args[rule.name])
                self.sink.add("E0403", self.location(instance),
                              f"`{instance.label}`: `{rule.name} = {shown}` must be {rule.wants}")
                held = False
        return held

    def operations(self, instance: Instance, info: ComponentInfo) -> set[str]:
        ops = set(self.reachable.operations.get(instance.key, set()))
        kept = set(self.reachable.instances)
        if any(source in kept for source in self.graph.graph.predecessors(instance.key)):
            interface = self.program.interfaces.get(info.interface)
            ops |= set(interface.ops) if interface is not None else set()
        return ops

    # ------------------------------------------------------------ the rest
    def declarations(self) -> Declarations:
        p = self.program
        prelude = prelude_path()
        return Declarations(
            target=p.target,
            enums=MappingProxyType(dict(p.enums)),
            structs=MappingProxyType(dict(p.structs)),
            runtime_structs=frozenset(n for n, s in p.structs.items()
                                      if s.decl.span.file == prelude),
            interfaces=MappingProxyType(dict(p.interfaces)),
            functions=MappingProxyType(dict(p.functions)),
            types=MappingProxyType(p.types),
        )

    def params(self, order: list[str]) -> tuple[RuntimeParam, ...]:
        params: list[RuntimeParam] = []
        for name, info in self.program.config.items():
            if info.decl.kind is not ast.KeyKind.PARAM and name not in self.boot_consts:
                continue
            requires = info.decl.requires
            params.append(RuntimeParam(
                name=name, flag=name.replace("_", "-"), type=info.type,
                default=self.config.param_defaults.get(name), doc=info.decl.doc,
                requires=requires,
                requires_text=self.text(requires) if requires is not None else None,
                requires_at=_position(requires.span) if requires is not None else None,
                owner=None))
        taken = {p.flag for p in params}
        for key in order:
            if key in self.linked_only:
                continue  # never started: its flags would change nothing
            for boot in self.hooks[key].boot_params:
                if boot.name in taken:
                    continue  # one --bind, however many instances read it
                taken.add(boot.name)
                params.append(RuntimeParam(boot.name, boot.name, boot.type, boot.default,
                                           boot.doc, None, None, None, key))
        return tuple(params)

    def text(self, e: ast.Expr) -> str:
        source = self.program.sources.get(e.span.file)
        return source.text[e.span.start:e.span.end] if source is not None else "requires"

    def ports(self) -> tuple[Port, ...]:
        """Every port a call in `main` opens with a constant (the ports a
        launcher forwards), by the `listens` hook of the instance called."""
        ports: list[Port] = []
        if self.folded.main is None:
            return ()
        for node in walk(self.folded.main):
            if not (isinstance(node, ast.Call) and isinstance(node.callee, ast.Field)
                    and node.args):
                continue
            key = self.device_key(node.callee.obj)
            if key is None or key not in self.hooks:
                continue
            protocol = self.hooks[key].listens.get(node.callee.name)
            first = node.args[0].value
            if isinstance(first, ast.ConfigRef) and first.key in self.boot_consts:
                # Unspecialized: the port the image opens unless booted with another.
                first = ast.Const(first.span, self.config.param_defaults[first.key])
            if protocol is None or not isinstance(first, ast.Const) \
                    or not isinstance(first.value, int) or isinstance(first.value, bool):
                continue
            port = Port(protocol, first.value)
            if port not in ports:
                ports.append(port)
        return tuple(ports)

    def device_key(self, e: ast.Expr) -> str | None:
        if isinstance(e, ast.Const) and isinstance(e.value, DeviceV):
            return e.value.key
        if isinstance(e, ast.Name):
            symbol = self.folded.symbol(e)
            if symbol is not None and symbol.kind == "device":
                return self.graph.devices.get(e.name)
        return None

    def guest_address(self, order: list[str]) -> GuestAddress | None:
        for key in order:
            if key in self.linked_only:
                continue  # never started: it configures no address
            if self.hooks[key].dhcp_client:
                return DHCP_GUEST
            consts = self.hooks[key].address_consts
            if consts is None:
                continue
            args = dict(self.graph.instances[key].const_args)
            address, gateway = args.get(consts[0]), args.get(consts[1])
            if isinstance(address, CidrV):
                return GuestAddress(address, gateway if isinstance(gateway, Ipv4V) else None)
        return None


_LANGUAGE_NAME = {"c": "C", "python": "Python"}


def implementation_item(info: ComponentInfo, language: str) -> ast.ImplItem | None:
    for item in info.decl.items:
        if isinstance(item, ast.ImplItem) and item.language == language:
            return item
    return None


def implementation_path(info: ComponentInfo, item: ast.ImplItem) -> str:
    """`impl LANG "PATH"`: relative to the file that declares the component."""
    base = os.path.dirname(os.path.abspath(info.decl.span.file))
    return os.path.realpath(os.path.join(base, item.path))


def _position(span: Span) -> str:
    return f"{os.path.basename(span.file)}:{span.line}:{span.column}"


def run_image(program: CheckedProgram, config: ConfigValues, graph: DeviceGraph,
              folded: Folded, reachable: Reachable, sink: DiagnosticSink, *,
              specialized: bool = True, boot_consts: frozenset[str] = frozenset(),
              linked_only: frozenset[str] = frozenset(),
              prepared: Mapping[str, tuple[CompileTimeData, ...]] | None = None) -> Image | None:
    """The image pass's entry point; None (and E0701s in ``sink``) when a kept
    instance cannot be built for the target.  ``prepared``: instance key ->
    the compile-time data its hook already gave, used instead of running it
    again (the instances `--no-specialize` links, passes/unspecialize.py)."""
    return _ImageBuilder(program, config, graph, folded, reachable, sink, specialized,
                         boot_consts, linked_only, prepared).run()


def unbuildable(program: CheckedProgram, graph: DeviceGraph, key: str) -> str | None:
    """Why the instance ``key`` cannot be built for the target, or None (for
    `specc explain`)."""
    instance = graph.instances[key]
    info = program.components[instance.component]
    language = LANGUAGE[program.target]
    item = implementation_item(info, language)
    if item is None:
        return (f"cannot be built for target `{program.target}`: component "
                f"`{instance.component}` has no {_LANGUAGE_NAME[language]} implementation")
    path = implementation_path(info, item)
    if not os.path.isfile(path):
        return (f"cannot be built for target `{program.target}`: the implementation of "
                f"`{instance.component}` does not exist: {path}")
    return None
