"""``textDocument/definition`` and ``textDocument/references``.

Both start from the name under the cursor (:meth:`Index.at`); a definition
may be in a `use`d file or in the prelude, which specc ships as a real file,
so the editor can open it.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from specc.lsp.convert import location, position_to_offset
from specc.lsp.features import source_lookup
from specc.lsp.index import declaration_span
from specc.lsp.workspace import DocumentState


def definition(state: DocumentState, position: lsp.Position,
               encoding: str) -> list[lsp.Location]:
    program, index = state.program, state.index
    if program is None or index is None:
        return []
    occurrence = index.at(state.path, position_to_offset(state.source, position, encoding))
    if occurrence is None:
        return []
    span = declaration_span(program, occurrence.symbol)
    if span is None:
        return []  # a builtin: declared nowhere
    return [location(span, source_lookup(state), encoding)]


def references(state: DocumentState, position: lsp.Position, include_declaration: bool,
               encoding: str) -> list[lsp.Location]:
    index = state.index
    if index is None:
        return []
    occurrence = index.at(state.path, position_to_offset(state.source, position, encoding))
    if occurrence is None:
        return []
    found = [o for o in index.same(occurrence.symbol)
             if include_declaration or not o.declaration]
    lookup = source_lookup(state)
    seen: set[tuple[str, int, int]] = set()
    locations = []
    for o in sorted(found, key=lambda o: (o.span.file, o.span.start)):
        key = (o.span.file, o.span.start, o.span.end)
        if key not in seen:
            seen.add(key)
            locations.append(location(o.span, lookup, encoding))
    return locations

