"""What the checker knows about a program: its declarations resolved to types,
the type of every expression, and what every name refers to."""

from __future__ import annotations

from dataclasses import dataclass, field

from specc import ast
from specc.records import Record, assigned_at_run_time
from specc.span import SourceFile, Span
from specc.types import DeviceT, ErrorT, FnT, Type


@dataclass(repr=False)
class FunctionInfo(Record):
    """A function the program can call: declared, or a builtin."""

    name: str
    type: FnT
    param_names: tuple[str, ...]
    decl: ast.FnDecl | None  # None for builtins
    doc: str | None = None


@dataclass(repr=False)
class StructInfo(Record):
    """A struct declaration with its fields' types."""

    decl: ast.StructDecl
    fields: dict[str, Type] = field(default_factory=dict)


@dataclass(repr=False)
class OperationInfo(Record):
    """An operation of an interface."""

    name: str
    type: FnT
    param_names: tuple[str, ...]
    decl: ast.OpDecl


@dataclass(repr=False)
class InterfaceInfo(Record):
    """An interface declaration with its operations."""

    decl: ast.InterfaceDecl
    ops: dict[str, OperationInfo] = field(default_factory=dict)


@dataclass(repr=False)
class ComponentParamInfo(Record):
    """A component parameter with its type."""

    name: str
    type: Type
    is_const: bool
    decl: ast.ComponentParam


@dataclass(repr=False)
class ComponentInfo(Record):
    """A component declaration: its parameters, interface and targets."""

    decl: ast.ComponentDecl
    params: list[ComponentParamInfo] = field(default_factory=list)
    interface: str = ""
    targets: tuple[str, ...] = ("hvt", "unix", "python")


@dataclass(repr=False)
class DeviceInfo(Record):
    """A device of the devices block, with the interface it provides."""

    decl: ast.DeviceDecl
    type: DeviceT | ErrorT


@dataclass(repr=False)
class ConfigKeyInfo(Record):
    """A config key with its type."""

    decl: ast.ConfigKey
    type: Type


@dataclass(repr=False)
class VarInfo(Record):
    """A top-level `var` (v1.1): run-time state shared by `main` and every function."""

    decl: ast.VarDecl
    type: Type
    used: bool = False  # read somewhere (a plain `x = e` alone does not count)


@assigned_at_run_time  # one for every name a check resolves
@dataclass(frozen=True, slots=True, repr=False)
class Symbol(Record):
    """What a name refers to, for hover, go-to-definition and references."""

    kind: str  # "function", "device", "component", "config", "local", "param", "enum",
    # "variant", "struct", "field", "interface", "operation", "builtin", "type",
    # "global-var" (a top-level `var`)
    name: str
    span: Span | None  # where it is declared; None for builtins
    type: Type | None
    doc: str | None = None


@dataclass(repr=False)
class CheckedProgram(Record):
    """The result of the front end for one application file."""

    root: ast.Module
    used: list[ast.Module]
    prelude: ast.Module
    sources: dict[str, SourceFile]
    target: str
    unikernel: ast.Unikernel | None = None
    main: ast.MainDecl | None = None
    enums: dict[str, ast.EnumDecl] = field(default_factory=dict)
    structs: dict[str, StructInfo] = field(default_factory=dict)
    interfaces: dict[str, InterfaceInfo] = field(default_factory=dict)
    components: dict[str, ComponentInfo] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    config: dict[str, ConfigKeyInfo] = field(default_factory=dict)
    vars: dict[str, VarInfo] = field(default_factory=dict)  # top-level `var`s, in order
    # Side tables keyed by AST node (nodes hash by identity).
    types: dict[object, Type] = field(default_factory=dict)
    references: dict[object, Symbol] = field(default_factory=dict)
    # The initializer of each `let`, by the span of its name (for stages).
    let_values: dict[Span, ast.Expr] = field(default_factory=dict)
    # Functions whose calls on constants are themselves constant.
    pure_functions: set[str] = field(default_factory=set)
    # Every `zonefile(...)` and `dir(...)` call, for reading their data at check time.
    data_calls: list[ast.Call] = field(default_factory=list)
    # Why each impure function is not pure (for stage messages).
    impurity: dict[str, str] = field(default_factory=dict)

    @property
    def modules(self) -> list[ast.Module]:
        return [self.prelude, *self.used, self.root]

    @property
    def broken_names(self) -> frozenset[str]:
        """Names declared where the parser skipped code after a syntax error."""
        return self.root.broken_names.union(*(m.broken_names for m in self.used))
