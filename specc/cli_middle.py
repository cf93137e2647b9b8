"""The commands that compile: `compile` and `run` (thin layers over
`specc.build`), `explain` and `graph` (the middle end).

They share `-t/--target`, `-D NAME=VALUE` and `--config FILE`, and report
problems exactly as `specc check` does.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import click

from specc.cli import (
    EXIT_ERRORS,
    EXIT_INTERNAL,
    EXIT_OK,
    FORMATS,
    TARGETS,
    _emit,
    command_line,
    main,
)
from specc.cli_errors import COMMAND_LINE, EXIT_USAGE, command_line_problem, unknown_name
from specc.diagnostics import Diagnostic, internal_error
from specc.passes import DUMP_PASSES as PASS_NAMES
from specc.span import SourceFile

if TYPE_CHECKING:
    from specc.builder import BuildResult


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """A failure of specc itself in a command becomes one internal-error
    diagnostic (exit 3), never a traceback."""

    @functools.wraps(command)
    def run_guarded(*args: Any, **kwargs: Any) -> None:
        REPORT.diagnostics.clear()
        REPORT.sources.clear()
        try:
            command(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as error:
            # An E9001 diagnostic at the spec being compiled, after whatever
            # the compilation had reported, in the format asked for.
            output_format = kwargs.get("output_format", "pretty")
            REPORT.flush(output_format, internal_error(error, kwargs.get("file", COMMAND_LINE)))
            sys.exit(EXIT_INTERNAL)

    return run_guarded


def compile_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every middle-end command takes."""
    command = click.option("--format", "output_format", type=click.Choice(FORMATS),
                           default="pretty", show_default=True,
                           help="How to report problems: pretty, gcc or json.")(command)
    # Any path: one that cannot be read is E0405, located, not click's usage error.
    command = click.option("--config", "config_file", type=click.Path(),
                           help="A TOML file whose [config] table overrides const keys.")(command)
    command = click.option("-D", "defines", multiple=True, metavar="NAME=VALUE",
                           help="Override a const config key (wins over --config).")(command)
    command = click.option("-t", "--target", type=click.Choice(TARGETS), default="hvt",
                           show_default=True, help="The target to build for.")(command)
    return click.argument("file", type=click.Path(path_type=str))(command)


@dataclass
class Report:
    """The diagnostics of a compilation that succeeded (warnings), held until
    the command knows whether it fails later on (an output it cannot write),
    so that one run prints one report: one JSON document in --format json."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)

    def hold(self, diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile]) -> None:
        self.diagnostics.extend(diagnostics)
        self.sources.update(sources)

    def flush(self, output_format: str, *extra: Diagnostic, stdout_taken: bool = False) -> None:
        _emit([*self.diagnostics, *extra], self.sources, output_format, "auto", stdout_taken)
        self.diagnostics.clear()
        self.sources.clear()


# One command runs per process; `guarded` empties it when a command starts.
REPORT = Report()


def fail(code: str, message: str, output_format: str, *, word: str | None = None,
         hint: str | None = None, status: int = EXIT_ERRORS) -> NoReturn:
    """Report a problem with what the command line asks for (after what the
    compilation reported) and exit, by default with status 1."""
    diagnostic, source = command_line_problem(command_line(), code, message, word=word,
                                              hint=hint)
    REPORT.sources[COMMAND_LINE] = source
    REPORT.flush(output_format, diagnostic)
    sys.exit(status)


def write_output(path: str, data: bytes | str, output_format: str) -> None:
    """Write a file the command line named (``-o``, ``--depfile``): whole,
    through a temporary file renamed over it, so a reader never sees half of
    it; a failure is E0806.  A device or FIFO (``-o /dev/stdout``) is written
    to directly: renaming over it would replace the device node."""
    real = os.path.realpath(path)
    if os.path.exists(real) and not os.path.isfile(real):
        try:
            with open(real, "wb") as stream:
                stream.write(data.encode() if isinstance(data, str) else data)
        except OSError as error:
            fail("E0806", f"cannot write `{path}`: {error.strerror or error}", output_format,
                 word=path)
        return
    directory = os.path.dirname(real)
    temporary = f"{real}.tmp"
    try:
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(temporary, real)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        fail("E0806", f"cannot write `{path}`: {error.strerror or error}", output_format,
             word=path)


def run_middle(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
               output_format: str, stop_after: str | None = None,
               specialize: bool = True) -> Any:
    """Compile through the middle end; on errors, report them and exit.
    Otherwise its warnings wait in REPORT for the command to flush."""
    from specc.driver import CompileOptions, compile_file

    try:
        result = compile_file(file, CompileOptions(target, defines, config_file, stop_after,
                                                   specialize=specialize))
    except Exception as error:  # a bug in specc: one diagnostic, never a traceback
        _emit([internal_error(error, file)], {}, output_format, "auto")
        sys.exit(EXIT_INTERNAL)
    REPORT.hold(result.diagnostics, result.check.sources)
    if any(d.code == "E9001" for d in result.diagnostics):
        REPORT.flush(output_format)
        sys.exit(EXIT_INTERNAL)
    if result.has_errors:
        REPORT.flush(output_format)
        sys.exit(EXIT_ERRORS)
    return result


def run_build(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
              output_format: str, output_dir: str | None, *, quiet: bool = False,
              verbose: bool = False, specialize: bool = True) -> BuildResult:
    """`specc.build`; on errors, report them and exit.  Otherwise its
    warnings wait in REPORT for the command to flush."""
    from specc.builder import build
    from specc.cli_progress import BuildProgress, is_terminal

    live = not quiet and is_terminal(sys.stderr)
    with BuildProgress(f"{os.path.basename(file)} for {target}", verbose=verbose,
                       live=live) as progress:
        result = build(file, target=target, defines=defines, config_file=config_file,
                       output_dir=output_dir, listener=progress, specialize=specialize)
    REPORT.hold(result.diagnostics, result.sources)
    if result.internal_error:
        REPORT.flush(output_format)
        sys.exit(EXIT_INTERNAL)
    if not result.ok or result.image is None:
        REPORT.flush(output_format)
        sys.exit(EXIT_ERRORS)
    return result


def summary(result: BuildResult) -> str:
    """One line: the image, its size, `.text` for C images, devices kept and removed."""
    image = result.manifest.get("image", {})
    sizes = [f"{image.get('bytes', 0):,} bytes"]
    text = image.get("sections", {}).get("text")
    if text is not None:
        sizes.append(f".text {text:,} bytes")
    kept = sum(len(i["devices"]) for i in result.manifest.get("instances", []))
    removed = sum(1 for r in result.manifest.get("removed", []) if r["kind"] == "device")
    devices = f"{kept} device{'s' if kept != 1 else ''} kept, {removed} removed"
    return f"specc: wrote {result.image} ({', '.join(sizes)}; {devices})"


def report_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """-q and -v: how much a build says on stderr."""
    command = click.option("-v", "--verbose", is_flag=True,
                           help="Show each step of the build with its time.")(command)
    return click.option("-q", "--quiet", is_flag=True,
                        help="Say nothing on success (problems are still reported).")(command)


@main.command(name="compile")
@compile_options
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write the image and manifest.json (default: out/NAME-TARGET).")
@click.option("--dump-after", type=click.Choice(PASS_NAMES), default=None,
              help="Print the program after this pass and stop.")
@click.option("--depfile", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write a Make-syntax rule IMAGE: INPUTS... to FILE "
              "(docs/build-systems.md).")
@click.option("--no-specialize", "unspecialized", is_flag=True,
              help="Build the same spec without specializing it (const keys read at boot where "
              "they can be, every branch and instance kept), to measure what specializing saves.")
@report_options
@guarded
def compile_command(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
                    output_format: str, output_dir: str | None, dump_after: str | None,
                    depfile: str | None, unspecialized: bool, quiet: bool, verbose: bool) -> None:
    """Compile FILE for a target: check, evaluate, specialize, build the image and its manifest."""
    if dump_after is not None:
        from specc.dumps import dump

        result = run_middle(file, target, defines, config_file, output_format, dump_after,
                            specialize=not unspecialized)
        REPORT.flush(output_format, stdout_taken=True)
        click.echo(dump(result, dump_after), nl=False)
        sys.exit(EXIT_OK)
    built = run_build(file, target, defines, config_file, output_format, output_dir,
                      quiet=quiet, verbose=verbose, specialize=not unspecialized)
    if depfile is not None:
        write_output(depfile, built.depfile, output_format)
    REPORT.flush(output_format)
    if not quiet:
        click.echo(summary(built), err=True)


# Options the image takes come after `--`; an unknown option before it is
# E0801 rather than silently handed to the image.
@main.command()
@compile_options
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write the image (default: out/NAME-TARGET).")
@click.option("--print-command", is_flag=True,
              help="Print the command that runs the image (QEMU's for hvt) and stop.")
@click.option("--net", "network", type=click.Choice(["user", "tap"]), default="user",
              show_default=True,
              help="hvt: QEMU's user networking, or a tap in a network namespace of its own "
                   "(root; removed on exit).")
@click.option("--depfile", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write a Make-syntax rule IMAGE: INPUTS... to FILE, as compile does.")
@report_options
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@guarded
def run(file: str, target: str, defines: tuple[str, ...], config_file: str | None,
        output_format: str, output_dir: str | None, print_command: bool, network: str,
        depfile: str | None, quiet: bool, verbose: bool, args: tuple[str, ...]) -> None:
    """Compile FILE and run the image in the foreground; ARGS (after --) go to the image.

    hvt images run under QEMU microvm with user networking; the UDP and TCP
    ports `main` listens on are forwarded from 127.0.0.1.  With --net tap the
    image is on a tap device in a new network namespace (specc/netns.py)."""
    import shlex
    import signal
    import subprocess

    from specc.backends.c.build import BuildError
    from specc.launch import command
    from specc.netns import network_for

    if network == "tap" and target != "hvt":  # before a build that would be wasted
        fail("E0802", "`--net tap` is for hvt images", output_format, word="tap",
             hint="build with `-t hvt`, or leave out `--net tap`", status=EXIT_USAGE)
    if target == "hvt":  # $SPECC_HVT_FIRMWARE is the user's: say so before building
        from specc.backends.c.firmware import chosen_firmware

        try:
            chosen_firmware()
        except ValueError as error:
            fail("E0802", str(error), output_format,
                 hint="unset it for specc's own firmware, or set it to `qemu` for QEMU's")
    built = run_build(file, target, defines, config_file, output_format, output_dir,
                      quiet=quiet, verbose=verbose)
    if depfile is not None:
        write_output(depfile, built.depfile, output_format)
    REPORT.flush(output_format, stdout_taken=print_command)
    assert built.image is not None and built.compilation is not None
    assert built.compilation.image is not None
    image = built.compilation.image
    try:
        argv_wanted = command(image, built.image, args)
    except BuildError as error:  # the hvt firmware, built on first use: the host's toolchain
        click.echo(f"specc: the hvt firmware could not be built: {error}\n"
                   "specc: SPECC_HVT_FIRMWARE=qemu boots with QEMU's own firmware instead",
                   err=True)
        sys.exit(EXIT_ERRORS)
    with network_for(image, argv_wanted, network) as argv:
        if print_command:
            click.echo(shlex.join(argv))
            sys.exit(EXIT_OK)
        if target == "hvt":
            from specc.ports import EXIT_UNAVAILABLE, busy_port

            problem = busy_port(argv)  # QEMU's own failure would read as exit(0)
            if problem is not None:
                click.echo(f"specc: {problem}", err=True)
                sys.exit(EXIT_UNAVAILABLE)
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
    from specc.explain import explain as explain_name

    # Up to dce: explain says itself when a kept device cannot be built.
    result = run_middle(file, target, defines, config_file, output_format, "dce")
    explanations = explain_name(result, name)
    if not explanations:
        program = result.program
        known = [*program.devices, *program.components, *program.functions, *program.config]
        diagnostic, source = unknown_name(command_line(), name, file, known)
        REPORT.sources[COMMAND_LINE] = source
        REPORT.flush(output_format, diagnostic)
        sys.exit(EXIT_ERRORS)
    REPORT.flush(output_format, stdout_taken=True)
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
            fail("E0807", str(error), output_format, word=graph_format or output)
    if output is None:
        REPORT.flush(output_format, stdout_taken=True)
        sys.stdout.buffer.write(data)
    else:
        write_output(output, data, output_format)
        REPORT.flush(output_format)
