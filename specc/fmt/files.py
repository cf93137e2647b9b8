"""Formatting files in place, for ``specc fmt``.

A file is only written when its text changes, and then atomically: the new
text goes to a temporary file in the same directory, which replaces the
original with :func:`os.replace` (keeping its permission bits; a symbolic
link is followed, not replaced).  A file with syntax errors is not touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from specc import inputs
from specc.diagnostics import Diagnostic, Severity
from specc.fmt import format_text
from specc.span import SourceFile, Span


@dataclass
class FileOutcome:
    path: str
    changed: bool = False  # the file was not in the canonical layout
    source: SourceFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)  # syntax errors
    error: Diagnostic | None = None  # could not read it (E0104) or write it (E0806)
    internal_error: str | None = None  # the formatter failed


def format_file(path: str, *, write: bool) -> FileOutcome:
    """Format the file at ``path``; rewrite it if ``write`` and it changes."""
    try:
        text = inputs.read_text(path, inputs.SPEC_LIMIT)  # never a FIFO or a device
    except (OSError, UnicodeDecodeError) as error:
        return FileOutcome(path, error=_file_error("E0104", f"cannot read `{path}`", error, path))
    result = format_text(text, path)
    if result.text is None:
        return FileOutcome(path, source=SourceFile(path, text), diagnostics=result.diagnostics,
                           internal_error=result.internal_error)
    outcome = FileOutcome(path, changed=result.text != text, source=SourceFile(path, text))
    if outcome.changed and write:
        try:
            replace_text(path, result.text)
        except OSError as error:
            # replace_text renames a finished temporary file over the
            # original, so a failure at any step leaves the original intact.
            outcome.error = _file_error("E0806", f"cannot write `{path}`", error, path,
                                        hint=f"`{path}` was left as it was")
    return outcome


def _file_error(code: str, what: str, error: OSError | UnicodeDecodeError, path: str,
                hint: str | None = None) -> Diagnostic:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return Diagnostic(code, Severity.ERROR, f"{what}: {reason}", Span(path, 1, 1, 1, 1, 0, 0),
                      hint=hint)


def replace_text(path: str, text: str) -> None:
    """Replace the contents of ``path`` with ``text``, atomically."""
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        shutil.copymode(target, temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
