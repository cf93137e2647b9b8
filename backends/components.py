"""What a shipped component's implementation tells the compiler, beside its code.

A component is its declaration (in a `.spec` file) plus its implementation
files (`impl c "..."`, `impl python "..."`).  Some implementations need more
than their constant arguments: the DNS zone needs its answers precomputed,
the HTTP server its responses baked, `host_ip` a boot-time `--bind`.  Each
such implementation registers `Hooks` here, keyed by its implementation
files, in a module that lives beside it (`backends/dns/component.py`,
`backends/http/component.py`, `backends/net/component.py`).  The image pass
(`passes/image.py`) asks this registry; no emitter names a component.

A user's own component has no hooks: its constant arguments reach it as
described in docs/components.md.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from specc import types as T
from specc.values import Value

BACKENDS_DIR = os.path.dirname(os.path.realpath(__file__))
# The modules that register hooks (imported once, on first use).
HOOK_MODULES = ("specc.backends.dns.component", "specc.backends.http.component",
                "specc.backends.net.component")


@dataclass(frozen=True)
class CParts:
    """How the C back end includes one item of compile-time data."""

    macros: tuple[str, ...]  # lines of the instance's translation unit, before its code
    files: tuple[tuple[str, str], ...]  # generated C files: name -> text
    sources: tuple[str, ...]  # run-time C files to link (absolute paths)


class CompileTimeData(Protocol):
    """An item of compile-time data of one instance (a frozen dataclass)."""

    def describe(self) -> str:
        """One line for `--dump-after image`."""
        ...

    def python_constants(self) -> Mapping[str, str]:
        """Class constants of the instance's Python class: name -> expression."""
        ...

    def c_parts(self, symbol: str) -> CParts:
        """The instance's C; ``symbol`` is the instance's unique C prefix."""
        ...


class InstanceView(Protocol):
    """What a hook sees of an instance and of the instances it uses."""

    @property
    def key(self) -> str: ...

    def const(self, name: str) -> Value: ...

    def device(self, param: str) -> InstanceView: ...

    def implementation(self) -> str:
        """The instance's implementation file for this target (absolute)."""
        ...

    @property
    def specialized(self) -> bool:
        """False in an unspecialized build (`--no-specialize`)."""
        ...


class HookError(Exception):
    """An instance its hook cannot prepare (reported as E0701 at the instance)."""


@dataclass(frozen=True)
class ConstRule:
    """A bound on one of a component's constant arguments, checked when the
    image is built: a value the implementation cannot take is a located E0403
    at the device, not a failed C build or a trap at boot."""

    name: str
    holds: Callable[[Value], bool]
    wants: str  # what the value must be, completing "must be ..."


@dataclass(frozen=True)
class BootParam:
    """A parameter read at boot on behalf of a component (`host_ip`'s `--bind`)."""

    name: str
    type: T.Type
    default: Value
    doc: str


@dataclass(frozen=True)
class Hooks:
    # Compile-time data, from the instance's constants and the instances it uses.
    data: Callable[[InstanceView], tuple[CompileTimeData, ...]] | None = None
    # Operations that open a port: operation name -> protocol ("udp" | "tcp");
    # the port is the operation's first argument.
    listens: Mapping[str, str] = field(default_factory=dict)
    boot_params: tuple[BootParam, ...] = ()
    # The guest's static address, for a launcher's port forwarding: the name of
    # the Cidr constant and of the optional gateway constant.
    address_consts: tuple[str, str] | None = None
    # The guest takes its address by DHCP from the launcher's network.
    dhcp_client: bool = False
    # The most the implementation takes from the per-event arena in one event
    # (bytes): the image refuses to start with less (C targets).
    event_arena: int = 0
    # Bounds on constant arguments (ConstRule), in the order they are checked.
    const_rules: tuple[ConstRule, ...] = ()


_REGISTRY: dict[str, Hooks] = {}
_loaded = False


def register(hooks: Hooks, *implementations: str) -> None:
    """Attach ``hooks`` to implementation files, given relative to backends/."""
    for path in implementations:
        _REGISTRY[os.path.realpath(os.path.join(BACKENDS_DIR, path))] = hooks


def hooks_for(implementation: str) -> Hooks:
    """The hooks of an implementation file (absolute path); none for most."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in HOOK_MODULES:
            importlib.import_module(module)
    return _REGISTRY.get(os.path.realpath(implementation), Hooks())
