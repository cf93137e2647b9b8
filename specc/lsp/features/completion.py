"""``textDocument/completion``.

What to offer is decided from the text before the cursor, not from the
syntax tree, because the text being typed rarely parses (``config.`` alone
is a syntax error).  The tables that fill the list come from the latest
check, falling back to the last check without syntax errors for names the
latest one lost:

- after ``config.``: the config keys, with their types;
- after ``device.``: the device's operations; after ``Enum.``: its values;
  after a value of struct type and ``.``: the struct's fields;
- after ``:`` or ``->`` in a declaration: type names;
- inside the parentheses of a call of a component, function or operation:
  its parameter names (``name = ``), then everything below;
- elsewhere: the keywords and the names in scope (locals, functions,
  devices, enums, structs, builtins; component names inside ``devices``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lsprotocol import types as lsp

from specc.check.expressions import BUILTINS, SPECIAL_BUILTINS, ZONE_PROPERTIES
from specc.check.program import CheckedProgram, FunctionInfo, OperationInfo, Symbol
from specc.lsp.convert import position_to_offset
from specc.lsp.features.hover import signature
from specc.lsp.features.scope import Local, locals_at
from specc.lsp.workspace import DocumentState
from specc.syntax.lexer import KEYWORDS
from specc.types import BUILTIN_TYPES, TARGET, ZONE, DeviceT, EnumT, StructT, Type

Kind = lsp.CompletionItemKind
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_MEMBER = re.compile(rf"(?<![\w.])({_NAME}(?:\s*\.\s*{_NAME})*)\s*\.\s*({_NAME})?\Z")
_TYPE_POSITION = re.compile(
    rf"(?:\b(?:const|param|let|var)\s+{_NAME}\s*:|->|^\s*(?:fn|component)\b.*[(,]\s*"
    rf"(?:const\s+)?{_NAME}\s*:|^\s*{_NAME}\s*:)\s*[\w?\[\] ]*\Z")
_CALLEE = re.compile(rf"({_NAME}(?:\s*\.\s*{_NAME})?)\s*\Z")
_ARGUMENT_START = re.compile(rf"[(,]\s*({_NAME})?\Z")
_DEVICES_BLOCK = re.compile(r"\bdevices\s*\{")
_LOOKBACK = 4000  # characters scanned back for an open call or block


def completion(state: DocumentState, position: lsp.Position,
               encoding: str) -> lsp.CompletionList:
    source = state.source
    offset = position_to_offset(source, position, encoding)
    text = source.text
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset]
    programs = [p for p in (state.program, state.last_good_program) if p is not None]
    if _in_comment(before) or not programs:
        return lsp.CompletionList(is_incomplete=False, items=[] if programs else _keywords())
    items = _complete(text, offset, before, programs)
    return lsp.CompletionList(is_incomplete=False, items=_unique(items))


def _complete(text: str, offset: int, before: str,
              programs: list[CheckedProgram]) -> list[lsp.CompletionItem]:
    member = _MEMBER.search(before)
    if member is not None:
        chain = [part.strip() for part in member.group(1).split(".")]
        return list(_members(chain, offset, programs))
    if _TYPE_POSITION.search(before):
        return list(_types(programs))
    items = list(_named_arguments(text, offset, programs))
    items += _keywords()
    items += _names(offset, programs, in_devices=_in_devices_block(text, offset))
    return items


# ---------------------------------------------------------------------------
# after a dot


def _members(chain: list[str], offset: int,
             programs: list[CheckedProgram]) -> Iterator[lsp.CompletionItem]:
    head = chain[0]
    if chain == ["config"]:
        for p in programs:
            for name, info in p.config.items():
                kind = Kind.Constant if info.decl.kind.value == "const" else Kind.Variable
                yield _item(name, kind, f"{info.decl.kind.value} {name}: {info.type}",
                            info.decl.doc)
        return
    if len(chain) == 1:
        enum = _enum(head, programs)
        if enum is not None and head not in _locals(offset, programs):
            for p in programs:
                decl = p.enums.get(head)
                docs = {v.name: v.doc for v in decl.variants} if decl is not None else {}
                for value in enum.variants:
                    yield _item(value, Kind.EnumMember, f"{head}.{value}", docs.get(value))
            return
    t = _chain_type(chain, offset, programs)
    if isinstance(t, DeviceT):
        for p in programs:
            iface = p.interfaces.get(t.interface)
            for name, op in (iface.ops.items() if iface is not None else ()):
                yield _item(name, Kind.Method, signature(p, _op_symbol(t.interface, op)),
                            op.decl.doc)
    elif isinstance(t, StructT):
        for p in programs:
            struct = p.structs.get(t.name)
            for fdecl in struct.decl.fields if struct is not None else ():
                ftype = struct.fields.get(fdecl.name) if struct is not None else None
                yield _item(fdecl.name, Kind.Field, f"{fdecl.name}: {ftype}", fdecl.doc)
    elif t == ZONE:
        for name, ptype in ZONE_PROPERTIES.items():
            yield _item(name, Kind.Property, f"{name}: {ptype}", None)


def _op_symbol(interface: str, op: OperationInfo) -> Symbol:
    return Symbol("operation", f"{interface}.{op.name}", op.decl.name_span, op.type, op.decl.doc)


def _chain_type(chain: list[str], offset: int, programs: list[CheckedProgram]) -> Type | None:
    head, rest = chain[0], chain[1:]
    t: Type | None = None
    if head == "config" and rest:
        t = _first(p.config[rest[0]].type for p in programs if rest[0] in p.config)
        rest = rest[1:]
    else:
        local = _locals(offset, programs).get(head)
        if local is not None:
            t = local.type
        else:
            t = _first(p.devices[head].type for p in programs if head in p.devices) or \
                _first(p.vars[head].type for p in programs if head in p.vars)
    for name in rest:
        if isinstance(t, StructT):
            t = _first(p.structs[t.name].fields.get(name) for p in programs
                       if t.name in p.structs)
        elif t == ZONE:
            t = ZONE_PROPERTIES.get(name)
        else:
            return None
    return t


def _enum(name: str, programs: list[CheckedProgram]) -> EnumT | None:
    if name == "Target":
        return TARGET
    for p in programs:
        decl = p.enums.get(name)
        if decl is not None:
            return EnumT(decl.name, tuple(v.name for v in decl.variants), decl.name_span)
    return None


# ---------------------------------------------------------------------------
# types, named arguments, names


def _types(programs: list[CheckedProgram]) -> Iterator[lsp.CompletionItem]:
    for name in BUILTIN_TYPES:
        yield _item(name, Kind.TypeParameter, "builtin type", None)
    yield _item("Target", Kind.Enum, "enum Target", None)
    for p in programs:
        for name, decl in p.enums.items():
            yield _item(name, Kind.Enum, f"enum {name}", decl.doc)
        for name, sinfo in p.structs.items():
            yield _item(name, Kind.Struct, f"struct {name}", sinfo.decl.doc)
        for name, iinfo in p.interfaces.items():
            yield _item(name, Kind.Interface, f"interface {name}", iinfo.decl.doc)


def _named_arguments(text: str, offset: int,
                     programs: list[CheckedProgram]) -> Iterator[lsp.CompletionItem]:
    """Inside ``callee( ... |``: the callee's parameter names, as ``name = ``."""
    opened = _open_paren(text, offset)
    if opened is None or not _ARGUMENT_START.search(text[opened:offset]):
        return
    callee = _CALLEE.search(text[max(0, opened - 200):opened])
    if callee is None:
        return
    parts = [part.strip() for part in callee.group(1).split(".")]
    for name, detail, doc in _parameters(parts, programs):
        item = _item(name, Kind.Field, detail, doc)
        item.insert_text = f"{name} = "
        item.sort_text = f"0_{name}"
        yield item


def _parameters(parts: list[str],
                programs: list[CheckedProgram]) -> Iterator[tuple[str, str, str | None]]:
    for p in programs:
        if len(parts) == 1 and parts[0] in p.components:
            for q in p.components[parts[0]].params:
                yield q.name, ("const " if q.is_const else "") + f"{q.name}: {q.type}", None
            return
        if len(parts) == 1 and parts[0] in p.functions:
            info = p.functions[parts[0]]
            for pname, ptype in zip(info.param_names, info.type.params, strict=False):
                yield pname, f"{pname}: {ptype}", None
            return
        if len(parts) == 2 and parts[0] in p.devices:
            device = p.devices[parts[0]].type
            iface = p.interfaces.get(device.interface) if isinstance(device, DeviceT) else None
            op = iface.ops.get(parts[1]) if iface is not None else None
            if op is not None:
                for pname, ptype in zip(op.param_names, op.type.params, strict=False):
                    yield pname, f"{pname}: {ptype}", None
                return


def _names(offset: int, programs: list[CheckedProgram],
           in_devices: bool) -> list[lsp.CompletionItem]:
    items = [_item(local.name, Kind.Variable, f"{local.kind} {local.name}: {local.type}", None)
             for local in _locals(offset, programs).values()]
    for p in programs:
        for name, info in p.functions.items():
            if info.decl is not None:
                items.append(_item(name, Kind.Function, "fn " + name + _fn_params(info), info.doc))
        for name, dinfo in p.devices.items():
            items.append(_item(name, Kind.Module, f"device {name}: {dinfo.type}", dinfo.decl.doc))
        for name, vinfo in p.vars.items():
            items.append(_item(name, Kind.Variable, f"var {name}: {vinfo.type}", vinfo.decl.doc))
        for name, decl in p.enums.items():
            items.append(_item(name, Kind.Enum, f"enum {name}", decl.doc))
        for name, sinfo in p.structs.items():
            items.append(_item(name, Kind.Struct, f"struct {name}", sinfo.decl.doc))
        if in_devices:
            for name, comp in p.components.items():
                params = ", ".join(("const " if q.is_const else "") + f"{q.name}: {q.type}"
                                   for q in comp.params)
                items.append(_item(name, Kind.Constructor,
                                   f"component {name}({params}) -> {comp.interface}",
                                   comp.decl.doc))
    items.append(_item("Target", Kind.Enum, "enum Target { hvt, unix, python }", None))
    for name, fn in BUILTINS.items():
        items.append(_item(name, Kind.Function, f"builtin {name}: {fn}", None))
    for name in SPECIAL_BUILTINS:
        items.append(_item(name, Kind.Function, f"builtin {name}", None))
    return items


def _fn_params(info: FunctionInfo) -> str:
    params = ", ".join(f"{n}: {t}" for n, t in zip(info.param_names, info.type.params,
                                                   strict=False))
    result = f" -> {info.type.result}" if info.type.result is not None else ""
    return f"({params}){result}"


def _keywords() -> list[lsp.CompletionItem]:
    return [_item(word, Kind.Keyword, None, None) for word in sorted(KEYWORDS)]


def _locals(offset: int, programs: list[CheckedProgram]) -> dict[str, Local]:
    # Only the latest program's tree lines up with the text being edited.
    return locals_at(programs[0], offset)


# ---------------------------------------------------------------------------
# reading the text


def _in_comment(before: str) -> bool:
    """Whether a `#` outside a string starts a comment before the cursor."""
    in_string = False
    escaped = False
    for ch in before:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            return True
    return False


def _open_paren(text: str, offset: int) -> int | None:
    """The offset of the `(` of the call the cursor is in, if any."""
    depth = 0
    start = max(0, offset - _LOOKBACK)
    for i in range(offset - 1, start - 1, -1):
        ch = text[i]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                return i if ch == "(" else None
            depth -= 1
        elif ch in "{}" and depth == 0:
            return None
    return None


def _in_devices_block(text: str, offset: int) -> bool:
    start = max(0, offset - _LOOKBACK * 4)
    opening = None
    for m in _DEVICES_BLOCK.finditer(text, start, offset):
        opening = m.end()
    if opening is None:
        return False
    depth = 1
    for ch in text[opening:offset]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return False
    return True


# ---------------------------------------------------------------------------
# items


def _item(label: str, kind: Kind, detail: str | None, doc: str | None) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=label, kind=kind, detail=detail,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc else None,
    )


def _unique(items: list[lsp.CompletionItem]) -> list[lsp.CompletionItem]:
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.label not in seen:
            seen.add(item.label)
            unique.append(item)
    return unique


def _first(values: Iterator[Type | None]) -> Type | None:
    return next((v for v in values if v is not None), None)
