"""Expressions, patterns and types.

The parser keeps no parentheses, so they are put back from the precedence
table (LANGUAGE.md section 8, grammar/spec.lark), loosest first:
``if c then a else b``; ``??`` (right-associative); ``or``; ``and``;
``not``; comparisons (non-associative); ``|``; ``^``; ``&``; ``<< >>``;
``+ -``; ``* / %``; unary ``-``; ``as``; postfix.

Besides precedence, the tokenizer needs parentheses in one more place: in
the condition of ``if``/``while``, a ``for`` range or a ``match`` scrutinee,
the first ``{`` opens the block, so a struct literal there is parenthesized
(and so is an ``if`` expression, whose ``then`` ends the condition for the
tokenizer, and a ``match`` that is not the whole condition).

Literals are copied from the source text, as the user wrote them.
"""

from __future__ import annotations

from specc import ast
from specc.fmt.doc import LINE, Doc, align, concat, group, join, nest
from specc.fmt.layout import Layout

IF, COALESCE, OR, AND, NOT, COMPARE = 0, 1, 2, 3, 4, 5
NEG, CAST, POSTFIX, PRIMARY = 12, 13, 14, 15

BINARY: dict[str, int] = {
    "??": COALESCE, "or": OR, "and": AND,
    "==": COMPARE, "!=": COMPARE, "<": COMPARE, "<=": COMPARE, ">": COMPARE, ">=": COMPARE,
    "|": 6, "^": 7, "&": 8, "<<": 9, ">>": 9, "+": 10, "-": 10, "*": 11, "/": 11, "%": 11,
}  # fmt: skip

_SOURCE_LITERALS = (ast.IntLit, ast.StringLit, ast.BytesLit, ast.DurationLit, ast.SizeLit,
                    ast.Ipv4Lit, ast.CidrLit)
# Literals that would run into a following `.` (`10.0.0.1.x` reads as one bad number).
_DOTTED = (ast.Ipv4Lit, ast.CidrLit)
_STATEMENTS = (ast.Let, ast.Assign, ast.ExprStmt, ast.If, ast.IfLet, ast.While, ast.For,
               ast.Return, ast.Break, ast.Continue)
# Parenthesized in a condition (see the module docstring).
_NOT_IN_CONDITION = (ast.StructLit, ast.IfExpr, ast.Match)


def precedence(e: ast.Expr) -> int:
    if isinstance(e, ast.IfExpr):
        return IF
    if isinstance(e, ast.Binary):
        return BINARY[e.op]
    if isinstance(e, ast.Unary):
        return NOT if e.op is ast.UnaryOp.NOT else NEG
    if isinstance(e, ast.Cast):
        return CAST
    if isinstance(e, ast.Field | ast.Index | ast.Slice | ast.Call):
        return POSTFIX
    return PRIMARY


def rightmost(e: ast.Expr) -> ast.Expr:
    """The expression whose last token ends ``e`` when printed without parentheses."""
    while True:
        if isinstance(e, ast.Binary):
            e = e.right
        elif isinstance(e, ast.Unary):
            e = e.operand
        elif isinstance(e, ast.IfExpr):
            e = e.else_
        else:
            return e


class ExprLayout(Layout):
    """Expressions; statements and blocks (inside ``match`` arms) come from
    the subclass."""

    def block(self, b: ast.Block) -> Doc:
        raise NotImplementedError

    def stmt(self, s: ast.Stmt) -> Doc:
        raise NotImplementedError

    # ------------------------------------------------------------ expressions
    def condition(self, e: ast.Expr, *, whole: bool = True) -> Doc:
        """An expression followed by a block's `{` (or by `then`)."""
        if whole and isinstance(e, ast.Match):
            return self.match(e)
        return self.expr(e, IF, cond=True)

    def expr(self, e: ast.Expr, level: int = IF, *, cond: bool = False) -> Doc:
        """``e`` where the grammar wants precedence ``level`` or tighter;
        ``cond``: at the bracket depth of a condition."""
        if precedence(e) < level or (cond and isinstance(e, _NOT_IN_CONDITION)):
            return concat("(", self.expr(e), ")")
        return self.bare(e, cond)

    def bare(self, e: ast.Expr, cond: bool) -> Doc:
        if isinstance(e, _SOURCE_LITERALS):
            return self.slice(e.span)
        if isinstance(e, ast.BoolLit):
            return "true" if e.value else "false"
        if isinstance(e, ast.NoneLit):
            return "none"
        if isinstance(e, ast.Name):
            return e.name
        if isinstance(e, ast.ConfigRef):
            return "config." + e.key
        if isinstance(e, ast.TargetRef):
            return "target"
        if isinstance(e, ast.Binary):
            return self.binary(e, cond)
        if isinstance(e, ast.Unary):
            if e.op is ast.UnaryOp.NOT:
                return concat("not ", self.expr(e.operand, NOT, cond=cond))
            negated = isinstance(e.operand, ast.Unary) and e.operand.op is ast.UnaryOp.NEG
            space = " " if negated else ""  # `--x` is not a token
            return concat("-", space, self.expr(e.operand, NEG, cond=cond))
        if isinstance(e, ast.Cast):
            return concat(self.expr(e.expr, CAST, cond=cond), " as ", self.type(e.type))
        if isinstance(e, ast.Field):
            obj = self.expr(e.obj, POSTFIX, cond=cond)
            if isinstance(e.obj, _DOTTED):
                obj = concat("(", obj, ")")
            return concat(obj, ".", e.name)
        if isinstance(e, ast.Call):
            return concat(self.expr(e.callee, POSTFIX, cond=cond), self.args(e))
        if isinstance(e, ast.Index):
            return concat(self.expr(e.obj, POSTFIX, cond=cond), "[", self.expr(e.index), "]")
        if isinstance(e, ast.Slice):
            lower = self.expr(e.lower) if e.lower is not None else ""
            upper = self.expr(e.upper) if e.upper is not None else ""
            return concat(self.expr(e.obj, POSTFIX, cond=cond), "[", lower, ":", upper, "]")
        if isinstance(e, ast.IfExpr):
            return self.if_expr(e)
        if isinstance(e, ast.Match):
            return self.match(e)
        if isinstance(e, ast.StructLit):
            lo = self.find(e.name_span.end, "{")
            fields = self.commas(e.fields, self.field_init, lo, e.span.end - 1, "{", "}", pad=True)
            return concat(e.name, " ", fields)
        if isinstance(e, ast.ListLit):
            return self.commas(e.items, self.expr, e.span.start, e.span.end - 1, "[", "]")
        if isinstance(e, ast.SomeExpr):
            return concat("some(", self.expr(e.value), ")")
        raise ValueError(f"cannot format {type(e).__name__} at {e.span}")

    def binary(self, e: ast.Binary, cond: bool) -> Doc:
        """A chain of operators of one precedence: breaks after each operator."""
        level = BINARY[e.op]
        operands: list[Doc] = []
        ops: list[str] = []
        if level == COMPARE:  # non-associative
            operands = [self.expr(e.left, level + 1, cond=cond),
                        self.expr(e.right, level + 1, cond=cond)]
            ops = [e.op]
        elif level == COALESCE:  # right-associative: walk down the right
            node: ast.Expr = e
            while isinstance(node, ast.Binary) and node.op == "??":
                operands.append(self.expr(node.left, level + 1, cond=cond))
                ops.append(node.op)
                node = node.right
            operands.append(self.expr(node, level, cond=cond))
        else:  # left-associative: walk down the left
            right: list[Doc] = []
            node = e
            while isinstance(node, ast.Binary) and BINARY[node.op] == level:
                right.append(self.expr(node.right, level + 1, cond=cond))
                ops.append(node.op)
                node = node.left
            operands = [self.expr(node, level, cond=cond), *reversed(right)]
            ops.reverse()
        rest = [concat(" ", op, LINE, operand) for op, operand in zip(ops, operands[1:], strict=True)]
        return group(operands[0], nest(*rest))

    def if_expr(self, e: ast.IfExpr) -> Doc:
        """``if c then a`` and each ``else`` on a line of its own when too long."""
        head = concat("if ", self.condition(e.cond), " then ", self.expr(e.then, COALESCE))
        branches: list[Doc] = []
        tail = e.else_
        while isinstance(tail, ast.IfExpr):
            branches.append(concat(LINE, "else if ", self.condition(tail.cond), " then ",
                                   self.expr(tail.then, COALESCE)))
            tail = tail.else_
        branches.append(concat(LINE, "else ", self.expr(tail, COALESCE)))
        return align(group(head, *branches))

    def match(self, e: ast.Match) -> Doc:
        lo = self.find(e.scrutinee.span.end, "{")
        arms = self.aligned(e.arms, lambda arm: self.pattern(arm.pattern), " => ", self.arm_body,
                            lo, e.span.end - 1)
        return concat("match ", self.condition(e.scrutinee), " ", arms)

    def arm_body(self, arm: ast.MatchArm) -> Doc:
        body = arm.body
        if isinstance(body, ast.Block):
            return self.block(body)
        if isinstance(body, _STATEMENTS):
            return self.stmt(body)
        return self.expr(body)

    def args(self, call: ast.Call) -> Doc:
        lo, hi = self.find(call.callee.span.end, "("), call.span.end - 1
        if len(call.args) == 1 and not self.has_comments(lo, hi):
            # One argument hugs the parentheses: `f(Item {` ... `})`, and a long
            # string alone is not moved to a line of its own.
            return concat("(", self.arg(call.args[0]), ")")
        return self.commas(call.args, self.arg, lo, hi, "(", ")")

    def arg(self, a: ast.Arg) -> Doc:
        value = self.expr(a.value)
        return value if a.name is None else concat(a.name, " = ", value)

    def field_init(self, f: ast.FieldInit) -> Doc:
        return concat(f.name, ": ", self.expr(f.value))

    # ------------------------------------------------------------ patterns and types
    def pattern(self, p: ast.Pattern) -> Doc:
        if isinstance(p, ast.WildcardPat):
            return "_"
        if isinstance(p, ast.BindPat):
            return p.name
        if isinstance(p, ast.LiteralPat):
            value = p.value
            if isinstance(value, ast.Unary):
                return concat("-", self.slice(value.operand.span))
            return self.bare(value, False)
        if isinstance(p, ast.EnumPat):
            return f"{p.enum}.{p.value}"
        if isinstance(p, ast.SomePat):
            return concat("some(", self.pattern(p.inner), ")")
        if isinstance(p, ast.NonePat):
            return "none"
        return join(" | ", [self.pattern(alt) for alt in p.alternatives])

    def type(self, t: ast.TypeExpr) -> Doc:
        if isinstance(t, ast.TypeName):
            return t.name
        if isinstance(t, ast.OptionType):
            # `T??` would read as the `??` operator.
            space = " " if isinstance(t.inner, ast.OptionType) else ""
            return concat(self.type(t.inner), space, "?")
        if isinstance(t, ast.ListType):
            return concat("[", self.type(t.element), "]")
        params = join(", ", [self.type(p) for p in t.params])
        result = concat(" -> ", self.type(t.result)) if t.result is not None else ""
        return concat("fn(", params, ")", result)
