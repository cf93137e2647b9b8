"""Checking an edited document again without parsing all of it.

The language server checks a document after every edit.  Most of that cost
is parsing, and an edit changes one top-level declaration: :mod:`.chunks`
splits a text at the lines that start a top-level declaration,
:mod:`.parse` parses only the pieces whose text is new and reuses the
others' syntax trees, moved by :mod:`.relocate` when lines above them were
added or removed.  The result is always the module a full parse of the same
text gives (the differential test, tests/test_incremental.py, holds it to
that); whenever the split cannot be trusted the whole text is parsed.
"""
