"""Problems with the command line itself, as diagnostics (codes E08xx).

click reports a bad command line as a plain ``Error: ...`` paragraph on
stderr, which a tool reading ``--format json`` never sees.  This module turns
click's exceptions, and the commands' own complaints about their arguments,
into ordinary diagnostics located in a pseudo-file, ``<command line>``,
whose one line is the command as typed (quoted like a shell would), so the
caret sits under the offending word in every format.

Nothing here prints: :func:`usage_problem` returns the diagnostic, the
source to render it against and the exit status; ``specc.cli`` renders it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import click

from specc.check.suggest import did_you_mean
from specc.diagnostics import Diagnostic, Note, Severity
from specc.records import Record
from specc.span import SourceFile, Span

COMMAND_LINE = "<command line>"

# Bad usage keeps click's exit status, 2, which the README documents; a
# value the command understood but could not use (an unknown NAME for
# `explain`, an unwritable output) is an error in the input, status 1.
EXIT_USAGE = 2

TARGET_OPTION = "target"


@dataclass(frozen=True, repr=False)
class CommandLine(Record):
    """The command as typed, as a one-line source, with where each word is."""

    source: SourceFile
    words: tuple[tuple[int, int], ...]  # (start, end) offset of argv[i]

    @classmethod
    def of(cls, argv: Sequence[str]) -> CommandLine:
        text = "specc"
        words = []
        for word in argv:
            quoted = shlex.quote(word)
            text += " "
            words.append((len(text), len(text) + len(quoted)))
            text += quoted
        return cls(SourceFile(COMMAND_LINE, text), tuple(words))

    def word(self, index: int | None) -> Span:
        """The span of ``argv[index]``; the whole line when it is not known."""
        if index is None or not 0 <= index < len(self.words):
            return self.source.span(0, len(self.source.text))
        start, end = self.words[index]
        return self.source.span(start, end)

    def end(self) -> Span:
        """Just past the last word: where a missing argument would go."""
        length = len(self.source.text)
        return self.source.span(length, length)


def requested_format(argv: Sequence[str], formats: Sequence[str]) -> str:
    """The ``--format`` the command line asks for, read without click (which
    has just failed to parse it); ``pretty`` when there is none or it is bad."""
    chosen = "pretty"
    words = _options_part(argv)
    for index, word in enumerate(words):
        value: str | None = None
        if word == "--format" and index + 1 < len(words):
            value = words[index + 1]
        elif word.startswith("--format="):
            value = word.partition("=")[2]
        if value is not None and value in formats:
            chosen = value
    return chosen


def _options_part(argv: Sequence[str]) -> Sequence[str]:
    # After `--` the words belong to the image (`specc run`), not to specc.
    return argv[: argv.index("--")] if "--" in argv else argv


def usage_problem(error: click.ClickException,
                  argv: Sequence[str]) -> tuple[Diagnostic, SourceFile, int]:
    """The diagnostic for a command line click refused, the source it points
    into, and the exit status."""
    line = CommandLine.of(argv)
    command = _command_path(error)
    usage = _usage(error)
    notes = (Note(usage),) if usage else ()
    if isinstance(error, click.NoSuchOption):
        hint = None
        if error.possibilities:
            hint = did_you_mean(error.option_name, error.possibilities)
        hint = hint or f"`{command} --help` lists the options"
        ctx = error.ctx
        if ctx is not None and ctx.info_name == "run":
            notes = (*notes, Note(f"a parameter of the image goes after `--`: "
                                  f"`{command} FILE -- {error.option_name}`"))
        return (_error("E0801", f"unknown option `{error.option_name}` for `{command}`",
                       line.word(_option_index(argv, error.option_name)), notes, hint),
                line.source, EXIT_USAGE)
    if isinstance(error, click.NoSuchCommand):
        name = error.command_name or ""
        return (_error("E0801", f"unknown command `{name}`",
                       line.word(_last_index(argv, name)), notes,
                       did_you_mean(name, error.possibilities or ())
                       or "`specc --help` lists the commands"),
                line.source, EXIT_USAGE)
    if isinstance(error, click.MissingParameter):
        what = _parameter_name(error.param, error.ctx)
        return (_error("E0804", f"`{command}` needs {what}", line.end(), notes, None),
                line.source, EXIT_USAGE)
    if isinstance(error, click.BadParameter):
        return _bad_value(error, argv, line, command, notes)
    if isinstance(error, click.BadOptionUsage):
        message = _sentence(error.format_message())
        if message.endswith("requires an argument"):
            message = f"option `{error.option_name}` needs a value"
        return (_error("E0802", message,
                       line.word(_option_index(argv, error.option_name)), notes, None),
                line.source, EXIT_USAGE)
    extra = re.match(r"Got unexpected extra arguments? \((.*)\)", error.format_message())
    if extra:
        first = shlex.split(extra.group(1))[0] if extra.group(1) else ""
        return (_error("E0804", f"`{command}` does not take the argument `{first}`",
                       line.word(_last_index(argv, first)), notes, None),
                line.source, EXIT_USAGE)
    status = EXIT_USAGE if isinstance(error, click.UsageError) else error.exit_code
    return (_error("E0802", _sentence(error.format_message()), line.word(None), notes, None),
            line.source, status)


def _bad_value(error: click.BadParameter, argv: Sequence[str], line: CommandLine, command: str,
               notes: tuple[Note, ...]) -> tuple[Diagnostic, SourceFile, int]:
    param = error.param
    index, value = _value_of(argv, param) if isinstance(param, click.Option) else (None, None)
    choices = [str(c) for c in param.type.choices] \
        if param is not None and isinstance(param.type, click.Choice) else []
    hint: str | None
    if param is not None and param.name == TARGET_OPTION and value is not None:
        hint = did_you_mean(value, choices) or f"the targets are {', '.join(choices)}"
        return (_error("E0803", f"unknown target `{value}`", line.word(index), notes, hint),
                line.source, EXIT_USAGE)
    where = _parameter_name(param, error.ctx) if param is not None else "an option"
    message = _sentence(error.message)
    hint = None
    if choices and value is not None:
        message = f"`{value}` is not one of its choices"
        hint = did_you_mean(value, choices) or f"one of {', '.join(f'`{c}`' for c in choices)}"
    return (_error("E0802", f"invalid value for {where}: {message}", line.word(index), notes,
                   hint), line.source, EXIT_USAGE)


def _error(code: str, message: str, span: Span, notes: tuple[Note, ...],
           hint: str | None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, notes, hint)


def _sentence(text: str) -> str:
    # click's messages end in a full stop; ours do not.
    return text.strip().rstrip(".")


def _command_path(error: click.ClickException) -> str:
    ctx = getattr(error, "ctx", None)
    return ctx.command_path if isinstance(ctx, click.Context) else "specc"


def _usage(error: click.ClickException) -> str | None:
    ctx = getattr(error, "ctx", None)
    if not isinstance(ctx, click.Context):
        return None
    usage = ctx.get_usage().strip()
    return "u" + usage[1:] if usage.startswith("Usage:") else usage


def _parameter_name(param: click.Parameter | None, ctx: click.Context | None) -> str:
    if isinstance(param, click.Option):
        return f"option `{max(param.opts, key=len)}`"
    if isinstance(param, click.Argument):
        return f"argument `{param.make_metavar(ctx) if ctx else param.human_readable_name}`"
    return "an argument"


def _option_index(argv: Sequence[str], option: str) -> int | None:
    for index, word in enumerate(_options_part(argv)):
        if word == option or word.startswith(option + "="):
            return index
    return None


def _last_index(argv: Sequence[str], word: str) -> int | None:
    indices = [i for i, w in enumerate(_options_part(argv)) if w == word]
    return indices[-1] if indices else None


def _value_of(argv: Sequence[str], option: click.Option) -> tuple[int | None, str | None]:
    """Which word holds the (last) value given to ``option``, and the value:
    the word after ``-t``, or the rest of ``--target=x`` or ``-tx``."""
    found: tuple[int | None, str | None] = (None, None)
    words = _options_part(argv)
    for index, word in enumerate(words):
        for name in option.opts:
            if word == name and index + 1 < len(words):
                found = (index + 1, words[index + 1])
            elif name.startswith("--") and word.startswith(name + "="):
                found = (index, word[len(name) + 1:])
            elif not name.startswith("--") and word.startswith(name) and len(word) > len(name) \
                    and not word.startswith("--"):
                found = (index, word[len(name):])
    return found


def command_line_problem(argv: Sequence[str], code: str, message: str, *,
                         word: str | None = None,
                         hint: str | None = None) -> tuple[Diagnostic, SourceFile]:
    """An error about what the command line asks for, under ``word`` (its
    last occurrence) or under the whole command when there is no one word."""
    line = CommandLine.of(argv)
    index = _last_index(argv, word) if word is not None else None
    return _error(code, message, line.word(index), (), hint), line.source


def unknown_name(argv: Sequence[str], name: str, file: str,
                 known: Sequence[str]) -> tuple[Diagnostic, SourceFile]:
    """`specc explain FILE NAME` with a NAME the spec does not declare."""
    return command_line_problem(
        argv, "E0805", f"`{name}` is not a device, component, function or config key of {file}",
        word=name, hint=did_you_mean(name, known))
