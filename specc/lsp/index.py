"""Every name in a checked program, where it is written and what it means.

The checker's ``references`` table maps each *use* of a name to a
:class:`~specc.check.program.Symbol`; this module adds the *declarations*
(which the checker does not list) and named arguments, and turns the lot
into :class:`Occurrence` records keyed by the span of the name as written.
Hover, go to definition, references, rename and semantic tokens are all
queries over this one index.

Two occurrences mean the same thing when their symbols have the same
:func:`symbol_key`: the declared name and the span of its declaration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from specc import ast
from specc.check.program import CheckedProgram, Symbol
from specc.span import Span
from specc.types import ComponentT, DeviceT, EnumT, StructT, Type

SymbolKey = tuple[str, Span]


@dataclass(frozen=True, slots=True)
class Occurrence:
    span: Span  # the name as written (for `config.port`, just `port`)
    symbol: Symbol
    node: object
    declaration: bool
    # Where the cursor finds it: the name, or for `config.port` all of it.
    hit: Span


def symbol_key(symbol: Symbol) -> SymbolKey | None:
    """What identifies a declared thing; None for builtins (nothing to jump to)."""
    if symbol.span is None:
        return None
    return (symbol.name, symbol.span)


# ---------------------------------------------------------------------------
# walking the AST generically, so a new node type needs no change here


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(node_type)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node_type) if f.name != "span")
        _CHILD_FIELDS[node_type] = names
    return names


def _is_node(value: object) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type | Span) \
        and hasattr(value, "span")


def children(node: object) -> Iterator[object]:
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, tuple):
            for item in value:
                if _is_node(item):
                    yield item
        elif _is_node(value):
            yield value


def walk(node: object) -> Iterator[object]:
    """``node`` and everything below it, parents first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def node_span(node: object) -> Span:
    span = getattr(node, "span", None)
    assert isinstance(span, Span)
    return span


def name_span(node: object) -> Span:
    """The span of the name a node refers by or declares."""
    if isinstance(node, ast.ConfigRef):
        return node.key_span
    if isinstance(node, ast.Assign):
        return node.target_span
    if isinstance(node, ast.EnumPat):
        return node.value_span
    if isinstance(node, ast.Call):
        return name_span(node.callee)
    span = getattr(node, "name_span", None)
    if isinstance(span, Span):
        return span
    return node_span(node)


# ---------------------------------------------------------------------------
# the index


@dataclass
class Index:
    program: CheckedProgram
    occurrences: list[Occurrence] = field(default_factory=list)
    by_key: dict[SymbolKey, list[Occurrence]] = field(default_factory=dict)
    by_file: dict[str, list[Occurrence]] = field(default_factory=dict)

    def add(self, span: Span, symbol: Symbol, node: object, declaration: bool) -> None:
        hit = node.span if isinstance(node, ast.ConfigRef) else span
        occurrence = Occurrence(span, symbol, node, declaration, hit)
        self.occurrences.append(occurrence)
        self.by_file.setdefault(span.file, []).append(occurrence)
        key = symbol_key(symbol)
        if key is not None:
            self.by_key.setdefault(key, []).append(occurrence)

    def at(self, path: str, offset: int) -> Occurrence | None:
        """The innermost name at ``offset``; a cursor just after a name counts
        as on it (where editors put it after typing the name)."""
        best: Occurrence | None = None
        best_score = (2, 0)
        for occurrence in self.by_file.get(path, ()):
            span = occurrence.hit
            if span.start <= offset <= span.end:
                # Strictly inside beats just after; then the shortest wins.
                score = (0 if offset < span.end else 1, span.end - span.start)
                if score < best_score:
                    best, best_score = occurrence, score
        return best

    def same(self, symbol: Symbol) -> list[Occurrence]:
        key = symbol_key(symbol)
        return [] if key is None else self.by_key.get(key, [])


def build_index(program: CheckedProgram) -> Index:
    index = Index(program)
    for node, symbol in program.references.items():
        span = name_span(node)
        index.add(span, symbol, node, declaration=symbol.span == span)
    for module in program.modules:
        for decl in module.decls:
            _declarations(index, decl)
        for decl in module.decls:
            for node in walk(decl):
                if isinstance(node, ast.Call):
                    _named_arguments(index, node)
    return index


def _declarations(index: Index, decl: ast.Decl) -> None:
    p = index.program
    add = index.add
    if isinstance(decl, ast.FnDecl):
        function = p.functions.get(decl.name)
        fn_type = function.type if function is not None and function.decl is decl else None
        add(decl.name_span, Symbol("function", decl.name, decl.name_span, fn_type, decl.doc),
            decl, True)
    elif isinstance(decl, ast.DevicesBlock):
        for device in decl.devices:
            dinfo = p.devices.get(device.name)
            dtype = dinfo.type if dinfo is not None and dinfo.decl is device else None
            add(device.name_span, Symbol("device", device.name, device.name_span, dtype,
                                         device.doc), device, True)
    elif isinstance(decl, ast.ConfigBlock):
        for key in decl.keys:
            cinfo = p.config.get(key.name)
            ctype = cinfo.type if cinfo is not None and cinfo.decl is key else None
            add(key.name_span, Symbol("config-" + key.kind.value, key.name, key.name_span, ctype,
                                      key.doc), key, True)
    elif isinstance(decl, ast.EnumDecl):
        enum_type = EnumT(decl.name, tuple(v.name for v in decl.variants), decl.name_span)
        add(decl.name_span, Symbol("enum", decl.name, decl.name_span, enum_type, decl.doc), decl,
            True)
        for variant in decl.variants:
            add(variant.span, Symbol("variant", f"{decl.name}.{variant.name}", decl.name_span,
                                     enum_type, variant.doc), variant, True)
    elif isinstance(decl, ast.StructDecl):
        add(decl.name_span, Symbol("struct", decl.name, decl.name_span,
                                   StructT(decl.name, decl.name_span), decl.doc), decl, True)
        sinfo = p.structs.get(decl.name)
        for fdecl in decl.fields:
            ftype = sinfo.fields.get(fdecl.name) if sinfo is not None else None
            add(fdecl.name_span, Symbol("field", fdecl.name, fdecl.name_span, ftype, fdecl.doc),
                fdecl, True)
    elif isinstance(decl, ast.InterfaceDecl):
        add(decl.name_span, Symbol("interface", decl.name, decl.name_span,
                                   DeviceT(decl.name), decl.doc), decl, True)
        iinfo = p.interfaces.get(decl.name)
        for op in decl.ops:
            oinfo = iinfo.ops.get(op.name) if iinfo is not None else None
            add(op.name_span, Symbol("operation", f"{decl.name}.{op.name}", op.name_span,
                                     oinfo.type if oinfo else None, op.doc), op, True)
            for param in op.params:
                add(param.name_span, Symbol("param", param.name, param.name_span,
                                            _param_type(oinfo.type.params if oinfo else (),
                                                        op.params, param)), param, True)
    elif isinstance(decl, ast.ComponentDecl):
        add(decl.name_span, Symbol("component", decl.name, decl.name_span,
                                   ComponentT(decl.name), decl.doc), decl, True)
        comp = p.components.get(decl.name)
        for cparam in decl.params:
            known = next((q for q in comp.params if q.decl is cparam), None) if comp else None
            kind = "const-param" if cparam.is_const else "device-param"
            add(cparam.name_span, Symbol(kind, cparam.name, cparam.name_span,
                                         known.type if known else None), cparam, True)
    elif isinstance(decl, ast.VarDecl):
        var = p.vars.get(decl.name)
        vtype = var.type if var is not None and var.decl is decl else None
        add(decl.name_span, Symbol("global-var", decl.name, decl.name_span, vtype, decl.doc),
            decl, True)
    elif isinstance(decl, ast.Unikernel):
        add(decl.name_span, Symbol("unikernel", decl.name, decl.name_span, None, decl.doc), decl,
            True)


def _param_type(types: tuple[Type, ...], params: tuple[ast.Param, ...],
                param: ast.Param) -> Type | None:
    position = next(i for i, q in enumerate(params) if q is param)
    return types[position] if position < len(types) else None


def _named_arguments(index: Index, call: ast.Call) -> None:
    """``f(x = 1)``: the `x` is a use of the parameter `x` of `f`."""
    named = [a for a in call.args if a.name is not None and a.name_span is not None]
    if not named:
        return
    callee = index.program.references.get(call.callee)
    if callee is None:
        return
    params = _parameters_of(index.program, callee)
    for arg in named:
        assert arg.name_span is not None
        target = params.get(arg.name or "")
        if target is not None:
            index.add(arg.name_span, target, arg, declaration=False)


def _parameters_of(p: CheckedProgram, callee: Symbol) -> dict[str, Symbol]:
    if callee.kind == "function":
        function = p.functions.get(callee.name)
        if function is None or function.decl is None:
            return {}
        return {q.name: Symbol("param", q.name, q.name_span, t)
                for q, t in zip(function.decl.params, function.type.params, strict=False)}
    if callee.kind == "component":
        comp = p.components.get(callee.name)
        if comp is None:
            return {}
        return {q.name: Symbol("const-param" if q.is_const else "device-param", q.name,
                               q.decl.name_span, q.type) for q in comp.params}
    if callee.kind == "operation" and "." in callee.name:
        iface_name, op_name = callee.name.split(".", 1)
        iface = p.interfaces.get(iface_name)
        op = iface.ops.get(op_name) if iface else None
        if op is None:
            return {}
        return {q.name: Symbol("param", q.name, q.name_span, t)
                for q, t in zip(op.decl.params, op.type.params, strict=False)}
    return {}


def declaration_span(program: CheckedProgram, symbol: Symbol) -> Span | None:
    """Where to jump for ``symbol``: its declaration's name (for an enum value,
    the value in the enum rather than the enum's name)."""
    if symbol.kind == "variant" and symbol.span is not None and "." in symbol.name:
        enum_name, value = symbol.name.split(".", 1)
        decl = program.enums.get(enum_name)
        if decl is not None and decl.name_span == symbol.span:
            for variant in decl.variants:
                if variant.name == value:
                    return variant.span
    return symbol.span
