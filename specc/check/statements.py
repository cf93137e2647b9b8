"""Type checking of statements, `match` and function bodies."""

from __future__ import annotations

from specc import ast
from specc.check.expressions import ExprChecker, is_untyped_literal
from specc.check.patterns import alternatives, covers, missing_cases
from specc.check.program import Symbol
from specc.check.scope import Local, Scope
from specc.diagnostics import Note
from specc.span import Span
from specc.types import (
    BOOL,
    BYTES,
    ERROR,
    U8,
    VOID,
    EnumT,
    ListT,
    OptionT,
    Type,
    VoidT,
    accepts,
    is_error,
    is_integer,
)

# How deep blocks and `match` statement arms may nest in a function or `main`.
# A language limit, the same on every target and wherever the check runs (not
# the Python stack's): each level is one indentation level in the python
# target, whose parser stops at 100.
MAX_NESTING = 64


class BodyChecker(ExprChecker):
    # ------------------------------------------------------------ blocks
    def nested(self, span: Span) -> bool:
        """Enter one more level of nesting at ``span``; False (and E0008) when
        that is one too many, and nothing inside is checked."""
        if self.context.nesting >= MAX_NESTING:
            first_line = Span(span.file, span.line, span.column, span.line, span.column + 1,
                              span.start, span.start + 1)
            self.sink.add("E0008", first_line, f"blocks nest more than {MAX_NESTING} deep here",
                          hint="move the inner part into a function of its own")
            return False
        self.context.nesting += 1
        return True

    def block(self, block: ast.Block, *, counted: bool = False) -> None:
        """Check ``block``; ``counted``: its level was entered already (a `match` arm)."""
        if not counted:
            if not self.nested(block.span):
                return
            try:
                self.block(block, counted=True)
            finally:
                self.context.nesting -= 1
            return
        saved = self.scope
        self.scope = saved.child()
        try:
            for stmt in block.stmts:
                self.stmt(stmt)
            self.report_unused(self.scope)
        finally:
            self.scope = saved

    def report_unused(self, scope: Scope) -> None:
        for local in scope.names.values():
            if local.kind in ("let", "var") and not local.used and not local.name.startswith("_"):
                self.sink.add("W0002", local.span, f"`{local.name}` is never used",
                              hint=f"remove it, or name it `_{local.name}` to keep it")

    def bind(self, name: str, span: Span, t: Type, kind: str) -> None:
        local = Local(name, t, span, kind)
        self.scope.bind(local)

    def stmt(self, s: ast.Stmt) -> None:
        self.deep_reported = False
        if isinstance(s, ast.Let):
            self.let(s)
        elif isinstance(s, ast.Assign):
            self.assign(s)
        elif isinstance(s, ast.ExprStmt):
            if isinstance(s.expr, ast.Match):
                self.match_statement(s.expr)
                self.program.types[s.expr] = VOID
            else:
                self.expr(s.expr)
        elif isinstance(s, ast.If):
            self.expect(s.cond, BOOL, "the condition of `if`")
            self.block(s.then)
            self.else_part(s.else_)
        elif isinstance(s, ast.IfLet):
            self.if_let(s)
        elif isinstance(s, ast.While):
            self.expect(s.cond, BOOL, "the condition of `while`")
            self.loop_body(s.body)
        elif isinstance(s, ast.For):
            self.for_loop(s)
        elif isinstance(s, ast.Return):
            self.return_(s)
        elif isinstance(s, ast.Break | ast.Continue):
            if self.context.loops == 0:
                word = "break" if isinstance(s, ast.Break) else "continue"
                self.sink.add("E0211", s.span, f"`{word}` outside a loop")
        elif isinstance(s, ast.Block):
            self.block(s)

    def else_part(self, part: ast.Block | ast.If | ast.IfLet | None) -> None:
        if part is not None:
            self.stmt(part)

    def loop_body(self, body: ast.Block) -> None:
        self.context.loops += 1
        try:
            self.block(body)
        finally:
            self.context.loops -= 1

    def let(self, s: ast.Let) -> None:
        if s.type is not None:
            from specc.check.declarations import Declarations

            declared = Declarations(self.program, self.sink).resolve_type(s.type)
            self.expect(s.value, declared, f"`{s.name}`")
            t = declared
        else:
            t = self.expr(s.value)
            if isinstance(t, VoidT):
                self.sink.add("E0201", s.value.span, "this gives no value to bind")
                t = ERROR
        kind = "var" if s.mutable else "let"
        self.bind(s.name, s.name_span, t, kind)
        self.program.references[s] = Symbol(kind, s.name, s.name_span, t)
        if not s.mutable:
            self.program.let_values[s.name_span] = s.value

    def assign(self, s: ast.Assign) -> None:
        local = self.scope.lookup(s.target)
        var = self.program.vars.get(s.target) if local is None else None
        if var is not None:
            # A top-level `var`: state that outlives the call (v1.1).
            local = Local(s.target, var.type, var.decl.name_span, "global-var", var.decl.doc)
            if self.context.fn_name is not None:
                self.impure.setdefault(self.context.fn_name, f"it assigns the `var` "
                                       f"`{s.target}`")
        if local is None:
            name = ast.Name(s.target_span, s.target)
            if s.target in self.program.devices or s.target in self.program.functions:
                self.sink.add("E0210", s.target_span, f"`{s.target}` is not a variable")
            else:
                self.unknown_name(name)
            self.expr(s.value)
            return
        self.program.references[s] = Symbol(local.kind, local.name, local.span, local.type)
        if not local.mutable:
            what = {"let": "declared with `let`", "param": "a function parameter",
                    "binding": "a pattern binding"}.get(local.kind, "not a `var`")
            self.sink.add("E0210", s.target_span, f"cannot assign to `{s.target}`: it is {what}",
                          notes=[Note(f"`{s.target}` is declared here", local.span)],
                          hint="declare it with `var` to change it" if local.kind == "let"
                          else None)
            self.expr(s.value)
            return
        if s.op == "=":
            self.expect(s.value, local.type, f"`{s.target}`")
            return
        operator = s.op[0]
        target = ast.Name(s.target_span, s.target)
        synthetic = ast.Binary(s.span, operator, s.target_span, target, s.value)
        result = self.expr(synthetic)
        if not is_error(result) and not accepts(local.type, result):
            self.sink.add("E0201", s.span, f"`{s.op}` gives `{result}`, but `{s.target}` is "
                          f"`{local.type}`")

    def if_let(self, s: ast.IfLet) -> None:
        t = self.expr(s.value)
        inner: Type = ERROR
        if isinstance(t, OptionT):
            inner = t.inner
        elif not is_error(t):
            self.sink.add("E0201", s.value.span, f"`if let` needs an option, found `{t}`")
        saved = self.scope
        self.scope = saved.child()
        try:
            self.bind(s.name, s.name_span, inner, "binding")
            self.program.references[s] = Symbol("binding", s.name, s.name_span, inner)
            self.block(s.then)
        finally:
            self.scope = saved
        self.else_part(s.else_)

    def for_loop(self, s: ast.For) -> None:
        if s.upper is not None:
            lower_untyped = is_untyped_literal(s.iterable)
            if lower_untyped and not is_untyped_literal(s.upper):
                t = self.expr(s.upper)
                self.expect(s.iterable, t, "the range")
            else:
                t = self.expr(s.iterable)
                self.expect(s.upper, t, "the range")
            if not (is_integer(t) or is_error(t)):
                self.sink.add("E0201", s.iterable.span, f"a range needs integer bounds, not `{t}`")
                t = ERROR
            element = t
        else:
            t = self.expr(s.iterable)
            if isinstance(t, ListT):
                element = t.element
            elif t == BYTES:
                element = U8
            else:
                if not is_error(t):
                    self.sink.add("E0201", s.iterable.span, f"cannot iterate over `{t}`; `for` "
                                  "takes a list, bytes or a range `a..b`")
                element = ERROR
        saved = self.scope
        self.scope = saved.child()
        try:
            self.bind(s.name, s.name_span, element, "binding")
            self.program.references[s] = Symbol("binding", s.name, s.name_span, element)
            self.loop_body(s.body)
        finally:
            self.scope = saved

    def return_(self, s: ast.Return) -> None:
        result = self.context.result
        if self.context.kind == "main":
            if s.value is not None:
                self.sink.add("E0201", s.value.span, "`main` gives no value")
                self.expr(s.value)
            return
        if s.value is None:
            if result is not None:
                self.sink.add("E0209", s.span, f"`return` needs a value of type `{result}`")
            return
        if result is None:
            self.sink.add("E0201", s.value.span, f"function `{self.context.fn_name}` has no "
                          "result type, so `return` takes no value",
                          hint="declare the result type with `-> T`")
            self.expr(s.value)
            return
        self.expect(s.value, result, "the result")

    # ------------------------------------------------------------ match
    def match_statement(self, e: ast.Match) -> None:
        """A `match` used as a statement: its arms' bodies are one level of
        nesting (as a block's statements are)."""
        if not self.nested(e.span):
            return
        try:
            self.match(e, None, as_statement=True)
        finally:
            self.context.nesting -= 1

    def statement_arm(self, body: ast.Expr | ast.Block | ast.Stmt) -> None:
        """The body of an arm of a `match` statement, whose level is counted."""
        if isinstance(body, ast.Block):
            self.block(body, counted=True)
        elif isinstance(body, ast.Match):
            self.match_statement(body)
        elif isinstance(body, ast.Expr):
            self.expr(body)
        else:
            self.stmt(body)

    def match(self, e: ast.Match, expected: Type | None, *, as_statement: bool) -> Type:
        scrutinee = self.expr(e.scrutinee)
        arm_types: list[Type] = []
        result: Type | None = expected
        earlier: list[ast.Pattern] = []
        if not as_statement and expected is None:
            leader = next((a for a in e.arms if isinstance(a.body, ast.Expr)
                           and not is_untyped_literal(a.body)), None)
        else:
            leader = None
        order = ([leader] if leader else []) + [a for a in e.arms if a is not leader]
        for arm in order:
            saved = self.scope
            self.scope = saved.child()
            try:
                self.pattern(arm.pattern, scrutinee)
                if as_statement:
                    self.statement_arm(arm.body)
                    continue
                if not isinstance(arm.body, ast.Expr):
                    self.sink.add("E0215", arm.body.span, "this `match` gives a value, so each "
                                  "arm must be an expression, not a statement or block")
                    continue
                if result is None:
                    result = self.expr(arm.body)
                    if isinstance(result, VoidT):
                        self.sink.add("E0215", arm.body.span, "this arm gives no value")
                        result = ERROR
                else:
                    self.expect(arm.body, result)
                arm_types.append(result)
            finally:
                self.scope = saved
        for arm in e.arms:
            if covers(earlier, arm.pattern, scrutinee):
                self.sink.add("W0001", arm.pattern.span, "this arm is never reached: the arms "
                              "before it match every value it matches")
            earlier.append(arm.pattern)
        missing = missing_cases([a.pattern for a in e.arms], scrutinee)
        if missing:
            listing = ", ".join(f"`{m}`" for m in missing)
            self.sink.add("E0205", e.span, f"`match` does not cover every value of "
                          f"`{scrutinee}`: missing {listing}",
                          hint="add arms for the missing cases, or a `_ =>` arm")
        if as_statement:
            return VOID
        return result if result is not None else ERROR

    def pattern(self, pattern: ast.Pattern, t: Type) -> None:
        if isinstance(pattern, ast.AltPat):
            for alt in pattern.alternatives:
                if any(isinstance(q, ast.BindPat) for q in alternatives(alt)) or \
                        (isinstance(alt, ast.SomePat) and _binds(alt)):
                    self.sink.add("E0220", alt.span, "a pattern with `|` alternatives cannot "
                                  "bind names")
                self.pattern(alt, t)
            return
        if isinstance(pattern, ast.WildcardPat):
            return
        if isinstance(pattern, ast.BindPat):
            self.bind(pattern.name, pattern.span, t, "binding")
            self.program.references[pattern] = Symbol("binding", pattern.name, pattern.span, t)
            return
        if isinstance(pattern, ast.NonePat | ast.SomePat):
            if not isinstance(t, OptionT):
                if not is_error(t):
                    self.sink.add("E0220", pattern.span, f"`{'none' if isinstance(pattern, ast.NonePat) else 'some'}` "
                                  f"patterns match options, but the value is `{t}`")
                if isinstance(pattern, ast.SomePat):
                    self.pattern(pattern.inner, ERROR)
                return
            if isinstance(pattern, ast.SomePat):
                self.pattern(pattern.inner, t.inner)
            return
        if isinstance(pattern, ast.EnumPat):
            enum = self.enum_of(ast.Name(pattern.enum_span, pattern.enum))
            if enum is None:
                self.sink.add("E0220", pattern.enum_span, f"`{pattern.enum}` is not an enum")
                return
            self.program.references[pattern] = Symbol("variant", f"{enum.name}.{pattern.value}",
                                                      enum.span, enum)
            if pattern.value not in enum.variants:
                self.sink.add("E0108", pattern.value_span, f"`{enum.name}` has no value "
                              f"`{pattern.value}`")
            if not is_error(t) and t != enum:
                self.sink.add("E0220", pattern.span, f"this pattern is a `{enum.name}`, but the "
                              f"value matched is `{t}`")
            return
        # a literal
        if isinstance(t, EnumT | OptionT):
            self.sink.add("E0220", pattern.span, f"a literal pattern cannot match a `{t}`")
            return
        self.expect(pattern.value, t, "the pattern")


def _binds(pattern: ast.Pattern) -> bool:
    if isinstance(pattern, ast.BindPat):
        return True
    if isinstance(pattern, ast.SomePat):
        return _binds(pattern.inner)
    if isinstance(pattern, ast.AltPat):
        return any(_binds(q) for q in pattern.alternatives)
    return False
