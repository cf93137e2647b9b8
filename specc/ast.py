"""The abstract syntax tree.

Every node is a dataclass with a :class:`~specc.span.Span`.  Nodes are never
changed after parsing: a pass that rewrites the tree builds new nodes with
``dataclasses.replace``.  They are not declared ``frozen`` only because that
doubles the cost of building them and of importing this module, both of
which every ``specc check`` pays.  Nodes compare by identity (``eq=False``)
so that passes can key side tables (types, resolved names, constant values)
by node cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from specc.records import Record
from specc.span import Span
from specc.values import Value

# ---------------------------------------------------------------------------
# Type expressions (what the user wrote where a type goes)


@dataclass(eq=False, slots=True, repr=False)
class TypeName(Record):
    """A type by name: ``u16``, ``Zone``, a struct, an enum or an interface."""

    span: Span
    name: str


@dataclass(eq=False, slots=True, repr=False)
class OptionType(Record):
    """``T?``: a value of ``inner`` or ``none``."""

    span: Span
    inner: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class ListType(Record):
    """``[T]``."""

    span: Span
    element: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class FnType(Record):
    """``fn(A, B) -> R``; ``result`` is None for a function without one."""

    span: Span
    params: tuple[TypeExpr, ...]
    result: TypeExpr | None


TypeExpr = TypeName | OptionType | ListType | FnType

# ---------------------------------------------------------------------------
# Expressions


@dataclass(eq=False, slots=True, repr=False)
class IntLit(Record):
    """An integer literal."""

    span: Span
    value: int


@dataclass(eq=False, slots=True, repr=False)
class BoolLit(Record):
    """``true`` or ``false``."""

    span: Span
    value: bool


@dataclass(eq=False, slots=True, repr=False)
class NoneLit(Record):
    """``none``."""

    span: Span


@dataclass(eq=False, slots=True, repr=False)
class StringLit(Record):
    """A string; ``parts`` alternate literal text and interpolated expressions."""

    span: Span
    parts: tuple[str | Expr, ...]


@dataclass(eq=False, slots=True, repr=False)
class BytesLit(Record):
    """A bytes literal (``b"..."``)."""

    span: Span
    value: bytes


@dataclass(eq=False, slots=True, repr=False)
class DurationLit(Record):
    """A duration (``5s``, ``100ms``), with the text as written."""

    span: Span
    nanoseconds: int
    text: str


@dataclass(eq=False, slots=True, repr=False)
class SizeLit(Record):
    """A size (``4KiB``), with the text as written."""

    span: Span
    size: int  # in bytes
    text: str


@dataclass(eq=False, slots=True, repr=False)
class Ipv4Lit(Record):
    """An IPv4 address literal (``10.0.0.2``)."""

    span: Span
    address: int  # host byte order


@dataclass(eq=False, slots=True, repr=False)
class CidrLit(Record):
    """An address with a prefix length (``10.0.0.2/24``)."""

    span: Span
    address: int  # host bits kept
    prefix: int


@dataclass(eq=False, slots=True, repr=False)
class Name(Record):
    """A name used as a value: a local, a constant, a function, a device."""

    span: Span
    name: str


@dataclass(eq=False, slots=True, repr=False)
class ConfigRef(Record):
    """``config.key``."""

    span: Span
    key: str
    key_span: Span


@dataclass(eq=False, slots=True, repr=False)
class TargetRef(Record):
    """The builtin constant ``target``."""

    span: Span


@dataclass(eq=False, slots=True, repr=False)
class Field(Record):
    """``obj.name``: a struct field, an enum value (``LogLevel.info``), a
    compile-time property (``zone.origin``) or, as a callee, a device operation."""

    span: Span
    obj: Expr
    name: str
    name_span: Span


@dataclass(eq=False, slots=True, repr=False)
class Index(Record):
    """``obj[index]``."""

    span: Span
    obj: Expr
    index: Expr


@dataclass(eq=False, slots=True, repr=False)
class Slice(Record):
    """``obj[lower:upper]``; either bound may be left out."""

    span: Span
    obj: Expr
    lower: Expr | None
    upper: Expr | None


@dataclass(eq=False, slots=True, repr=False)
class Arg(Record):
    """One argument of a call, by position or (``name = value``) by name."""

    span: Span
    name: str | None
    name_span: Span | None
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class Call(Record):
    """``callee(args)``."""

    span: Span
    callee: Expr
    args: tuple[Arg, ...]


class UnaryOp(Enum):
    NEG = "-"
    NOT = "not"


@dataclass(eq=False, slots=True, repr=False)
class Unary(Record):
    """``-x`` or ``not x``."""

    span: Span
    op: UnaryOp
    operand: Expr


@dataclass(eq=False, slots=True, repr=False)
class Binary(Record):
    """``left op right``."""

    span: Span
    op: str  # the operator as written: "+", "==", "and", "??", ...
    op_span: Span
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True, repr=False)
class Cast(Record):
    """``expr as type``."""

    span: Span
    expr: Expr
    type: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class IfExpr(Record):
    """``if cond then a else b``."""

    span: Span
    cond: Expr
    then: Expr
    else_: Expr


@dataclass(eq=False, slots=True, repr=False)
class MatchArm(Record):
    """``pattern => body`` in a match."""

    span: Span
    pattern: Pattern
    # An expression arm gives a value; a block or statement arm does not.
    body: Expr | Block | Stmt


@dataclass(eq=False, slots=True, repr=False)
class Match(Record):
    """``match e { ... }``, as an expression or (with statement arms) a statement."""

    span: Span
    scrutinee: Expr
    arms: tuple[MatchArm, ...]


@dataclass(eq=False, slots=True, repr=False)
class FieldInit(Record):
    """``name: value`` in a struct literal."""

    span: Span
    name: str
    name_span: Span
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class StructLit(Record):
    """``Name { field: value, ... }``."""

    span: Span
    name: str
    name_span: Span
    fields: tuple[FieldInit, ...]


@dataclass(eq=False, slots=True, repr=False)
class ListLit(Record):
    """``[a, b, ...]``."""

    span: Span
    items: tuple[Expr, ...]


@dataclass(eq=False, slots=True, repr=False)
class SomeExpr(Record):
    """``some(value)``."""

    span: Span
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class Const(Record):
    """A value computed at compile time; only the fold pass makes these."""

    span: Span
    value: Value


@dataclass(eq=False, slots=True, repr=False)
class ErrorExpr(Record):
    """Stands where the parser could not make sense of an expression."""

    span: Span


Expr = (
    IntLit | BoolLit | NoneLit | StringLit | BytesLit | DurationLit | SizeLit | Ipv4Lit | CidrLit
    | Name | ConfigRef | TargetRef | Field | Index | Slice | Call | Unary | Binary | Cast | IfExpr
    | Match | StructLit | ListLit | SomeExpr | ErrorExpr | Const
)

LITERAL_TYPES = (IntLit, BoolLit, NoneLit, StringLit, BytesLit, DurationLit, SizeLit, Ipv4Lit, CidrLit)

# ---------------------------------------------------------------------------
# Patterns


@dataclass(eq=False, slots=True, repr=False)
class WildcardPat(Record):
    """The pattern ``_``."""

    span: Span


@dataclass(eq=False, slots=True, repr=False)
class BindPat(Record):
    """A bare name in a pattern binds the matched value (``some(x)``)."""

    span: Span
    name: str


@dataclass(eq=False, slots=True, repr=False)
class LiteralPat(Record):
    """A pattern that matches one literal value."""

    span: Span
    value: Expr  # a literal, possibly negated


@dataclass(eq=False, slots=True, repr=False)
class EnumPat(Record):
    """A pattern that matches one enum value (``Target.hvt``)."""

    span: Span
    enum: str
    enum_span: Span
    value: str
    value_span: Span


@dataclass(eq=False, slots=True, repr=False)
class SomePat(Record):
    """``some(inner)`` as a pattern."""

    span: Span
    inner: Pattern


@dataclass(eq=False, slots=True, repr=False)
class NonePat(Record):
    """``none`` as a pattern."""

    span: Span


@dataclass(eq=False, slots=True, repr=False)
class AltPat(Record):
    """``a | b``: matches when any of the alternatives does."""

    span: Span
    alternatives: tuple[Pattern, ...]


Pattern = WildcardPat | BindPat | LiteralPat | EnumPat | SomePat | NonePat | AltPat

# ---------------------------------------------------------------------------
# Statements


@dataclass(eq=False, slots=True, repr=False)
class Block(Record):
    """``{ statements }``."""

    span: Span
    stmts: tuple[Stmt, ...]


@dataclass(eq=False, slots=True, repr=False)
class Let(Record):
    """``let name: type = value`` (or ``var``)."""

    span: Span
    name: str
    name_span: Span
    type: TypeExpr | None
    value: Expr
    mutable: bool  # `var` rather than `let`


@dataclass(eq=False, slots=True, repr=False)
class Assign(Record):
    """``target = value`` and the compound assignments."""

    span: Span
    target: str
    target_span: Span
    op: str  # "=", "+=", "-=", "*="
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class ExprStmt(Record):
    """An expression used as a statement (a call, mostly)."""

    span: Span
    expr: Expr


@dataclass(eq=False, slots=True, repr=False)
class If(Record):
    """``if cond { ... } else ...``."""

    span: Span
    cond: Expr
    then: Block
    else_: Block | If | IfLet | None


@dataclass(eq=False, slots=True, repr=False)
class IfLet(Record):
    """``if let name = value { ... } else ...``: ``then`` runs when ``value`` is not none."""

    span: Span
    name: str
    name_span: Span
    value: Expr
    then: Block
    else_: Block | If | IfLet | None


@dataclass(eq=False, slots=True, repr=False)
class While(Record):
    """``while cond { ... }``."""

    span: Span
    cond: Expr
    body: Block


@dataclass(eq=False, slots=True, repr=False)
class For(Record):
    """``for x in xs`` (``upper`` is None) or ``for i in a..b``."""

    span: Span
    name: str
    name_span: Span
    iterable: Expr
    upper: Expr | None
    body: Block


@dataclass(eq=False, slots=True, repr=False)
class Return(Record):
    """``return`` or ``return value``."""

    span: Span
    value: Expr | None


@dataclass(eq=False, slots=True, repr=False)
class Break(Record):
    """``break``."""

    span: Span


@dataclass(eq=False, slots=True, repr=False)
class Continue(Record):
    """``continue``."""

    span: Span


Stmt = Let | Assign | ExprStmt | If | IfLet | While | For | Return | Break | Continue | Block

# ---------------------------------------------------------------------------
# Declarations


@dataclass(eq=False, slots=True, repr=False)
class Unikernel(Record):
    """The ``unikernel NAME "description"`` header of an application file."""

    span: Span
    name: str
    name_span: Span
    description: str | None
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class Use(Record):
    """``use "path"``: another spec file whose declarations this one sees."""

    span: Span
    path: str
    path_span: Span


@dataclass(eq=False, slots=True, repr=False)
class EnumVariant(Record):
    """One value of an enum declaration."""

    span: Span
    name: str
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class EnumDecl(Record):
    """``enum Name { a, b, ... }``."""

    span: Span
    name: str
    name_span: Span
    variants: tuple[EnumVariant, ...]
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class FieldDecl(Record):
    """``name: type`` in a struct declaration."""

    span: Span
    name: str
    name_span: Span
    type: TypeExpr
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class StructDecl(Record):
    """``struct Name { fields }``."""

    span: Span
    name: str
    name_span: Span
    fields: tuple[FieldDecl, ...]
    doc: str | None


class KeyKind(Enum):
    CONST = "const"
    PARAM = "param"


@dataclass(eq=False, slots=True, repr=False)
class ConfigKey(Record):
    """A ``const`` or ``param`` key of the config block, with its default and ``requires``."""

    span: Span
    kind: KeyKind
    name: str
    name_span: Span
    type: TypeExpr
    default: Expr
    requires: Expr | None
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class ConfigBlock(Record):
    """``config { keys }``."""

    span: Span
    keys: tuple[ConfigKey, ...]


@dataclass(eq=False, slots=True, repr=False)
class Param(Record):
    """``name: type`` in a function's parameter list."""

    span: Span
    name: str
    name_span: Span
    type: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class OpDecl(Record):
    """An operation of an interface."""

    span: Span
    name: str
    name_span: Span
    params: tuple[Param, ...]
    result: TypeExpr | None
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class InterfaceDecl(Record):
    """``interface Name { operations }``."""

    span: Span
    name: str
    name_span: Span
    ops: tuple[OpDecl, ...]
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class ComponentParam(Record):
    """A component's parameter: a device, or a ``const`` value with an optional default."""

    span: Span
    name: str
    name_span: Span
    type: TypeExpr
    is_const: bool
    default: Expr | None


@dataclass(eq=False, slots=True, repr=False)
class TargetsItem(Record):
    """``targets hvt, unix`` in a component body."""

    span: Span
    targets: tuple[tuple[str, Span], ...]


@dataclass(eq=False, slots=True, repr=False)
class ImplItem(Record):
    """``impl c "path"`` (or ``impl python``) in a component body."""

    span: Span
    language: str
    language_span: Span
    path: str
    path_span: Span


@dataclass(eq=False, slots=True, repr=False)
class DropItem(Record):
    """``drop op when condition`` in a component body."""

    span: Span
    op: str
    op_span: Span
    when: Expr


ComponentItem = TargetsItem | ImplItem | DropItem


@dataclass(eq=False, slots=True, repr=False)
class ComponentDecl(Record):
    """``component name(params) -> Interface`` with a body or a composition."""

    span: Span
    name: str
    name_span: Span
    params: tuple[ComponentParam, ...]
    interface: TypeName
    # Either a body of items, or a composition: an expression over components.
    items: tuple[ComponentItem, ...]
    composition: Expr | None
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class DeviceDecl(Record):
    """``name = expression`` in the devices block."""

    span: Span
    name: str
    name_span: Span
    value: Expr
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class DevicesBlock(Record):
    """``devices { declarations }``."""

    span: Span
    devices: tuple[DeviceDecl, ...]


@dataclass(eq=False, slots=True, repr=False)
class FnDecl(Record):
    """``fn name(params) -> result { body }``."""

    span: Span
    name: str
    name_span: Span
    params: tuple[Param, ...]
    result: TypeExpr | None
    body: Block
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class VarDecl(Record):
    """A top-level ``var``: state that lives for the whole run (v1.1)."""

    span: Span
    name: str
    name_span: Span
    type: TypeExpr | None
    value: Expr  # a constant: the value the variable starts with
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class MainDecl(Record):
    """``main { body }``."""

    span: Span
    body: Block
    doc: str | None


Decl = (
    Unikernel | Use | EnumDecl | StructDecl | ConfigBlock | InterfaceDecl | ComponentDecl
    | DevicesBlock | FnDecl | MainDecl | VarDecl
)


@dataclass(frozen=True, slots=True, repr=False)
class Comment(Record):
    """A comment, kept for the formatter."""

    span: Span
    text: str  # including the leading `#`


@dataclass(eq=False, slots=True, repr=False)
class Module(Record):
    """One parsed file."""

    path: str
    decls: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default=())
    # Names declared in statements the parser had to skip after a syntax
    # error: their uses are not reported as unknown on top of that error.
    broken_names: frozenset[str] = field(default=frozenset())
