"""The config pass: every `const` key's value, from its default, a `-D`
override or a `[config]` table of a TOML file (`-D` wins), with `requires`
checked (LANGUAGE.md section 5).

Before::

    const port: u16 = 53 requires port != 0        # and -D port=5353

After::

    port = 5353 (source: -D), with `port != 0` checked true
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

from specc import ast, inputs
from specc.check.context import Context
from specc.check.program import CheckedProgram, ConfigKeyInfo
from specc.check.statements import BodyChecker
from specc.check.suggest import did_you_mean
from specc.diagnostics import DiagnosticSink, Note
from specc.evaluate import EvalError, Evaluator, Hooks, NotConstant
from specc.evaluate.data import DataLog, read_directory, read_zone
from specc.span import SourceFile, Span
from specc.syntax.parser import parse_expression
from specc.types import FILES, STRING, ZONE, EnumT, OptionT, Type
from specc.values import Value, source_text

COMMAND_LINE = "<command line>"


@dataclass(frozen=True)
class Override:
    """One `-D NAME=VALUE` or one key of a config file."""

    name: str
    text: str  # the value as written
    origin: str  # "-D" or the config file's path
    name_span: Span
    value_span: Span
    value: object = None  # a TOML value, already typed by TOML


@dataclass
class ConfigValues:
    """The value of every `const` key and where it came from."""

    values: dict[str, Value] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # "default", "-D", or a file
    # `param` keys: their defaults, used unless the image is started with others.
    param_defaults: dict[str, Value] = field(default_factory=dict)


def parse_defines(defines: Sequence[str], program: CheckedProgram,
                  sink: DiagnosticSink) -> list[Override]:
    """`-D NAME=VALUE` strings as overrides.  They are shown to the user as one
    pseudo-file holding the command line's definitions."""
    text = "\n".join(f"-D {d}" for d in defines)
    source = SourceFile(COMMAND_LINE, text)
    program.sources[COMMAND_LINE] = source
    overrides = []
    offset = 0
    for define in defines:
        start = offset + 3
        name, eq, value = define.partition("=")
        if not eq or not name.strip():
            sink.add("E0402", source.span(start, start + len(define)),
                     f"`-D {define}` is not of the form NAME=VALUE")
        else:
            name_start = start + len(name) - len(name.lstrip())
            overrides.append(Override(
                name.strip(), value, "-D", source.span(name_start, name_start + len(name.strip())),
                source.span(start + len(name) + 1, start + len(define))))
        offset += len(define) + 4
    return overrides


def read_config_file(path: str, program: CheckedProgram, sink: DiagnosticSink) -> list[Override]:
    """The `[config]` table of a TOML file as overrides."""
    try:
        text = inputs.read_text(path, inputs.CONFIG_LIMIT).replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as error:
        sink.add("E0405", Span(path, 1, 1, 1, 1, 0, 0), f"cannot read config file `{path}`: "
                 f"{error.strerror if isinstance(error, OSError) else error}")
        return []
    source = SourceFile(path, text)
    program.sources[path] = source
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        line, column = (int(where.group(1)), int(where.group(2))) if where else (1, 1)
        offset = source.offset(line, column)
        sink.add("E0405", source.span(offset, offset), f"config file `{path}` is not valid "
                 f"TOML: {str(error).split(' (at')[0]}")
        return []
    table = document.get("config")
    if not isinstance(table, dict):
        sink.add("E0405", source.span(0, 0), f"config file `{path}` has no `[config]` table")
        return []
    overrides = []
    for name, value in table.items():
        match = re.search(rf"^[ \t]*\"?{re.escape(name)}\"?[ \t]*=[ \t]*(.*)$", text, re.M)
        span = source.span(match.start(), match.end()) if match else source.span(0, 0)
        value_span = source.span(match.start(1), match.end(1)) if match else span
        overrides.append(Override(name, str(value), path, span, value_span, value))
    return overrides


class ConfigPass:
    def __init__(self, program: CheckedProgram, sink: DiagnosticSink,
                 data_log: DataLog | None = None) -> None:
        self.program = program
        self.sink = sink
        self.data_log = data_log
        self.result = ConfigValues()
        self.overrides: dict[str, Override] = {}
        self.in_progress: list[str] = []
        self.failed: set[str] = set()
        self.evaluator = Evaluator(program, Hooks(config=self.value_of, zonefile=self.zonefile,
                                                  directory=self.directory),
                                   target=program.target)

    # ------------------------------------------------------------ entry
    def run(self, overrides: Sequence[Override]) -> ConfigValues:
        p = self.program
        for override in overrides:  # later ones win: the file first, then -D
            info = p.config.get(override.name)
            if info is None:
                self.sink.add("E0401", override.name_span, f"unknown config key "
                              f"`{override.name}` (from {override.origin})",
                              hint=did_you_mean(override.name, p.config))
                continue
            if info.decl.kind is ast.KeyKind.PARAM:
                self.sink.add("E0404", override.name_span, f"`{override.name}` is a param: its "
                              "value is given when the image starts, not at compile time",
                              notes=[Note("declared here", info.decl.span)],
                              hint=f"start the image with --{override.name.replace('_', '-')}="
                              f"{override.text}")
                continue
            self.overrides[override.name] = override
        for name, info in p.config.items():
            if info.decl.kind is ast.KeyKind.CONST:
                with contextlib.suppress(NotConstant):  # reported where it went wrong
                    self.value_of(name, info.decl.name_span)
            else:
                self.param_default(name, info)
        return self.result

    # ------------------------------------------------------------ values
    def value_of(self, name: str, span: Span) -> Value:
        """The value of const key ``name``, computed on first use."""
        if name in self.result.values:
            return self.result.values[name]
        info = self.program.config[name]
        if info.decl.kind is ast.KeyKind.PARAM:
            raise NotConstant(f"`config.{name}` is a param: it is only known at boot", span)
        if name in self.failed:
            raise NotConstant(f"`config.{name}` has no value", span)
        if name in self.in_progress:
            cycle = [*self.in_progress[self.in_progress.index(name):], name]
            self.sink.add("E0406", info.decl.name_span, "config keys depend on each other in a "
                          "cycle: " + " -> ".join(cycle))
            self.failed.update(cycle)
            raise NotConstant(f"`config.{name}` has no value", span)
        self.in_progress.append(name)
        try:
            value, source = self.compute(name, info)
        finally:
            self.in_progress.pop()
        if source is None:
            self.failed.add(name)
            raise NotConstant(f"`config.{name}` has no value", span)
        self.result.values[name] = value
        self.result.sources[name] = source
        self.check_requires(info, value, source)
        return value

    def compute(self, name: str, info: ConfigKeyInfo) -> tuple[Value, str | None]:
        override = self.overrides.get(name)
        if override is not None:
            value = self.override_value(override, info)
            return value, (override.origin if value is not _FAILED else None)
        try:
            return self.evaluator.eval(info.decl.default), "default"
        except EvalError as error:
            self.sink.add(error.code, error.span, error.message)
        except NotConstant:
            pass  # the stage checker has reported it
        return None, None

    def param_default(self, name: str, info: ConfigKeyInfo) -> None:
        try:
            default = self.evaluator.eval(info.decl.default)
        except EvalError as error:
            self.sink.add(error.code, error.span, error.message)
            return
        except NotConstant:
            return
        self.result.param_defaults[name] = default
        requires = info.decl.requires
        if requires is None:
            return
        from specc.evaluate import Env

        try:
            holds = self.evaluator.eval(requires, Env(None, {name: default}))
        except (EvalError, NotConstant):
            return  # it reads other params: only the image can tell
        if not holds:
            flag = name.replace("_", "-")
            self.sink.add("W0004", requires.span, f"the default of param `{name}` "
                          f"({source_text(default)}) does not meet its `requires`: the image "
                          f"will not start unless it is given --{flag}=...",
                          notes=[Note(f"`{name}` is declared here", info.decl.name_span)])

    def check_requires(self, info: ConfigKeyInfo, value: Value, source: str) -> None:
        decl = info.decl
        if decl.requires is None:
            return
        from specc.evaluate import Env

        try:
            holds = self.evaluator.eval(decl.requires, Env(None, {decl.name: value}))
        except EvalError as error:
            self.sink.add(error.code, error.span, error.message)
            return
        except NotConstant:
            return
        if not holds:
            where = "its default" if source == "default" else f"given by {source}"
            self.sink.add("E0403", decl.requires.span,
                          f"`requires` does not hold for `{decl.name}` = {source_text(value)} "
                          f"({where})", notes=[Note(f"`{decl.name}` is declared here",
                                                    decl.name_span)])

    # ------------------------------------------------------------ overrides
    def override_value(self, override: Override, info: ConfigKeyInfo) -> Value:
        t = info.type
        if override.value is not None and not isinstance(override.value, str):
            return self.toml_value(override, override.value, t)
        return self.text_value(override, override.text, t)

    def toml_value(self, override: Override, value: object, t: Type) -> Value:
        inner = t.inner if isinstance(t, OptionT) else t
        if isinstance(value, bool | int) and not isinstance(value, str):
            return self.text_value(override, str(value).lower() if isinstance(value, bool)
                                   else str(value), t)
        if isinstance(value, list):
            items = ", ".join(_toml_item_source(v) for v in value)
            return self.text_value(override, f"[{items}]", t)
        self.sink.add("E0402", override.value_span, f"`{override.name}` is a `{t}`; a TOML "
                      f"{type(value).__name__} cannot give it a value", hint=_example(inner))
        return _FAILED

    def text_value(self, override: Override, text: str, t: Type) -> Value:
        inner = t.inner if isinstance(t, OptionT) else t
        stripped = text.strip()
        # A string key takes the text as it is (`-D motd=none` is the text
        # "none"); only a `string?` key reads `none` as no value.
        if t == STRING and not stripped.startswith('"'):
            return text
        if inner == STRING and not stripped.startswith('"') and stripped != "none":
            return text
        if inner in (ZONE, FILES) and "(" not in stripped:
            path = os.path.abspath(stripped.strip('"'))
            loader = self.zonefile if inner == ZONE else self.directory
            try:
                return loader(path, override.value_span)
            except NotConstant:
                return _FAILED
        if isinstance(inner, EnumT) and re.fullmatch(r"[A-Za-z_]\w*", stripped):
            stripped = f"{inner.name}.{stripped}"
        source = SourceFile(f"<value of {override.name}>", stripped)
        self.program.sources[source.path] = source
        local = DiagnosticSink()
        expr = parse_expression(source, local)
        checker = BodyChecker(self.program, local)
        checker.context = Context("config")
        if not local.has_errors:
            checker.expect(expr, t)
        if local.has_errors:
            self.sink.add("E0402", override.value_span, f"`{text}` is not a value of type "
                          f"`{t}` for config key `{override.name}` (from {override.origin})",
                          notes=[Note(f"`{override.name}` is declared here",
                                      self.program.config[override.name].decl.span)],
                          hint=_example(inner))
            return _FAILED
        try:
            return self.evaluator.eval(expr)
        except (EvalError, NotConstant) as error:
            self.sink.add("E0402", override.value_span, f"`{text}` cannot be used for "
                          f"`{override.name}`: {getattr(error, 'message', None) or error}")
            return _FAILED

    # ------------------------------------------------------------ data
    def zonefile(self, path: str, span: Span) -> Value:
        return read_zone(path, span, self.sink, self.data_log)

    def directory(self, path: str, span: Span) -> Value:
        return read_directory(path, span, self.sink, self.data_log)


class _Failed:
    """An override that could not be read (already reported)."""


_FAILED: Value = _Failed()  # type: ignore[assignment]


def _toml_item_source(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _example(t: Type) -> str | None:
    examples = {"u8": "42", "u16": "5353", "u32": "42", "u64": "42", "i64": "-1",
                "bool": "true or false", "Ipv4": "192.0.2.7", "Cidr": "192.0.2.7/24",
                "Duration": "250ms, 5s, 2m", "Size": "512B, 64KiB", "string": "text"}
    if isinstance(t, EnumT):
        return "one of " + ", ".join(t.variants)
    example = examples.get(str(t))
    if example is None:
        return None
    article = "an" if str(t)[0].lower() in "aeio" else "a"  # a u16, an i64, an Ipv4
    return f"{article} `{t}` is written like {example}"


def run_config(program: CheckedProgram, defines: Sequence[str], config_file: str | None,
               sink: DiagnosticSink, data_log: DataLog | None = None) -> ConfigValues:
    """The config pass's entry point."""
    overrides: list[Override] = []
    if config_file is not None:
        overrides += read_config_file(config_file, program, sink)
    overrides += parse_defines(defines, program, sink)
    return ConfigPass(program, sink, data_log).run(overrides)
