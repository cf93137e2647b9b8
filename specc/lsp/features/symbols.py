"""``textDocument/documentSymbol``: the outline of the file being edited.

The declarations of the root file, with the config keys, devices, enum
values, struct fields and interface operations nested under their block.
Built from the syntax tree alone, so the outline survives type errors (and,
for what the parser recovered, syntax errors).
"""

from __future__ import annotations

from lsprotocol import types as lsp

from specc import ast
from specc.lsp.convert import span_to_range
from specc.lsp.workspace import DocumentState
from specc.span import SourceFile, Span

Kind = lsp.SymbolKind


def document_symbols(state: DocumentState, encoding: str) -> list[lsp.DocumentSymbol]:
    program = state.program
    if program is None:
        return []
    source = state.source
    out: list[lsp.DocumentSymbol] = []
    for decl in program.root.decls:
        symbol = _decl_symbol(decl, source, encoding)
        if symbol is not None:
            out.append(symbol)
    return out


def _decl_symbol(decl: ast.Decl, source: SourceFile, encoding: str) -> lsp.DocumentSymbol | None:
    def make(name: str, kind: lsp.SymbolKind, span: Span, selection: Span,
             detail: str | None = None,
             children: list[lsp.DocumentSymbol] | None = None) -> lsp.DocumentSymbol:
        return lsp.DocumentSymbol(
            name=name or "?", kind=kind, detail=detail,
            range=span_to_range(span, source, encoding),
            selection_range=span_to_range(selection, source, encoding),
            children=children)

    if isinstance(decl, ast.Unikernel):
        return make(decl.name, Kind.Module, decl.span, decl.name_span, decl.description)
    if isinstance(decl, ast.ConfigBlock):
        keys = [make(k.name, Kind.Constant if k.kind is ast.KeyKind.CONST else Kind.Variable,
                     k.span, k.name_span, f"{k.kind.value} {_type_text(k.type, source)}")
                for k in decl.keys]
        return make("config", Kind.Namespace, decl.span, _keyword_span(decl.span, 6),
                    children=keys)
    if isinstance(decl, ast.DevicesBlock):
        devices = [make(d.name, Kind.Object, d.span, d.name_span) for d in decl.devices]
        return make("devices", Kind.Namespace, decl.span, _keyword_span(decl.span, 7),
                    children=devices)
    if isinstance(decl, ast.FnDecl):
        params = ", ".join(f"{p.name}: {_type_text(p.type, source)}" for p in decl.params)
        result = f" -> {_type_text(decl.result, source)}" if decl.result is not None else ""
        return make(decl.name, Kind.Function, decl.span, decl.name_span, f"({params}){result}")
    if isinstance(decl, ast.VarDecl):
        return make(decl.name, Kind.Variable, decl.span, decl.name_span,
                    f"var {_type_text(decl.type, source)}".rstrip())
    if isinstance(decl, ast.MainDecl):
        return make("main", Kind.Function, decl.span, _keyword_span(decl.span, 4))
    if isinstance(decl, ast.EnumDecl):
        values = [make(v.name, Kind.EnumMember, v.span, v.span) for v in decl.variants]
        return make(decl.name, Kind.Enum, decl.span, decl.name_span, children=values)
    if isinstance(decl, ast.StructDecl):
        fields = [make(f.name, Kind.Field, f.span, f.name_span, _type_text(f.type, source))
                  for f in decl.fields]
        return make(decl.name, Kind.Struct, decl.span, decl.name_span, children=fields)
    if isinstance(decl, ast.InterfaceDecl):
        ops = [make(o.name, Kind.Method, o.span, o.name_span) for o in decl.ops]
        return make(decl.name, Kind.Interface, decl.span, decl.name_span, children=ops)
    if isinstance(decl, ast.ComponentDecl):
        return make(decl.name, Kind.Class, decl.span, decl.name_span,
                    f"-> {decl.interface.name}")
    return None  # `use` lines are not symbols


def _keyword_span(span: Span, length: int) -> Span:
    """The span of the keyword that starts a block (``config``, ``main``)."""
    return Span(span.file, span.line, span.column, span.line, span.column + length, span.start,
                min(span.start + length, span.end))


def _type_text(texpr: ast.TypeExpr | None, source: SourceFile) -> str:
    if texpr is None:
        return ""
    return source.text[texpr.span.start:texpr.span.end]
