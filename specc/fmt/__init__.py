"""``specc fmt``: the one canonical layout of a ``.spec`` file.

:func:`format_source` is the entry point (the command line and the language
server's formatting request use it).  Text with syntax errors is never
formatted.  Every result is checked before it is returned: it must parse to
the same program (:func:`specc.fmt.verify.structure`) with the same
comments; if it does not, that is a bug in the formatter, and the text is
left alone rather than changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from specc import ast
from specc.diagnostics import Diagnostic, DiagnosticSink
from specc.fmt.doc import render
from specc.fmt.printer import Printer
from specc.fmt.verify import comment_texts, structure
from specc.span import SourceFile
from specc.syntax.parser import parse_module

__all__ = ["WIDTH", "FormatResult", "format_source", "format_text"]

WIDTH = 100


@dataclass
class FormatResult:
    """``text``: the formatted text, or None when the input has syntax errors
    (``diagnostics``) or the formatter failed (``internal_error``)."""

    text: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    internal_error: str | None = None


def is_syntax_error(d: Diagnostic) -> bool:
    return d.code.startswith("E000")


def format_text(text: str, path: str = "<string>", *, width: int = WIDTH) -> FormatResult:
    """Format ``text``, with the syntax errors that prevent it."""
    sink = DiagnosticSink()
    module = parse_module(SourceFile(path, text), sink)
    errors = [d for d in sink.items if is_syntax_error(d)]
    if errors:
        return FormatResult(None, sorted(errors, key=Diagnostic.sort_key))
    try:
        printer = Printer(text, module.comments)
        formatted = render(printer.module(module), width).rstrip("\n")
        formatted = formatted + "\n" if formatted else ""
        lost = printer.unplaced()
        problem = f"comment at {lost[0].span} not placed" if lost else None
        problem = problem or _difference(module, formatted, path)
    except RecursionError:
        problem = "the file is nested too deeply to format"
    except Exception as error:  # a bug of ours: leave the text alone
        problem = f"{type(error).__name__}: {error}"
    if problem is not None:
        return FormatResult(None, internal_error=problem)
    return FormatResult(formatted)


def format_source(text: str, path: str = "<string>", *, width: int = WIDTH) -> str | None:
    """The formatted text, or None when ``text`` has syntax errors."""
    return format_text(text, path, width=width).text


def _difference(before: ast.Module, formatted: str, path: str) -> str | None:
    """Why ``formatted`` is not the same program as ``before``, if it is not."""
    sink = DiagnosticSink()
    after = parse_module(SourceFile(path, formatted), sink)
    errors = [d for d in sink.items if is_syntax_error(d)]
    if errors:
        return f"the formatted text does not parse: {errors[0].span}: {errors[0].message}"
    if structure(after) != structure(before):
        return "the formatted text parses to a different program"
    if comment_texts(after) != comment_texts(before):
        return "the formatted text lost or changed a comment"
    return None
