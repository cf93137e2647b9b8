"""Which local names are visible at a position: parameters, earlier `let`s
and `var`s of the enclosing blocks, loop and pattern bindings.

Used by completion.  Types come from the checker's ``references`` table
(each `let`, parameter and binding is recorded there with its type).
"""

from __future__ import annotations

from dataclasses import dataclass

from specc import ast
from specc.check.program import CheckedProgram
from specc.lsp.index import children, node_span
from specc.types import Type


@dataclass(frozen=True)
class Local:
    name: str
    kind: str  # "param", "let", "var", "binding", "const-param", "device-param"
    type: Type | None


def locals_at(program: CheckedProgram, offset: int) -> dict[str, Local]:
    """The locals visible at ``offset`` in the root file, innermost last (so a
    later one shadows an earlier one of the same name)."""
    found: dict[str, Local] = {}
    decl = next((d for d in program.root.decls if _contains(d, offset)), None)
    if decl is None:
        return found
    refs = program.references
    if isinstance(decl, ast.FnDecl):
        for param in decl.params:
            symbol = refs.get(param)
            found[param.name] = Local(param.name, "param", symbol.type if symbol else None)
    elif isinstance(decl, ast.ComponentDecl):
        info = program.components.get(decl.name)
        for cparam in info.params if info is not None else ():
            kind = "const-param" if cparam.is_const else "device-param"
            found[cparam.name] = Local(cparam.name, kind, cparam.type)
    node: object = decl
    while True:
        if isinstance(node, ast.Block):
            for stmt in node.stmts:
                if isinstance(stmt, ast.Let) and node_span(stmt).end <= offset:
                    symbol = refs.get(stmt)
                    found[stmt.name] = Local(stmt.name, "var" if stmt.mutable else "let",
                                             symbol.type if symbol else None)
        elif isinstance(node, ast.IfLet | ast.For) and _contains(node, offset) and \
                _contains(node.then if isinstance(node, ast.IfLet) else node.body, offset):
            symbol = refs.get(node)
            found[node.name] = Local(node.name, "binding", symbol.type if symbol else None)
        elif isinstance(node, ast.MatchArm) and not _contains(node.pattern, offset):
            for sub in _walk_pattern(node.pattern):
                if isinstance(sub, ast.BindPat):
                    symbol = refs.get(sub)
                    found[sub.name] = Local(sub.name, "binding", symbol.type if symbol else None)
        inner = next((c for c in children(node) if _contains(c, offset)), None)
        if inner is None:
            return found
        node = inner


def _contains(node: object, offset: int) -> bool:
    span = node_span(node)
    return span.start <= offset <= span.end


def _walk_pattern(pattern: ast.Pattern) -> list[ast.Pattern]:
    if isinstance(pattern, ast.SomePat):
        return [pattern, *_walk_pattern(pattern.inner)]
    if isinstance(pattern, ast.AltPat):
        return [pattern, *(p for alt in pattern.alternatives for p in _walk_pattern(alt))]
    return [pattern]
