"""The ``specc new`` command (registered on ``specc.cli.main``)."""

from __future__ import annotations

import sys

import click

from specc.cli import EXIT_ERRORS, EXIT_OK, main
from specc.new import DEFAULT_TEMPLATE, TEMPLATES, create


@main.command("new")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--template", type=click.Choice(TEMPLATES), default=DEFAULT_TEMPLATE,
              show_default=True, help="udp: a UDP service; dns: an authoritative DNS server "
              "with its zone; http: a static web site with its files.")
def new(directory: str, template: str) -> None:
    """Start a spec in DIRECTORY (created if needed), from a template.

    Writes DIRECTORY/NAME.spec (NAME from the directory's name) and the data
    it reads.  An existing file is never overwritten: if one is in the way,
    nothing is written."""
    try:
        result = create(directory, template)
    except OSError as error:
        click.echo(f"specc: error: cannot write into '{directory}': "
                   f"{error.strerror or error}", err=True)
        sys.exit(EXIT_ERRORS)
    if result.refused:
        for path in result.refused:
            click.echo(f"specc: error: '{path}' exists already; `specc new` never overwrites "
                       "a file, so nothing was written", err=True)
        sys.exit(EXIT_ERRORS)
    for path in result.written:
        click.echo(f"specc: wrote {path}", err=True)
    click.echo(f"next: specc check {result.spec} && specc run {result.spec} -t python", err=True)
    sys.exit(EXIT_OK)
