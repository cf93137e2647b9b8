"""The commands that run the middle end: `compile`, `explain` and `graph`.

They share `-t/--target`, `-D NAME=VALUE` and `--config FILE`, and report
problems exactly as `specc check` does.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from specc.cli import EXIT_ERRORS, EXIT_INTERNAL, EXIT_OK, FORMATS, TARGETS, _emit, main
from specc.passes import DUMP_PASSES as PASS_NAMES


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """A failure of specc itself in a command becomes one internal-error
    report (exit 3), never a traceback."""

    @functools.wraps(command)
    def run_guarded(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as error:
            from specc.cli import _ice_message

            click.echo(f"specc: {_ice_message(error)}", err=True)
            sys.exit(EXIT_INTERNAL)

    return run_guarded


def compile_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every middle-end command takes."""
    command = click.option("--format", "output_format", type=click.Choice(FORMATS),
                           default="pretty", show_default=True,
                           help="How to report problems: pretty, gcc or json.")(command)
    command = click.option("--config", "config_file", type=click.Path(dir_okay=False),
                           help="A TOML file whose [config] table overrides const keys.")(command)
    command = click.option("-D", "defines", multiple=True, metavar="NAME=VALUE",
                           help="Override a const config key (wins over --config).")(command)
    command = click.option("-t", "--target", type=click.Choice(TARGETS), default="hvt",
                           show_default=True, help="The target to build for.")(command)
    return click.argument("file", type=click.Path(path_type=str))(command)


def run_middle(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
               output_format: str, stop_after: str | None = None) -> Any:
    """Compile through the middle end; on errors, report them and exit."""
    from specc.driver import CompileOptions, compile_file

    if not os.path.isfile(file):
        click.echo(f"specc: error: cannot read '{file}': no such file", err=True)
        sys.exit(EXIT_ERRORS)
    if config_file is not None and not os.path.isfile(config_file):
        click.echo(f"specc: error: cannot read config file '{config_file}': no such file",
                   err=True)
        sys.exit(EXIT_ERRORS)
    for define in defines:
        if "=" not in define:
            click.echo(f"specc: error: -D {define}: expected NAME=VALUE", err=True)
            sys.exit(EXIT_ERRORS)
    try:
        result = compile_file(file, CompileOptions(target, defines, config_file, stop_after))
    except Exception as error:  # a bug in specc: one diagnostic, never a traceback
        from specc.cli import internal_error

        _emit([internal_error(error, file)], {}, output_format, "auto")
        sys.exit(EXIT_INTERNAL)
    _emit(result.diagnostics, result.check.sources, output_format, "auto")
    if any(d.code == "E9001" for d in result.diagnostics):
        sys.exit(EXIT_INTERNAL)
    if result.has_errors:
        sys.exit(EXIT_ERRORS)
    return result


@main.command(name="compile")
@compile_options
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write the image and manifest.json (default: out/NAME-TARGET).")
@click.option("--dump-after", type=click.Choice(PASS_NAMES), default=None,
              help="Print the program after this pass and stop.")
@guarded
def compile_command(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
                    output_format: str, output_dir: str | None, dump_after: str | None) -> None:
    """Compile FILE for a target: check, evaluate, specialize, write the manifest."""
    from specc.dumps import dump

    result = run_middle(file, target, defines, config_file, output_format, dump_after)
    if dump_after is not None:
        click.echo(dump(result, dump_after), nl=False)
        sys.exit(EXIT_OK)
    built = build(result, output_dir, output_format)
    click.echo(f"specc: wrote {built}", err=True)


def build(result: Any, output_dir: str | None, output_format: str) -> str:
    """Write the image and the manifest; exit on errors.  Returns the image's path."""
    from specc.backends import BackendError, emit_image
    from specc.backends.c.build import BuildError
    from specc.diagnostics import DiagnosticSink
    from specc.manifest import write_manifest

    image = result.image
    target = image.target
    directory = output_dir or os.path.join("out", f"{image.name}-{target}")
    try:
        emitted = emit_image(image, directory)
    except BackendError as error:
        sink = DiagnosticSink()
        program = result.program
        span = error.span if error.span is not None else program.unikernel.span
        sink.add("E0701", span, error.message)
        _emit(sink.items, result.check.sources, output_format, "auto")
        sys.exit(EXIT_ERRORS)
    except BuildError as error:
        click.echo(f"specc: error: building the {target} image failed (a bug in specc; "
                   f"please report it):\n{error}", err=True)
        sys.exit(EXIT_INTERNAL)
    write_manifest(result, directory, emitted.path if target != "python" else None)
    return emitted.path


@main.command(context_settings={"ignore_unknown_options": True})
@compile_options
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write the image (default: out/NAME-TARGET).")
@click.option("--print-command", is_flag=True,
              help="Print the command that runs the image (QEMU's for hvt) and stop.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@guarded
def run(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
        output_format: str, output_dir: str | None, print_command: bool,
        args: tuple[str, ...]) -> None:
    """Compile FILE and run the image in the foreground; ARGS (after --) go to the image.

    hvt images run under QEMU microvm with user networking; the UDP and TCP
    ports `main` listens on are forwarded from 127.0.0.1."""
    import shlex
    import signal
    import subprocess

    from specc.launch import command

    result = run_middle(file, target, defines, config_file, output_format)
    image = build(result, output_dir, output_format)
    argv = command(result.image, image, args)
    if print_command:
        click.echo(shlex.join(argv))
        sys.exit(EXIT_OK)
    child = subprocess.Popen(argv)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = child.wait()
    if target == "hvt":
        from specc.backends.c.build import decode_exit_status

        decoded = decode_exit_status(status)
        status = decoded if decoded is not None else 1
    sys.exit(status)


@main.command()
@compile_options
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@guarded
def explain(file: str, name: str, target: str, defines: tuple[str, ...], config_file: str | None,
            output_format: str, as_json: bool) -> None:
    """Is NAME (a device, component, function or config key) in the image, and why."""
    from specc.check.suggest import did_you_mean
    from specc.explain import explain as explain_name

    # Up to dce: explain says itself when a kept device cannot be built.
    result = run_middle(file, target, defines, config_file, output_format, "dce")
    explanations = explain_name(result, name)
    if not explanations:
        program = result.program
        known = [*program.devices, *program.components, *program.functions, *program.config]
        hint = did_you_mean(name, known)
        click.echo(f"specc: error: `{name}` is not a device, component, function or config key "
                   f"of {file}" + (f"; {hint}" if hint else ""), err=True)
        sys.exit(EXIT_ERRORS)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in explanations], indent=2))
    else:
        click.echo("\n\n".join(e.render() for e in explanations))


@main.command()
@compile_options
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the graph to this file (default: standard output).")
@click.option("--as", "graph_format", type=click.Choice(("dot", "svg", "png")), default=None,
              help="dot, svg or png (default: from the output's extension, else dot).")
@guarded
def graph(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
          output_format: str, output: str | None, graph_format: str | None) -> None:
    """The device graph of FILE: kept instances solid, removed ones greyed with the reason."""
    from specc.dot import GraphvizMissing, render, to_dot

    result = run_middle(file, target, defines, config_file, output_format)
    kind = graph_format or (os.path.splitext(output)[1].lstrip(".") if output else "dot")
    if kind not in ("dot", "svg", "png"):
        kind = "dot"
    text = to_dot(result)
    if kind == "dot":
        data = text.encode()
    else:
        try:
            data = render(text, kind)
        except GraphvizMissing as error:
            click.echo(f"specc: error: {error}", err=True)
            sys.exit(EXIT_ERRORS)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        with open(output, "wb") as handle:
            handle.write(data)
