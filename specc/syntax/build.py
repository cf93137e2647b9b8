"""Grammar callbacks that build AST nodes as the LALR parser reduces.

Lists are built as immutable cons pairs ``(rest, item)`` and flattened by the
rule that closes them: the parser's error recovery restores earlier parser
states, so nothing already on its value stack may change afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specc import ast
from specc.span import Span
from specc.syntax import literals
from specc.syntax.tokens import COLUMN, END, END_COLUMN, LINE, START, TYPE, VALUE, Token

Cons = tuple[Any, Any] | None
Children = list[Any]


def flatten(cons: Cons) -> tuple[Any, ...]:
    items: list[Any] = []
    while cons is not None:
        cons, item = cons
        items.append(item)
    items.reverse()
    return tuple(items)


class AstBuilder:
    """One per parsed file: knows the path, the doc comments and how to parse
    an interpolated expression."""

    def __init__(
        self,
        path: str,
        docs: dict[int, str],
        report: Callable[[str, Span, str], None],
        parse_fragment: Callable[[int, str], ast.Expr],
    ) -> None:
        self.path = path
        self.docs = docs
        self.report = report
        self.parse_fragment = parse_fragment

    # ------------------------------------------------------------ helpers
    def tspan(self, tok: Token) -> Span:
        line = tok[LINE]
        return Span(self.path, line, tok[COLUMN], line, tok[END_COLUMN], tok[START], tok[END])

    def span(self, first: Any, last: Any) -> Span:
        """From the start of ``first`` to the end of ``last`` (tokens or nodes):
        one Span, not one per end and a third for the whole (a quarter of the
        builder's time went to making spans)."""
        if first.__class__ is tuple:  # a token
            line, column, start = first[LINE], first[COLUMN], first[START]
        else:
            a = first.span
            line, column, start = a.line, a.column, a.start
        if last.__class__ is tuple:
            return Span(self.path, line, column, last[LINE], last[END_COLUMN], start, last[END])
        b = last.span
        return Span(self.path, line, column, b.end_line, b.end_column, start, b.end)

    def doc(self, tok: Token) -> str | None:
        return self.docs.get(tok[START])

    def literal_problem(self, tok: Token, problem: literals.LiteralProblem) -> None:
        start = (tok[START] or 0) + problem.offset
        line, column = tok[LINE] or 1, (tok[COLUMN] or 1) + problem.offset
        sp = Span(self.path, line, column, line, column + problem.length, start,
                  start + problem.length)
        self.report(problem.code, sp, problem.message)

    def plain_string(self, tok: Token) -> str:
        """A string that must not interpolate (paths, descriptions)."""
        parts, problems = literals.decode_string(tok[VALUE])
        for problem in problems:
            self.literal_problem(tok, problem)
        if any(isinstance(p, literals.Interpolation) for p in parts):
            self.report("E0006", self.tspan(tok), "interpolation is not allowed in this string")
        return "".join(p for p in parts if isinstance(p, str))

    @staticmethod
    def cons(c: Children) -> Cons:
        return (None, c[0]) if len(c) == 1 else (c[0], c[-1])

    # lists (all cons)
    decls = variants = field_decls = config_keys = op_decls = param_list = cons
    comp_param_list = comp_items = target_names = device_decls = type_list = stmts = cons
    arg_list = expr_list = field_inits = arms = cons

    @staticmethod
    def first(c: Children) -> Any:
        return c[0]

    @staticmethod
    def second(c: Children) -> Any:
        return c[1]

    sep = key_kind = let_kw = assign_op = compare_op = const_kw = first
    requires = result = default = type_annotation = range_upper = else_block = else_if = second

    @staticmethod
    def params(c: Children) -> tuple[Any, ...]:
        return flatten(c[0])

    comp_params = args = params

    # ------------------------------------------------------------ declarations
    def file(self, c: Children) -> tuple[ast.Decl, ...]:
        return flatten(c[0])

    def unikernel(self, c: Children) -> ast.Unikernel:
        kw, name, desc = c
        description = self.plain_string(desc) if desc is not None else None
        return ast.Unikernel(self.span(kw, desc or name), name[VALUE], self.tspan(name),
                             description, self.doc(kw))

    def use(self, c: Children) -> ast.Use:
        kw, path = c
        return ast.Use(self.span(kw, path), self.plain_string(path), self.tspan(path))

    def enum_decl(self, c: Children) -> ast.EnumDecl:
        kw, name, _, variants, _, close = c
        return ast.EnumDecl(self.span(kw, close), name[VALUE], self.tspan(name), flatten(variants),
                            self.doc(kw))

    def variant(self, c: Children) -> ast.EnumVariant:
        (name,) = c
        return ast.EnumVariant(self.tspan(name), name[VALUE], self.doc(name))

    def struct_decl(self, c: Children) -> ast.StructDecl:
        kw, name, _, fields, _, close = c
        return ast.StructDecl(self.span(kw, close), name[VALUE], self.tspan(name), flatten(fields),
                              self.doc(kw))

    def field_decl(self, c: Children) -> ast.FieldDecl:
        name, _, type_ = c
        return ast.FieldDecl(self.span(name, type_), name[VALUE], self.tspan(name), type_,
                             self.doc(name))

    def config_block(self, c: Children) -> ast.ConfigBlock:
        kw, _, keys, _, close = c
        return ast.ConfigBlock(self.span(kw, close), flatten(keys))

    def config_key(self, c: Children) -> ast.ConfigKey:
        kind, name, _, type_, _, value, requires = c
        return ast.ConfigKey(self.span(kind, requires or value), ast.KeyKind(kind[VALUE]),
                             name[VALUE], self.tspan(name), type_, value, requires, self.doc(kind))

    def interface_decl(self, c: Children) -> ast.InterfaceDecl:
        kw, name, _, ops, _, close = c
        return ast.InterfaceDecl(self.span(kw, close), name[VALUE], self.tspan(name),
                                 flatten(ops), self.doc(kw))

    def op_decl(self, c: Children) -> ast.OpDecl:
        kw, name, _, params, close, result = c
        return ast.OpDecl(self.span(kw, result or close), name[VALUE], self.tspan(name),
                          params or (), result, self.doc(kw))

    def param(self, c: Children) -> ast.Param:
        name, _, type_ = c
        return ast.Param(self.span(name, type_), name[VALUE], self.tspan(name), type_)

    def component_decl(self, c: Children) -> ast.ComponentDecl:
        kw, name, _, params, _, _, iface, body = c
        kind, payload, last = body if body is not None else ("block", None, iface)
        items = flatten(payload) if kind == "block" else ()
        composition = payload if kind == "composition" else None
        return ast.ComponentDecl(
            self.span(kw, last), name[VALUE], self.tspan(name), params or (),
            ast.TypeName(self.tspan(iface), iface[VALUE]), items, composition, self.doc(kw),
        )

    @staticmethod
    def comp_block(c: Children) -> tuple[str, Any, Any]:
        return ("block", c[1], c[3])

    @staticmethod
    def comp_composition(c: Children) -> tuple[str, Any, Any]:
        return ("composition", c[1], c[1])

    def comp_param(self, c: Children) -> ast.ComponentParam:
        const, name, _, type_, default = c
        return ast.ComponentParam(self.span(const or name, default or type_), name[VALUE],
                                  self.tspan(name), type_, const is not None, default)

    def targets_item(self, c: Children) -> ast.TargetsItem:
        kw, names = c
        targets = tuple((t[VALUE], self.tspan(t)) for t in flatten(names))
        return ast.TargetsItem(self.span(kw, flatten(names)[-1]), targets)

    def impl_item(self, c: Children) -> ast.ImplItem:
        kw, lang, path = c
        return ast.ImplItem(self.span(kw, path), lang[VALUE], self.tspan(lang),
                            self.plain_string(path), self.tspan(path))

    def drop_item(self, c: Children) -> ast.DropItem:
        kw, op, _, cond = c
        return ast.DropItem(self.span(kw, cond), op[VALUE], self.tspan(op), cond)

    def devices_block(self, c: Children) -> ast.DevicesBlock:
        kw, _, devices, _, close = c
        return ast.DevicesBlock(self.span(kw, close), flatten(devices))

    def device_decl(self, c: Children) -> ast.DeviceDecl:
        name, _, value = c
        return ast.DeviceDecl(self.span(name, value), name[VALUE], self.tspan(name), value,
                              self.doc(name))

    def fn_decl(self, c: Children) -> ast.FnDecl:
        kw, name, _, params, _, result, body = c
        return ast.FnDecl(self.span(kw, body), name[VALUE], self.tspan(name), params or (),
                          result, body, self.doc(kw))

    def var_decl(self, c: Children) -> ast.VarDecl:
        kw, name, type_, _, value = c
        return ast.VarDecl(self.span(kw, value), name[VALUE], self.tspan(name), type_, value,
                           self.doc(kw))

    def main_decl(self, c: Children) -> ast.MainDecl:
        kw, body = c
        return ast.MainDecl(self.span(kw, body), body, self.doc(kw))

    # ------------------------------------------------------------ types
    def type_name(self, c: Children) -> ast.TypeName:
        return ast.TypeName(self.tspan(c[0]), c[0][VALUE])

    def option_type(self, c: Children) -> ast.OptionType:
        return ast.OptionType(self.span(c[0], c[1]), c[0])

    def list_type(self, c: Children) -> ast.ListType:
        return ast.ListType(self.span(c[0], c[2]), c[1])

    def fn_type(self, c: Children) -> ast.FnType:
        kw, _, types, close, result = c
        return ast.FnType(self.span(kw, result or close), flatten(types), result)

    # ------------------------------------------------------------ statements
    def block(self, c: Children) -> ast.Block:
        return ast.Block(self.span(c[0], c[3]), flatten(c[1]))

    def let_stmt(self, c: Children) -> ast.Let:
        kw, name, type_, _, value = c
        return ast.Let(self.span(kw, value), name[VALUE], self.tspan(name), type_, value,
                       kw[VALUE] == "var")

    def assign(self, c: Children) -> ast.Assign:
        name, op, value = c
        return ast.Assign(self.span(name, value), name[VALUE], self.tspan(name), op[VALUE], value)

    def if_stmt(self, c: Children) -> ast.If:
        kw, cond, then, else_ = c
        return ast.If(self.span(kw, else_ or then), cond, then, else_)

    def if_let(self, c: Children) -> ast.IfLet:
        kw, _, name, _, value, then, else_ = c
        return ast.IfLet(self.span(kw, else_ or then), name[VALUE], self.tspan(name), value, then,
                         else_)

    def while_stmt(self, c: Children) -> ast.While:
        return ast.While(self.span(c[0], c[2]), c[1], c[2])

    def for_stmt(self, c: Children) -> ast.For:
        kw, name, _, iterable, upper, body = c
        return ast.For(self.span(kw, body), name[VALUE], self.tspan(name), iterable, upper, body)

    def return_stmt(self, c: Children) -> ast.Return:
        return ast.Return(self.span(c[0], c[1] or c[0]), c[1])

    def break_stmt(self, c: Children) -> ast.Break:
        return ast.Break(self.tspan(c[0]))

    def continue_stmt(self, c: Children) -> ast.Continue:
        return ast.Continue(self.tspan(c[0]))

    def expr_stmt(self, c: Children) -> ast.ExprStmt:
        return ast.ExprStmt(c[0].span, c[0])

    # ------------------------------------------------------------ expressions
    def if_expr(self, c: Children) -> ast.IfExpr:
        kw, cond, _, then, _, else_ = c
        return ast.IfExpr(self.span(kw, else_), cond, then, else_)

    def binary(self, c: Children) -> ast.Binary:
        left, op, right = c
        return ast.Binary(self.span(left, right), op[VALUE], self.tspan(op), left, right)

    def unary(self, c: Children) -> ast.Unary:
        op, operand = c
        return ast.Unary(self.span(op, operand), ast.UnaryOp(op[VALUE]), operand)

    def cast(self, c: Children) -> ast.Cast:
        return ast.Cast(self.span(c[0], c[2]), c[0], c[2])

    def call(self, c: Children) -> ast.Call:
        callee, _, args, close = c
        return ast.Call(self.span(callee, close), callee, args or ())

    def field(self, c: Children) -> ast.Field:
        obj, _, name = c
        return ast.Field(self.span(obj, name), obj, name[VALUE], self.tspan(name))

    def index(self, c: Children) -> ast.Index:
        return ast.Index(self.span(c[0], c[3]), c[0], c[2])

    def slice(self, c: Children) -> ast.Slice:
        obj, _, lower, _, upper, close = c
        return ast.Slice(self.span(obj, close), obj, lower, upper)

    def positional_arg(self, c: Children) -> ast.Arg:
        return ast.Arg(c[0].span, None, None, c[0])

    def named_arg(self, c: Children) -> ast.Arg:
        name, _, value = c
        return ast.Arg(self.span(name, value), name[VALUE], self.tspan(name), value)

    def int_lit(self, c: Children) -> ast.IntLit | ast.ErrorExpr:
        if not c[0][VALUE]:  # a malformed number, already reported
            return ast.ErrorExpr(self.tspan(c[0]))
        return ast.IntLit(self.tspan(c[0]), literals.parse_int(c[0][VALUE]))

    def string_lit(self, c: Children) -> ast.StringLit:
        tok = c[0]
        parts, problems = literals.decode_string(tok[VALUE])
        for problem in problems:
            self.literal_problem(tok, problem)
        built: list[str | ast.Expr] = []
        for part in parts:
            if isinstance(part, str):
                built.append(part)
            else:
                built.append(self.parse_fragment(tok[START] + part.offset, part.text))
        return ast.StringLit(self.tspan(tok), tuple(built))

    def bytes_lit(self, c: Children) -> ast.BytesLit:
        value, problems = literals.decode_bytes(c[0][VALUE])
        for problem in problems:
            self.literal_problem(c[0], problem)
        return ast.BytesLit(self.tspan(c[0]), value)

    def duration_lit(self, c: Children) -> ast.DurationLit:
        value, problem = literals.parse_duration(c[0][VALUE])
        if problem is not None:
            self.literal_problem(c[0], problem)
        return ast.DurationLit(self.tspan(c[0]), value, c[0][VALUE])

    def size_lit(self, c: Children) -> ast.SizeLit:
        value, problem = literals.parse_size(c[0][VALUE])
        if problem is not None:
            self.literal_problem(c[0], problem)
        return ast.SizeLit(self.tspan(c[0]), value, c[0][VALUE])

    def ipv4_lit(self, c: Children) -> ast.Ipv4Lit:
        value, problem = literals.parse_ipv4(c[0][VALUE])
        if problem is not None:
            self.literal_problem(c[0], problem)
        return ast.Ipv4Lit(self.tspan(c[0]), value)

    def cidr_lit(self, c: Children) -> ast.CidrLit:
        address, prefix, problem = literals.parse_cidr(c[0][VALUE])
        if problem is not None:
            self.literal_problem(c[0], problem)
        return ast.CidrLit(self.tspan(c[0]), address, prefix)

    def true_lit(self, c: Children) -> ast.BoolLit:
        return ast.BoolLit(self.tspan(c[0]), True)

    def false_lit(self, c: Children) -> ast.BoolLit:
        return ast.BoolLit(self.tspan(c[0]), False)

    def none_lit(self, c: Children) -> ast.NoneLit:
        return ast.NoneLit(self.tspan(c[0]))

    def name(self, c: Children) -> ast.Name:
        return ast.Name(self.tspan(c[0]), c[0][VALUE])

    def target_ref(self, c: Children) -> ast.TargetRef:
        return ast.TargetRef(self.tspan(c[0]))

    def config_ref(self, c: Children) -> ast.ConfigRef:
        kw, _, name = c
        return ast.ConfigRef(self.span(kw, name), name[VALUE], self.tspan(name))

    @staticmethod
    def paren(c: Children) -> Any:
        return c[1]

    def some_expr(self, c: Children) -> ast.SomeExpr:
        return ast.SomeExpr(self.span(c[0], c[3]), c[2])

    def struct_lit(self, c: Children) -> ast.StructLit:
        name, _, fields, _, close = c
        return ast.StructLit(self.span(name, close), name[VALUE], self.tspan(name), flatten(fields))

    def field_init(self, c: Children) -> ast.FieldInit:
        name, _, value = c
        return ast.FieldInit(self.span(name, value), name[VALUE], self.tspan(name), value)

    def list_lit(self, c: Children) -> ast.ListLit:
        open_, items, _, close = c
        return ast.ListLit(self.span(open_, close), flatten(items))

    def match_expr(self, c: Children) -> ast.Match:
        kw, scrutinee, _, arms, _, close = c
        return ast.Match(self.span(kw, close), scrutinee, flatten(arms))

    def arm(self, c: Children) -> ast.MatchArm:
        pattern, _, body = c
        value = body.expr if isinstance(body, ast.ExprStmt) else body
        return ast.MatchArm(self.span(pattern, body), pattern, value)

    # ------------------------------------------------------------ patterns
    def alt_pattern(self, c: Children) -> ast.AltPat:
        left, _, right = c
        alternatives = left.alternatives if isinstance(left, ast.AltPat) else (left,)
        return ast.AltPat(self.span(left, right), (*alternatives, right))

    def name_pattern(self, c: Children) -> ast.WildcardPat | ast.BindPat:
        tok = c[0]
        if tok[VALUE] == "_":
            return ast.WildcardPat(self.tspan(tok))
        return ast.BindPat(self.tspan(tok), tok[VALUE])

    def enum_pattern(self, c: Children) -> ast.EnumPat:
        enum, _, value = c
        return ast.EnumPat(self.span(enum, value), enum[VALUE], self.tspan(enum), value[VALUE],
                           self.tspan(value))

    def some_pattern(self, c: Children) -> ast.SomePat:
        return ast.SomePat(self.span(c[0], c[3]), c[2])

    def none_pattern(self, c: Children) -> ast.NonePat:
        return ast.NonePat(self.tspan(c[0]))

    def literal_pattern(self, c: Children) -> ast.LiteralPat:
        if len(c) == 2:  # a negative integer
            literal = self.int_lit([c[1]])
            value: ast.Expr = ast.Unary(self.span(c[0], c[1]), ast.UnaryOp.NEG, literal)
        else:
            value = self.literal_token(c[0])
        return ast.LiteralPat(value.span, value)

    def literal_token(self, tok: Token) -> ast.Expr:
        builders: dict[str, Callable[[Children], ast.Expr]] = {
            "INT": self.int_lit, "STRING": self.string_lit, "BYTES": self.bytes_lit,
            "DURATION": self.duration_lit, "SIZE": self.size_lit, "IPV4": self.ipv4_lit,
            "CIDR": self.cidr_lit,
        }
        builder = builders.get(tok[TYPE])
        if builder is not None:
            return builder([tok])
        return ast.BoolLit(self.tspan(tok), tok[VALUE] == "true")
