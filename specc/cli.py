"""The ``specc`` command line: a thin shell over :mod:`specc.api`.

The library never prints or exits; this module is where diagnostics become
text on a stream and an exit status:

- 0: no errors (warnings alone do not fail a build);
- 1: the input has errors, or a named file does not exist;
- 2: bad usage (click's own convention);
- 3: specc itself failed; reported as an internal-error diagnostic, never
  as a Python traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

import click

# `api` is looked up as a module attribute at call time (not `from ... import
# check_file`) so tests can monkeypatch `specc.api.check_file`.
from specc import api
from specc.diagnostics import Diagnostic, Severity, ice_message, internal_error
from specc.render import render_gcc, render_json, render_pretty
from specc.span import SourceFile, Span

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_INTERNAL = 3

TARGETS = ("hvt", "unix", "python")
FORMATS = ("pretty", "gcc", "json")
COLOR_CHOICES = ("auto", "always", "never")


def _version() -> str:
    # The installed distribution's metadata is the truth for a release; a
    # source tree that was never installed falls back to the package constant.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("specc")
    except PackageNotFoundError:
        from specc import __version__

        return __version__


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # A callback rather than click.version_option, so the metadata lookup
    # only happens when --version is actually given.
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"specc {_version()}")
    ctx.exit(EXIT_OK)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def main() -> None:
    """specc: a type-safe configuration and specialization compiler for unikernels."""


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...", type=click.Path(path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="pretty",
    show_default=True,
    help="pretty (for people, on stderr), gcc or json (for tools, on stdout).",
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="hvt",
    show_default=True,
    help="The target the `target` constant is checked for.",
)
@click.option(
    "--color",
    type=click.Choice(COLOR_CHOICES),
    default="auto",
    show_default=True,
    help="Colour the pretty format (auto: when stderr is a terminal and NO_COLOR is unset).",
)
@click.pass_context
def check(
    ctx: click.Context, files: tuple[str, ...], output_format: str, target: str, color: str
) -> None:
    """Parse, resolve and type-check FILE... and report every problem found."""
    status = EXIT_OK
    diagnostics: list[Diagnostic] = []
    sources: dict[str, SourceFile] = {}

    for path in files:
        # A path that is not there at all gets one line, not a diagnostic:
        # there is no source to point into.  Anything subtler (permissions,
        # bad encoding) is check_file's to report, as E0104.
        problem = _missing(path)
        if problem is not None:
            click.echo(f"specc: error: cannot read '{path}': {problem}", err=True)
            status = max(status, EXIT_ERRORS)
            continue
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

    try:
        _emit(diagnostics, sources, output_format, color)
    except Exception as exc:
        # Rendering is the last line of defence; if it fails, say so in one
        # line rather than let a traceback through.
        click.echo(f"specc: {_ice_message(exc)}", err=True)
        status = EXIT_INTERNAL
    ctx.exit(status)


@main.command()
@click.option("--stdio", is_flag=True, help="Talk over stdin and stdout (the default and only "
              "transport; accepted because editors pass it).")
def lsp(stdio: bool) -> None:
    """Run the language server over stdin and stdout, for editors (docs/editors.md)."""
    del stdio
    from specc.lsp.server import main as serve

    serve()


@main.command("fmt")
@click.argument("files", nargs=-1, required=True, metavar="FILE...", type=click.Path(path_type=str))
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing: list the files that are not formatted, exit 1 if any.")
@click.pass_context
def fmt(ctx: click.Context, files: tuple[str, ...], check_only: bool) -> None:
    """Rewrite FILE... in the canonical layout, keeping every comment.

    A file with syntax errors is reported and left untouched."""
    from specc.fmt.files import format_file

    status = EXIT_OK
    for path in files:
        problem = _missing(path)
        outcome = format_file(path, write=not check_only) if problem is None else None
        if outcome is None or outcome.error is not None:
            reason = f"cannot read '{path}': {problem}" if outcome is None else outcome.error
            click.echo(f"specc: error: {reason}", err=True)
            status = max(status, EXIT_ERRORS)
        elif outcome.internal_error is not None:
            span = Span(path, 1, 1, 1, 1, 0, 0)
            message = f"internal compiler error: fmt: {outcome.internal_error}; please report this bug"
            _emit([Diagnostic("E9001", Severity.ERROR, message, span)], {}, "pretty", "auto")
            status = EXIT_INTERNAL
        elif outcome.diagnostics:
            assert outcome.source is not None
            _emit(outcome.diagnostics, {path: outcome.source}, "pretty", "auto")
            status = max(status, EXIT_ERRORS)
        elif outcome.changed and check_only:
            click.echo(path)
            status = max(status, EXIT_ERRORS)
    ctx.exit(status)


def _missing(path: str) -> str | None:
    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a directory"
    return None


def _emit(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    output_format: str,
    color: str,
) -> None:
    if output_format == "json":
        click.echo(render_json(diagnostics), nl=False)
        return
    if output_format == "gcc":
        text = render_gcc(diagnostics)
        if text:
            click.echo(text, nl=False)
        return
    use_color = _use_color(color, sys.stderr)
    text = render_pretty(diagnostics, sources, color=use_color)
    if text:
        # color=True stops click stripping the escapes when stderr is a pipe
        # and the user asked for --color=always.
        click.echo(text, nl=False, err=True, color=use_color)


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    # https://no-color.org: set and non-empty disables colour.
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# --------------------------------------------------------------------------
# internal errors


def _ice_message(exc: BaseException) -> str:
    return ice_message(exc)


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


# The middle-end commands register themselves on `main`.
from specc import cli_middle as _cli_middle  # noqa: E402, F401
from specc import cli_new as _cli_new  # noqa: E402, F401
