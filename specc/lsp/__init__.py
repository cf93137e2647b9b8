"""``specc lsp``: the language server.

A thin layer over :mod:`specc.api`: :mod:`~specc.lsp.server` holds the pygls
handlers, :mod:`~specc.lsp.workspace` the per-document state and debounced
checks, :mod:`~specc.lsp.convert` the pure conversions to LSP types,
:mod:`~specc.lsp.index` the names of a checked program, and
:mod:`specc.lsp.features` one module per feature.
"""
