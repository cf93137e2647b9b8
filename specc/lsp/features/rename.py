"""``textDocument/prepareRename`` and ``textDocument/rename``.

A rename edits the declaration's name and every reference to it, in every
file of the program that the user wrote (the application and the files it
uses).  Builtins, builtin types and anything declared in the prelude are not
the user's to rename: those requests fail with a message.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from specc.check.loader import prelude_path
from specc.check.program import CheckedProgram, Symbol
from specc.lsp.convert import path_to_uri, position_to_offset, span_to_range, text_edit
from specc.lsp.features import source_lookup
from specc.lsp.index import Occurrence
from specc.lsp.workspace import DocumentState
from specc.syntax.lexer import KEYWORDS

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RenameError(Exception):
    """The rename cannot be done; the message says why, for the user."""


def prepare_rename(state: DocumentState, position: lsp.Position,
                   encoding: str) -> lsp.Range:
    occurrence = _renamable_at(state, position, encoding)
    return span_to_range(occurrence.span, state.source, encoding)


def rename(state: DocumentState, position: lsp.Position, new_name: str,
           encoding: str) -> lsp.WorkspaceEdit:
    occurrence = _renamable_at(state, position, encoding)
    if not _IDENTIFIER.match(new_name):
        raise RenameError(f"`{new_name}` is not a name: names are letters, digits and `_`, "
                          "not starting with a digit")
    if new_name in KEYWORDS:
        raise RenameError(f"`{new_name}` is a keyword")
    assert state.program is not None and state.index is not None
    _check_clash(state.program, occurrence.symbol, new_name)
    lookup = source_lookup(state)
    changes: dict[str, list[lsp.TextEdit]] = {}
    seen: set[tuple[str, int, int]] = set()
    for o in state.index.same(occurrence.symbol):
        key = (o.span.file, o.span.start, o.span.end)
        if key in seen:
            continue
        seen.add(key)
        changes.setdefault(path_to_uri(o.span.file), []).append(
            text_edit(o.span, new_name, lookup, encoding))
    return lsp.WorkspaceEdit(changes=changes)


def _renamable_at(state: DocumentState, position: lsp.Position, encoding: str) -> Occurrence:
    index = state.index
    if index is None:
        raise RenameError("this file could not be checked, so its names are not known")
    occurrence = index.at(state.path, position_to_offset(state.source, position, encoding))
    if occurrence is None:
        raise RenameError("there is no name here to rename")
    symbol = occurrence.symbol
    if symbol.span is None or symbol.kind in ("builtin", "type"):
        raise RenameError(f"`{symbol.name}` is built into specc and cannot be renamed")
    if symbol.span.file == prelude_path():
        raise RenameError(f"`{symbol.name}` is declared in the prelude (the library that ships "
                          "with specc) and cannot be renamed")
    return occurrence


_TABLES = {
    "function": "functions", "device": "devices", "component": "components",
    "config-const": "config", "config-param": "config", "struct": "structs",
    "interface": "interfaces", "enum": "enums", "global-var": "vars",
}


def _check_clash(program: CheckedProgram, symbol: Symbol, new_name: str) -> None:
    """Refuse a rename onto a name that is already declared at the top level."""
    table_name = _TABLES.get(symbol.kind)
    if table_name is None:
        return
    table: dict[str, object] = getattr(program, table_name)
    if new_name in table and new_name != symbol.name:
        raise RenameError(f"`{new_name}` is already declared")
    if symbol.kind in ("function", "device", "component", "global-var") and new_name in (
            set(program.functions) | set(program.devices) | set(program.components)
            | set(program.vars)) - {symbol.name}:
        raise RenameError(f"`{new_name}` is already declared")
