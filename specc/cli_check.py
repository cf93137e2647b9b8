"""What ``specc check`` does, without click: check the files, render the
report; and the way the ``specc`` script runs the commonest command lines of
``specc check`` without importing click at all.

Importing click, and the dozen commands :mod:`specc.cli` declares with it,
was about a tenth of the instructions of ``specc check`` on a small spec
(issue 13).  :func:`run_plain` is what :mod:`specc.entry` tries first.  It
takes only a command line that click would parse without a complaint and to
values it can name in advance, ``specc check FILE...`` with at most one each
of ``--format``, ``-t``/``--target`` and ``--color`` whose values are among
the choices (:func:`plain_request`), and it finishes alone only when the
check has nothing to print: a clean check in the pretty or gcc format.
Then the exit status is all there is to see, and it is the one the click
command gives (:func:`check_files` computes it for both).  Anything else,
another command line, a report to print, an exception, goes to the click
command as it always did, which takes over the check already made
(:func:`take_handed_over`) rather than doing it twice, so click writes every
byte that is written and handles every error, ^C included, itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

# `api` is looked up as a module attribute at call time (not `from ... import
# check_file`) so tests can monkeypatch `specc.api.check_file`.
from specc import api
from specc.diagnostics import Diagnostic, internal_error
from specc.render import render_gcc, render_json, render_pretty
from specc.span import SourceFile

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_INTERNAL = 3

TARGETS = ("hvt", "unix", "python")
FORMATS = ("pretty", "gcc", "json")
COLOR_CHOICES = ("auto", "always", "never")

# The options of `specc check` a plain command line may use: how each is
# spelt, the parameter click gives its value to, and the values click accepts.
_OPTIONS = {"--format": "output_format", "-t": "target", "--target": "target",
            "--color": "color"}
_CHOICES = {"output_format": FORMATS, "target": TARGETS, "color": COLOR_CHOICES}
_DEFAULTS = {"output_format": "pretty", "target": "hvt", "color": "auto"}

# A request is (files, output_format, target, color), as click passes them
# to the check command; a check is (diagnostics, sources, exit status).
Request = tuple[tuple[str, ...], str, str, str]
Checked = tuple[list[Diagnostic], dict[str, SourceFile], int]


def check_files(files: Sequence[str], target: str) -> Checked:
    """Check each file; the diagnostics, the sources read and the exit status."""
    status = EXIT_OK
    diagnostics: list[Diagnostic] = []
    sources: dict[str, SourceFile] = {}

    for path in files:
        # A missing path, a directory, a FIFO: check_file reports each as
        # E0104, as `specc compile` does.
        try:
            result = api.check_file(path, target=target)
        except Exception as exc:  # any failure of ours becomes a bug report
            diagnostic = internal_error(exc, path)
            diagnostics.append(diagnostic)
            _add_source_if_readable(sources, diagnostic.span.file)
            status = EXIT_INTERNAL
            continue
        diagnostics.extend(result.diagnostics)
        sources.update(result.sources)
        if result.internal_error:
            status = EXIT_INTERNAL

    if status != EXIT_INTERNAL and any(d.is_error for d in diagnostics):
        status = EXIT_ERRORS
    return diagnostics, sources, status


def rendered(diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile],
             output_format: str, color: str) -> tuple[str, bool]:
    """The report in ``output_format``, and whether it is coloured."""
    if output_format == "json":
        return render_json(diagnostics), False
    if output_format == "gcc":
        return render_gcc(diagnostics), False
    use_color = use_color_on(color, sys.stderr)
    return render_pretty(diagnostics, sources, color=use_color), use_color


def use_color_on(choice: str, stream: TextIO) -> bool:
    """Whether the pretty report on ``stream`` is coloured, for ``--color``."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    # https://no-color.org: set and non-empty disables colour.
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _add_source_if_readable(sources: dict[str, SourceFile], path: str) -> None:
    # Best effort, so the internal-error report can show the line it points
    # at; a file that cannot be read is simply shown by location alone.
    if path in sources:
        return
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return
    sources[path] = SourceFile(path, text)


# --------------------------------------------------------------------------
# the command line without click


def plain_request(argv: Sequence[str], environ: Mapping[str, str]) -> Request | None:
    """The check command's arguments for ``argv`` (after ``specc``), when it is
    a command line click takes without a word of its own; else None.

    Every form this accepts, click parses to the same values (the tests try
    them against click); the rest, however rare, is left to click: an option
    given twice, ``-tVALUE``, ``--``, a word starting with ``-``, a value
    that is not a choice, ``--help``, no file.  So is every command line when
    a shell-completion variable is set (click answers it instead of running
    the command), and on Windows, where click expands wildcards first.
    """
    if os.name == "nt" or len(argv) < 2 or argv[0] != "check":
        return None
    if any(name.endswith("_COMPLETE") for name in environ):
        return None
    files: list[str] = []
    values: dict[str, str] = {}
    index = 1
    while index < len(argv):
        word = argv[index]
        index += 1
        if not word.startswith("-"):
            if not _click_path_accepts(word):
                return None
            files.append(word)
            continue
        spelling, equals, value = word.partition("=")
        parameter = _OPTIONS.get(spelling)
        if parameter is None or parameter in values:
            return None
        if not equals:
            if index == len(argv):
                return None
            value = argv[index]
            index += 1
        elif not spelling.startswith("--"):
            return None  # click reads `-t=hvt` as the value "=hvt"
        if value not in _CHOICES[parameter]:
            return None
        values[parameter] = value
    if not files:
        return None
    chosen = {**_DEFAULTS, **values}
    return tuple(files), chosen["output_format"], chosen["target"], chosen["color"]


def _click_path_accepts(path: str) -> bool:
    # click.Path() as the check command declares it: anything that does not
    # exist, and anything that does and is readable.
    try:
        os.stat(path)
    except OSError:
        return True
    return os.access(path, os.R_OK)


_handed_over: dict[Request, Checked | BaseException] = {}


def run_plain(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """The exit status of ``specc check`` for ``argv`` when it is plain and the
    check has nothing to print; else None, for the click command to answer,
    with the check made here handed over to it."""
    request = plain_request(argv, environ)
    if request is None:
        return None
    files, output_format, target, color = request
    try:
        checked = check_files(files, target)
    except BaseException as stopped:  # ^C: click says "Aborted!", as it would have
        _handed_over[request] = stopped
        return None
    _handed_over[request] = checked
    diagnostics, sources, status = checked
    if output_format == "json":
        return None
    try:
        text, _ = rendered(diagnostics, sources, output_format, color)
    except Exception:  # the click command reports it
        return None
    if text:
        return None
    del _handed_over[request]
    return status


def take_handed_over(request: Request) -> Checked | None:
    """The check :func:`run_plain` made for exactly this request, once."""
    checked = _handed_over.pop(request, None)
    if isinstance(checked, BaseException):
        raise checked
    return checked
