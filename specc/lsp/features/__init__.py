"""One module per LSP feature; each has one public entry function that takes
a checked document and returns lsprotocol values."""

from __future__ import annotations

from specc.lsp.convert import SourceLookup
from specc.lsp.workspace import DocumentState
from specc.span import SourceFile


def source_lookup(state: DocumentState) -> SourceLookup:
    """path -> the text specc read for it (for converting its spans)."""

    def lookup(path: str) -> SourceFile | None:
        if path == state.path:
            return state.source
        return state.source_of(path)

    return lookup
