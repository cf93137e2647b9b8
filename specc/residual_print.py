"""A readable listing of the residual program (`specc compile --dump-after`).

Constants the fold pass computed print as `⟨value⟩`-free source literals;
everything else prints as specc source.
"""

from __future__ import annotations

from specc import ast
from specc.values import CidrV, Ipv4V, source_text

# Binding strength of binary operators (higher binds tighter).
_PRECEDENCE = {"??": 1, "or": 2, "and": 3, "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5,
               "|": 6, "^": 7, "&": 8, "<<": 9, ">>": 9, "+": 10, "-": 10, "*": 11, "/": 11,
               "%": 11}


def expr(e: ast.Expr, outer: int = 0) -> str:
    text, level = _expr(e)
    return f"({text})" if level < outer else text


def _expr(e: ast.Expr) -> tuple[str, int]:
    atom = 100
    if isinstance(e, ast.Const):
        return source_text(e.value), atom
    if isinstance(e, ast.IntLit):
        return str(e.value), atom
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false", atom
    if isinstance(e, ast.NoneLit):
        return "none", atom
    if isinstance(e, ast.StringLit):
        parts = "".join(p.replace("{", "{{").replace("}", "}}").replace('"', '\\"')
                        if isinstance(p, str) else "{" + expr(p) + "}" for p in e.parts)
        return f'"{parts}"', atom
    if isinstance(e, ast.BytesLit):
        return source_text(e.value), atom
    if isinstance(e, ast.DurationLit | ast.SizeLit):
        return e.text, atom
    if isinstance(e, ast.Ipv4Lit):
        return str(Ipv4V(e.address)), atom
    if isinstance(e, ast.CidrLit):
        return str(CidrV(e.address, e.prefix)), atom
    if isinstance(e, ast.Name):
        return e.name, atom
    if isinstance(e, ast.ConfigRef):
        return f"config.{e.key}", atom
    if isinstance(e, ast.TargetRef):
        return "target", atom
    if isinstance(e, ast.Field):
        return f"{expr(e.obj, atom)}.{e.name}", atom
    if isinstance(e, ast.Call):
        args = ", ".join((f"{a.name} = " if a.name else "") + expr(a.value) for a in e.args)
        return f"{expr(e.callee, atom)}({args})", atom
    if isinstance(e, ast.Index):
        return f"{expr(e.obj, atom)}[{expr(e.index)}]", atom
    if isinstance(e, ast.Slice):
        lower = expr(e.lower) if e.lower is not None else ""
        upper = expr(e.upper) if e.upper is not None else ""
        return f"{expr(e.obj, atom)}[{lower}:{upper}]", atom
    if isinstance(e, ast.Unary):
        if e.op is ast.UnaryOp.NOT:
            return f"not {expr(e.operand, 4)}", 4
        return f"-{expr(e.operand, 12)}", 12
    if isinstance(e, ast.Binary):
        level = _PRECEDENCE[e.op]
        right_assoc = e.op == "??"
        left = expr(e.left, level + (1 if right_assoc or level == 5 else 0))
        right = expr(e.right, level + (0 if right_assoc else 1))
        return f"{left} {e.op} {right}", level
    if isinstance(e, ast.Cast):
        return f"{expr(e.expr, 13)} as {_type(e.type)}", 13
    if isinstance(e, ast.IfExpr):
        return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.else_)}", 0
    if isinstance(e, ast.Match):
        arms = ", ".join(f"{pattern(a.pattern)} => {_arm(a.body)}" for a in e.arms)
        return f"match {expr(e.scrutinee, 1)} {{ {arms} }}", atom
    if isinstance(e, ast.StructLit):
        fields = ", ".join(f"{f.name}: {expr(f.value)}" for f in e.fields)
        return f"{e.name} {{ {fields} }}", atom
    if isinstance(e, ast.ListLit):
        return "[" + ", ".join(expr(x) for x in e.items) + "]", atom
    if isinstance(e, ast.SomeExpr):
        return f"some({expr(e.value)})", atom
    return "<error>", atom


def _arm(body: ast.Expr | ast.Block | ast.Stmt) -> str:
    if isinstance(body, ast.Block):
        return "{ " + "; ".join(" ".join(stmt(s).split()) for s in body.stmts) + " }"
    if isinstance(body, ast.Expr):
        return expr(body)
    return " ".join(stmt(body).split())


def _type(t: ast.TypeExpr) -> str:
    if isinstance(t, ast.TypeName):
        return t.name
    if isinstance(t, ast.OptionType):
        return _type(t.inner) + "?"
    if isinstance(t, ast.ListType):
        return f"[{_type(t.element)}]"
    result = f" -> {_type(t.result)}" if t.result is not None else ""
    return "fn(" + ", ".join(_type(p) for p in t.params) + ")" + result


def pattern(p: ast.Pattern) -> str:
    if isinstance(p, ast.WildcardPat):
        return "_"
    if isinstance(p, ast.BindPat):
        return p.name
    if isinstance(p, ast.LiteralPat):
        return expr(p.value)
    if isinstance(p, ast.EnumPat):
        return f"{p.enum}.{p.value}"
    if isinstance(p, ast.SomePat):
        return f"some({pattern(p.inner)})"
    if isinstance(p, ast.NonePat):
        return "none"
    return " | ".join(pattern(a) for a in p.alternatives)


def stmt(s: ast.Stmt, indent: str = "") -> str:
    if isinstance(s, ast.Let):
        kw = "var" if s.mutable else "let"
        annotation = f": {_type(s.type)}" if s.type is not None else ""
        return f"{indent}{kw} {s.name}{annotation} = {expr(s.value)}"
    if isinstance(s, ast.Assign):
        return f"{indent}{s.target} {s.op} {expr(s.value)}"
    if isinstance(s, ast.ExprStmt):
        if isinstance(s.expr, ast.Match):
            arms = "\n".join(f"{indent}  {pattern(a.pattern)} => {_arm(a.body)}"
                             for a in s.expr.arms)
            return f"{indent}match {expr(s.expr.scrutinee, 1)} {{\n{arms}\n{indent}}}"
        return indent + expr(s.expr)
    if isinstance(s, ast.If):
        text = f"{indent}if {expr(s.cond)} {block(s.then, indent)}"
        if s.else_ is not None:
            text += " else " + (block(s.else_, indent) if isinstance(s.else_, ast.Block)
                                else stmt(s.else_, indent).lstrip())
        return text
    if isinstance(s, ast.IfLet):
        text = f"{indent}if let {s.name} = {expr(s.value)} {block(s.then, indent)}"
        if s.else_ is not None:
            text += " else " + (block(s.else_, indent) if isinstance(s.else_, ast.Block)
                                else stmt(s.else_, indent).lstrip())
        return text
    if isinstance(s, ast.While):
        return f"{indent}while {expr(s.cond)} {block(s.body, indent)}"
    if isinstance(s, ast.For):
        upper = f"..{expr(s.upper)}" if s.upper is not None else ""
        return f"{indent}for {s.name} in {expr(s.iterable)}{upper} {block(s.body, indent)}"
    if isinstance(s, ast.Return):
        return indent + "return" + (f" {expr(s.value)}" if s.value is not None else "")
    if isinstance(s, ast.Break):
        return indent + "break"
    if isinstance(s, ast.Continue):
        return indent + "continue"
    return indent + block(s, indent)


def block(b: ast.Block, indent: str = "") -> str:
    if not b.stmts:
        return "{}"
    inner = "\n".join(stmt(s, indent + "  ") for s in b.stmts)
    return "{\n" + inner + "\n" + indent + "}"


def function(decl: ast.FnDecl) -> str:
    params = ", ".join(f"{p.name}: {_type(p.type)}" for p in decl.params)
    result = f" -> {_type(decl.result)}" if decl.result is not None else ""
    return f"fn {decl.name}({params}){result} {block(decl.body)}"
