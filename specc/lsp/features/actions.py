"""``textDocument/codeAction``: quick fixes for diagnostics.

A diagnostic with a machine-applicable ``fix`` offers it; one whose hint
reads "did you mean `X`?" offers replacing its span with ``X``.  For a
`config.X` hint on a bare name, the name becomes ``config.X``; on the key of
a ``config.`` reference (which already has the prefix), just ``X``.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from specc.diagnostics import Diagnostic
from specc.lsp.convert import diagnostic_to_lsp, path_to_uri, range_to_offsets, text_edit
from specc.lsp.features import source_lookup
from specc.lsp.workspace import DocumentState
from specc.span import Span

_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
_CONFIG_PREFIX = "config."


def code_actions(state: DocumentState, rng: lsp.Range, encoding: str) -> list[lsp.CodeAction]:
    result = state.result
    if result is None:
        return []
    source = state.source
    start, end = range_to_offsets(source, rng, encoding)
    lookup = source_lookup(state)
    actions = []
    for d in result.diagnostics:
        if d.span.file != state.path or d.span.end < start or d.span.start > end:
            continue
        fix = quick_fix(d, source.text)
        if fix is None:
            continue
        span, replacement = fix
        actions.append(lsp.CodeAction(
            title=f"Replace with `{replacement}`",
            kind=lsp.CodeActionKind.QuickFix,
            diagnostics=[diagnostic_to_lsp(d, lookup, encoding)],
            is_preferred=True,
            edit=lsp.WorkspaceEdit(changes={path_to_uri(state.path): [
                text_edit(span, replacement, lookup, encoding)]}),
        ))
    return actions


def quick_fix(d: Diagnostic, text: str) -> tuple[Span, str] | None:
    """The edit that fixes ``d`` (a span of ``text`` and its replacement), if any."""
    if d.fix is not None:
        return d.fix
    match = _DID_YOU_MEAN.search(d.hint or "")
    if match is None:
        return None
    replacement = match.group(1)
    if replacement.startswith(_CONFIG_PREFIX) and \
            text[max(0, d.span.start - len(_CONFIG_PREFIX)):d.span.start] == _CONFIG_PREFIX:
        replacement = replacement[len(_CONFIG_PREFIX):]
    return d.span, replacement
