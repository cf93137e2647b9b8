"""The ``specc`` command line: a thin shell over :mod:`specc.api`.

The library never prints or exits; this module is where diagnostics become
text on a stream and an exit status:

- 0: no errors (warnings alone do not fail a build);
- 1: the input has errors, or a named file does not exist;
- 2: bad usage: an unknown option, command or target, a bad option value,
  a missing or extra argument (click's convention), reported as an E08xx
  diagnostic located in the command line (specc.cli_errors);
- 3: specc itself failed; reported as an internal-error diagnostic, never
  as a Python traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from specc import cli_check
from specc.cli_check import (
    COLOR_CHOICES,
    EXIT_ERRORS,
    EXIT_INTERNAL,
    EXIT_OK,
    FORMATS,
    TARGETS,
    check_files,
    rendered,
)
from specc.cli_errors import COMMAND_LINE, requested_format, usage_problem
from specc.diagnostics import Diagnostic, Severity, ice_message
from specc.span import SourceFile, Span

__all__ = ["COLOR_CHOICES", "EXIT_ERRORS", "EXIT_INTERNAL", "EXIT_OK", "FORMATS", "TARGETS",
           "command_line", "main"]


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


# Where the command line as typed is kept, for diagnostics that point into it.
ARGV_KEY = "specc.argv"


class CommandLineGroup(click.Group):
    """The ``specc`` group: a command line click refuses (an unknown option,
    a bad value, a missing argument) is reported as a diagnostic in the
    format the command line asked for, exit status 2, not as click's text."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        argv = list(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as error:
            raise _refused(error, argv) from None
        ctx.meta[ARGV_KEY] = argv
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            raise _refused(error, command_line(ctx)) from None


def command_line(ctx: click.Context | None = None) -> list[str]:
    """The arguments specc was started with (after ``specc``)."""
    context = ctx or click.get_current_context()
    argv: list[str] = context.meta.get(ARGV_KEY, [])
    return argv


def _refused(error: click.ClickException, argv: list[str]) -> click.exceptions.Exit:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        error.show()  # bare `specc`: the help text is the answer
        return click.exceptions.Exit(error.exit_code)
    diagnostic, source, status = usage_problem(error, argv)
    _emit([diagnostic], {COMMAND_LINE: source}, requested_format(argv, FORMATS), "auto")
    return click.exceptions.Exit(status)


@click.group(cls=CommandLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    "-t",
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
    # specc.entry may have checked these files already (cli_check.run_plain).
    checked = cli_check.take_handed_over((files, output_format, target, color))
    diagnostics, sources, status = checked or check_files(files, target)
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
@click.option("-t", "--target", type=click.Choice(TARGETS), default="hvt", show_default=True,
              help="The target documents are checked for, until the editor's settings "
              "(`target`) name another.")
def lsp(stdio: bool, target: str) -> None:
    """Run the language server over stdin and stdout, for editors (docs/editors.md)."""
    del stdio
    from specc.lsp.server import main as serve

    serve(target)


@main.command("fmt")
@click.argument("files", nargs=-1, required=True, metavar="FILE...", type=click.Path(path_type=str))
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing: list the files that are not formatted, exit 1 if any "
              "(on stdout; on stderr with --format gcc or json).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="pretty",
              show_default=True, help="How to report problems: pretty, gcc or json.")
@click.option("-t", "--target", type=click.Choice(TARGETS), default="hvt", show_default=True,
              help="Accepted for symmetry with the other commands; the layout is the same "
              "for every target.")
@click.pass_context
def fmt(ctx: click.Context, files: tuple[str, ...], check_only: bool, output_format: str,
        target: str) -> None:
    """Rewrite FILE... in the canonical layout, keeping every comment.

    A file with syntax errors is reported and left untouched; a file is
    replaced only by renaming a finished copy over it, so a failed write
    never loses it."""
    del target  # the canonical layout does not depend on the target
    from specc.fmt.files import format_file

    status = EXIT_OK
    diagnostics: list[Diagnostic] = []
    sources: dict[str, SourceFile] = {}
    for path in files:
        outcome = format_file(path, write=not check_only)
        if outcome.source is not None:
            sources[path] = outcome.source
        if outcome.internal_error is not None:
            span = Span(path, 1, 1, 1, 1, 0, 0)
            message = f"internal compiler error: fmt: {outcome.internal_error}; please report this bug"
            diagnostics.append(Diagnostic("E9001", Severity.ERROR, message, span))
            status = EXIT_INTERNAL
        elif outcome.error is not None or outcome.diagnostics:
            diagnostics.extend([outcome.error] if outcome.error is not None else [])
            diagnostics.extend(outcome.diagnostics)
            status = max(status, EXIT_ERRORS)
        elif outcome.changed and check_only:
            # stdout is the diagnostics' in the gcc and json formats.
            click.echo(path, err=output_format != "pretty")
            status = max(status, EXIT_ERRORS)
    _emit(diagnostics, sources, output_format, "auto")
    ctx.exit(status)


def _emit(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    output_format: str,
    color: str,
    stdout_taken: bool = False,
) -> None:
    # The gcc and json reports are on stdout, unless the command's product is
    # (a graph, an explanation, a dump): then they go to stderr, so neither
    # corrupts the other.
    text, use_color = rendered(diagnostics, sources, output_format, color)
    if output_format == "json":
        click.echo(text, nl=False, err=stdout_taken)
    elif output_format == "gcc":
        if text:
            click.echo(text, nl=False, err=stdout_taken)
    elif text:
        # color=True stops click stripping the escapes when stderr is a pipe
        # and the user asked for --color=always.
        click.echo(text, nl=False, err=True, color=use_color)


# --------------------------------------------------------------------------
# internal errors


def _ice_message(exc: BaseException) -> str:
    return ice_message(exc)


# The middle-end commands register themselves on `main`.
from specc import cli_middle as _cli_middle  # noqa: E402, F401
from specc import cli_new as _cli_new  # noqa: E402, F401
