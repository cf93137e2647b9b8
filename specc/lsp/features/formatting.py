"""``textDocument/formatting``, by ``specc fmt``.

The formatter lives in :mod:`specc.fmt` (written separately); it is imported
when first asked for, and when it is missing, or cannot format the text
(syntax errors), the answer is "no edits".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from lsprotocol import types as lsp

from specc.lsp.convert import whole_range
from specc.lsp.workspace import DocumentState

Formatter = Callable[[str, str], "str | None"]


def load_formatter() -> Formatter | None:
    try:
        module = importlib.import_module("specc.fmt")
    except ImportError:
        return None
    function = getattr(module, "format_source", None)
    return cast(Formatter, function) if callable(function) else None


def formatting(state: DocumentState, encoding: str) -> list[lsp.TextEdit]:
    formatter = load_formatter()
    if formatter is None:
        return []
    source = state.source
    formatted = formatter(source.text, state.path)
    if formatted is None or formatted == source.text:
        return []
    return [lsp.TextEdit(range=whole_range(source, encoding), new_text=formatted)]
