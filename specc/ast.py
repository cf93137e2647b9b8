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
    span: Span
    name: str


@dataclass(eq=False, slots=True, repr=False)
class OptionType(Record):
    span: Span
    inner: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class ListType(Record):
    span: Span
    element: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class FnType(Record):
    span: Span
    params: tuple[TypeExpr, ...]
    result: TypeExpr | None


TypeExpr = TypeName | OptionType | ListType | FnType

# ---------------------------------------------------------------------------
# Expressions


@dataclass(eq=False, slots=True, repr=False)
class IntLit(Record):
    span: Span
    value: int


@dataclass(eq=False, slots=True, repr=False)
class BoolLit(Record):
    span: Span
    value: bool


@dataclass(eq=False, slots=True, repr=False)
class NoneLit(Record):
    span: Span


@dataclass(eq=False, slots=True, repr=False)
class StringLit(Record):
    """A string; ``parts`` alternate literal text and interpolated expressions."""

    span: Span
    parts: tuple[str | Expr, ...]


@dataclass(eq=False, slots=True, repr=False)
class BytesLit(Record):
    span: Span
    value: bytes


@dataclass(eq=False, slots=True, repr=False)
class DurationLit(Record):
    span: Span
    nanoseconds: int
    text: str


@dataclass(eq=False, slots=True, repr=False)
class SizeLit(Record):
    span: Span
    size: int  # in bytes
    text: str


@dataclass(eq=False, slots=True, repr=False)
class Ipv4Lit(Record):
    span: Span
    address: int  # host byte order


@dataclass(eq=False, slots=True, repr=False)
class CidrLit(Record):
    span: Span
    address: int  # host bits kept
    prefix: int


@dataclass(eq=False, slots=True, repr=False)
class Name(Record):
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
    span: Span
    obj: Expr
    index: Expr


@dataclass(eq=False, slots=True, repr=False)
class Slice(Record):
    span: Span
    obj: Expr
    lower: Expr | None
    upper: Expr | None


@dataclass(eq=False, slots=True, repr=False)
class Arg(Record):
    span: Span
    name: str | None
    name_span: Span | None
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class Call(Record):
    span: Span
    callee: Expr
    args: tuple[Arg, ...]


class UnaryOp(Enum):
    NEG = "-"
    NOT = "not"


@dataclass(eq=False, slots=True, repr=False)
class Unary(Record):
    span: Span
    op: UnaryOp
    operand: Expr


@dataclass(eq=False, slots=True, repr=False)
class Binary(Record):
    span: Span
    op: str  # the operator as written: "+", "==", "and", "??", ...
    op_span: Span
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True, repr=False)
class Cast(Record):
    span: Span
    expr: Expr
    type: TypeExpr


@dataclass(eq=False, slots=True, repr=False)
class IfExpr(Record):
    span: Span
    cond: Expr
    then: Expr
    else_: Expr


@dataclass(eq=False, slots=True, repr=False)
class MatchArm(Record):
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
    span: Span
    name: str
    name_span: Span
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class StructLit(Record):
    span: Span
    name: str
    name_span: Span
    fields: tuple[FieldInit, ...]


@dataclass(eq=False, slots=True, repr=False)
class ListLit(Record):
    span: Span
    items: tuple[Expr, ...]


@dataclass(eq=False, slots=True, repr=False)
class SomeExpr(Record):
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
    span: Span


@dataclass(eq=False, slots=True, repr=False)
class BindPat(Record):
    """A bare name in a pattern binds the matched value (``some(x)``)."""

    span: Span
    name: str


@dataclass(eq=False, slots=True, repr=False)
class LiteralPat(Record):
    span: Span
    value: Expr  # a literal, possibly negated


@dataclass(eq=False, slots=True, repr=False)
class EnumPat(Record):
    span: Span
    enum: str
    enum_span: Span
    value: str
    value_span: Span


@dataclass(eq=False, slots=True, repr=False)
class SomePat(Record):
    span: Span
    inner: Pattern


@dataclass(eq=False, slots=True, repr=False)
class NonePat(Record):
    span: Span


@dataclass(eq=False, slots=True, repr=False)
class AltPat(Record):
    span: Span
    alternatives: tuple[Pattern, ...]


Pattern = WildcardPat | BindPat | LiteralPat | EnumPat | SomePat | NonePat | AltPat

# ---------------------------------------------------------------------------
# Statements


@dataclass(eq=False, slots=True, repr=False)
class Block(Record):
    span: Span
    stmts: tuple[Stmt, ...]


@dataclass(eq=False, slots=True, repr=False)
class Let(Record):
    span: Span
    name: str
    name_span: Span
    type: TypeExpr | None
    value: Expr
    mutable: bool  # `var` rather than `let`


@dataclass(eq=False, slots=True, repr=False)
class Assign(Record):
    span: Span
    target: str
    target_span: Span
    op: str  # "=", "+=", "-=", "*="
    value: Expr


@dataclass(eq=False, slots=True, repr=False)
class ExprStmt(Record):
    span: Span
    expr: Expr


@dataclass(eq=False, slots=True, repr=False)
class If(Record):
    span: Span
    cond: Expr
    then: Block
    else_: Block | If | IfLet | None


@dataclass(eq=False, slots=True, repr=False)
class IfLet(Record):
    span: Span
    name: str
    name_span: Span
    value: Expr
    then: Block
    else_: Block | If | IfLet | None


@dataclass(eq=False, slots=True, repr=False)
class While(Record):
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
    span: Span
    value: Expr | None


@dataclass(eq=False, slots=True, repr=False)
class Break(Record):
    span: Span


@dataclass(eq=False, slots=True, repr=False)
class Continue(Record):
    span: Span


Stmt = Let | Assign | ExprStmt | If | IfLet | While | For | Return | Break | Continue | Block

# ---------------------------------------------------------------------------
# Declarations


@dataclass(eq=False, slots=True, repr=False)
class Unikernel(Record):
    span: Span
    name: str
    name_span: Span
    description: str | None
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class Use(Record):
    span: Span
    path: str
    path_span: Span


@dataclass(eq=False, slots=True, repr=False)
class EnumVariant(Record):
    span: Span
    name: str
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class EnumDecl(Record):
    span: Span
    name: str
    name_span: Span
    variants: tuple[EnumVariant, ...]
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class FieldDecl(Record):
    span: Span
    name: str
    name_span: Span
    type: TypeExpr
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class StructDecl(Record):
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
    span: Span
    keys: tuple[ConfigKey, ...]


@dataclass(eq=False, slots=True, repr=False)
class Param(Record):
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
    span: Span
    name: str
    name_span: Span
    ops: tuple[OpDecl, ...]
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class ComponentParam(Record):
    span: Span
    name: str
    name_span: Span
    type: TypeExpr
    is_const: bool
    default: Expr | None


@dataclass(eq=False, slots=True, repr=False)
class TargetsItem(Record):
    span: Span
    targets: tuple[tuple[str, Span], ...]


@dataclass(eq=False, slots=True, repr=False)
class ImplItem(Record):
    span: Span
    language: str
    language_span: Span
    path: str
    path_span: Span


@dataclass(eq=False, slots=True, repr=False)
class DropItem(Record):
    span: Span
    op: str
    op_span: Span
    when: Expr


ComponentItem = TargetsItem | ImplItem | DropItem


@dataclass(eq=False, slots=True, repr=False)
class ComponentDecl(Record):
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
    span: Span
    name: str
    name_span: Span
    value: Expr
    doc: str | None


@dataclass(eq=False, slots=True, repr=False)
class DevicesBlock(Record):
    span: Span
    devices: tuple[DeviceDecl, ...]


@dataclass(eq=False, slots=True, repr=False)
class FnDecl(Record):
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
    span: Span
    body: Block
    doc: str | None


Decl = (
    Unikernel | Use | EnumDecl | StructDecl | ConfigBlock | InterfaceDecl | ComponentDecl
    | DevicesBlock | FnDecl | MainDecl | VarDecl
)


@dataclass(frozen=True, slots=True, repr=False)
class Comment(Record):
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
