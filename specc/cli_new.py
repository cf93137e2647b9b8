"""The ``specc new`` command (registered on ``specc.cli.main``)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from specc.cli import EXIT_ERRORS, EXIT_OK, FORMATS, TARGETS, _emit, main
from specc.diagnostics import Diagnostic, Severity
from specc.new import DEFAULT_TEMPLATE, TEMPLATES, create
from specc.span import Span


@main.command("new")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--template", type=click.Choice(TEMPLATES), default=DEFAULT_TEMPLATE,
              show_default=True, help="udp: a UDP service; dns: an authoritative DNS server "
              "with its zone; http: a static web site with its files.")
@click.option("-t", "--target", type=click.Choice(TARGETS), default="python", show_default=True,
              help="The target of the suggested next command; what is written is the same "
              "for every target (each template builds on all three).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="pretty",
              show_default=True, help="How to report problems: pretty, gcc or json.")
def new(directory: str, template: str, target: str, output_format: str) -> None:
    """Start a spec in DIRECTORY (created if needed), from a template.

    Writes DIRECTORY/NAME.spec (NAME from the directory's name) and the data
    it reads.  An existing file is never overwritten: if one is in the way,
    nothing is written."""
    try:
        result = create(directory, template)
    except OSError as error:
        where = error.filename if isinstance(error.filename, str) else directory
        _refuse([_cannot_write(where, f"cannot write into `{directory}`: "
                               f"{error.strerror or error}")], output_format)
    if result.refused:
        _refuse([_cannot_write(path, f"`{path}` exists already; `specc new` never overwrites "
                               "a file, so nothing was written") for path in result.refused],
                output_format)
    for path in result.written:
        click.echo(f"specc: wrote {path}", err=True)
    click.echo(f"next: specc check {result.spec} && specc run {result.spec} -t {target}",
               err=True)
    sys.exit(EXIT_OK)


def _cannot_write(path: str, message: str) -> Diagnostic:
    return Diagnostic("E0806", Severity.ERROR, message, Span(path, 1, 1, 1, 1, 0, 0))


def _refuse(diagnostics: list[Diagnostic], output_format: str) -> NoReturn:
    _emit(diagnostics, {}, output_format, "auto")
    sys.exit(EXIT_ERRORS)
