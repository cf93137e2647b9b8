"""Statements, declarations and the file: the canonical layout.

* two-space indentation; blocks, ``config``, ``devices``, interface and
  component bodies and ``match`` arms one item per line; ``{}`` when empty;
* one blank line between top-level declarations (consecutive ``use`` lines
  and top-level ``var`` lines keep the user's choice), at most one where the user left blank lines
  inside a block;
* struct and enum declarations, parameter and argument lists, list and
  struct literals on one line when they fit in the width, else one item per
  line with a trailing comma;
* ``} else {`` on one line; spaces around binary operators and ``=``, after
  commas and colons;
* comments kept where they were (see :mod:`specc.fmt.layout`).
"""

from __future__ import annotations

from collections.abc import Sequence

from specc import ast
from specc.fmt.doc import HARDLINE, Doc, comment, concat
from specc.fmt.exprs import ExprLayout, rightmost
from specc.span import Span

_HEADER = (ast.Unikernel, ast.Use)


class Printer(ExprLayout):
    # ------------------------------------------------------------ statements
    def block(self, b: ast.Block) -> Doc:
        return self.vertical(b.stmts, self.stmt, b.span.start, b.span.end - 1)

    def stmt(self, s: ast.Stmt) -> Doc:
        if isinstance(s, ast.Let):
            annotation = concat(": ", self.type(s.type)) if s.type is not None else ""
            keyword = "var " if s.mutable else "let "
            return concat(keyword, s.name, annotation, " = ", self.expr(s.value))
        if isinstance(s, ast.Assign):
            return concat(s.target, " ", s.op, " ", self.expr(s.value))
        if isinstance(s, ast.ExprStmt):
            return self.expr(s.expr)
        if isinstance(s, ast.If | ast.IfLet):
            return self.if_stmt(s)
        if isinstance(s, ast.While):
            return concat("while ", self.condition(s.cond), " ", self.block(s.body))
        if isinstance(s, ast.For):
            return self.for_stmt(s)
        if isinstance(s, ast.Return):
            return "return" if s.value is None else concat("return ", self.expr(s.value))
        if isinstance(s, ast.Break):
            return "break"
        if isinstance(s, ast.Continue):
            return "continue"
        return self.block(s)

    def if_stmt(self, s: ast.If | ast.IfLet) -> Doc:
        parts: list[Doc] = []
        node: ast.If | ast.IfLet | ast.Block | None = s
        while isinstance(node, ast.If | ast.IfLet):
            if parts:
                parts.append(" else ")
            if isinstance(node, ast.If):
                parts += ["if ", self.condition(node.cond)]
            else:
                parts += ["if let ", node.name, " = ", self.condition(node.value)]
            parts += [" ", self.block(node.then)]
            node = node.else_
        if node is not None:
            parts += [" else ", self.block(node)]
        return concat(*parts)

    def for_stmt(self, s: ast.For) -> Doc:
        if s.upper is None:
            iterable = self.condition(s.iterable)
        else:
            if isinstance(rightmost(s.iterable), ast.Ipv4Lit | ast.CidrLit):
                iterable = concat("(", self.expr(s.iterable), ")")  # `1.2.3.4..` is no number
            else:
                iterable = self.condition(s.iterable, whole=False)
            iterable = concat(iterable, "..", self.condition(s.upper))
        return concat("for ", s.name, " in ", iterable, " ", self.block(s.body))

    # ------------------------------------------------------------ declarations
    def params(self, params: Sequence[ast.Param | ast.ComponentParam], name: Span) -> Doc:
        lo = self.find(name.end, "(")
        hi = self.find(params[-1].span.end if params else lo + 1, ")")
        return self.commas(params, self.param, lo, hi, "(", ")")

    def param(self, p: ast.Param | ast.ComponentParam) -> Doc:
        if isinstance(p, ast.Param):
            return concat(p.name, ": ", self.type(p.type))
        default = concat(" = ", self.expr(p.default)) if p.default is not None else ""
        return concat("const " if p.is_const else "", p.name, ": ", self.type(p.type), default)

    def result(self, t: ast.TypeExpr | None) -> Doc:
        return concat(" -> ", self.type(t)) if t is not None else ""

    def braces(self, keyword_end: int, close: int) -> tuple[int, int]:
        return self.find(keyword_end, "{"), close - 1

    def decl(self, d: ast.Decl) -> Doc:
        if isinstance(d, ast.Unikernel):
            description = self.text[d.name_span.end:d.span.end].strip()
            return concat("unikernel ", d.name, " " if description else "", description)
        if isinstance(d, ast.Use):
            return concat("use ", self.slice(d.path_span))
        if isinstance(d, ast.EnumDecl):
            lo, hi = self.braces(d.name_span.end, d.span.end)
            variants = self.commas(d.variants, lambda v: v.name, lo, hi, "{", "}", pad=True)
            return concat("enum ", d.name, " ", variants)
        if isinstance(d, ast.StructDecl):
            lo, hi = self.braces(d.name_span.end, d.span.end)
            fields = self.commas(d.fields, self.field_decl, lo, hi, "{", "}", pad=True)
            return concat("struct ", d.name, " ", fields)
        if isinstance(d, ast.ConfigBlock):
            lo, hi = self.braces(d.span.start + len("config"), d.span.end)
            return concat("config ", self.vertical(d.keys, self.config_key, lo, hi))
        if isinstance(d, ast.InterfaceDecl):
            lo, hi = self.braces(d.name_span.end, d.span.end)
            return concat("interface ", d.name, " ", self.vertical(d.ops, self.op_decl, lo, hi))
        if isinstance(d, ast.ComponentDecl):
            return self.component(d)
        if isinstance(d, ast.DevicesBlock):
            lo, hi = self.braces(d.span.start + len("devices"), d.span.end)
            devices = self.aligned(d.devices, lambda device: device.name, " = ",
                                   lambda device: self.expr(device.value), lo, hi)
            return concat("devices ", devices)
        if isinstance(d, ast.FnDecl):
            return concat("fn ", d.name, self.params(d.params, d.name_span), self.result(d.result),
                          " ", self.block(d.body))
        if isinstance(d, ast.VarDecl):
            annotation = concat(": ", self.type(d.type)) if d.type is not None else ""
            return concat("var ", d.name, annotation, " = ", self.expr(d.value))
        return concat("main ", self.block(d.body))

    def field_decl(self, f: ast.FieldDecl) -> Doc:
        return concat(f.name, ": ", self.type(f.type))

    def config_key(self, k: ast.ConfigKey) -> Doc:
        requires = concat(" requires ", self.expr(k.requires)) if k.requires is not None else ""
        return concat(k.kind.value, " ", k.name, ": ", self.type(k.type), " = ",
                      self.expr(k.default), requires)

    def op_decl(self, op: ast.OpDecl) -> Doc:
        return concat("fn ", op.name, self.params(op.params, op.name_span), self.result(op.result))

    def component(self, d: ast.ComponentDecl) -> Doc:
        head = concat("component ", d.name, self.params(d.params, d.name_span), " -> ",
                      d.interface.name)
        if d.composition is not None:
            return concat(head, " = ", self.expr(d.composition))
        if d.span.end == d.interface.span.end:  # no body at all
            return concat(head, " {}")
        lo, hi = self.braces(d.interface.span.end, d.span.end)
        return concat(head, " ", self.vertical(d.items, self.component_item, lo, hi))

    def component_item(self, item: ast.ComponentItem) -> Doc:
        if isinstance(item, ast.TargetsItem):
            return "targets " + ", ".join(name for name, _ in item.targets)
        if isinstance(item, ast.ImplItem):
            return concat("impl ", item.language, " ", self.slice(item.path_span))
        return concat("drop ", item.op, " when ", self.expr(item.when))

    # ------------------------------------------------------------ the file
    def module(self, m: ast.Module) -> Doc:
        contents = self.contents(m.decls, self.decl, -1, len(self.text))
        parts: list[Doc] = []
        for index, entry in enumerate(contents.entries):
            if index:
                parts.append(HARDLINE)
                # Consecutive `use` lines, and consecutive top-level `var`s,
                # keep the user's choice of blank lines between them.
                header = (isinstance(m.decls[index], ast.Use)
                          and isinstance(m.decls[index - 1], _HEADER)) or \
                    (isinstance(m.decls[index], ast.VarDecl)
                     and isinstance(m.decls[index - 1], ast.VarDecl))
                if entry.blank_before or not header:
                    parts.append(HARDLINE)
            parts += self.comment_lines(entry)
            parts.append(entry.doc)
            if entry.trailing is not None:
                parts += ["  ", comment(entry.trailing.text)]
        if contents.dangling:
            if parts:
                parts.append(HARDLINE)
                if contents.blank_before_dangling:
                    parts.append(HARDLINE)
            parts += self.dangling_lines(contents.dangling)
        return concat(*parts)
