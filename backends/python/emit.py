"""The `python` target: the residual program and its kept components as one
specialized, standard-library-only Python file."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable

from specc import ast as sast
from specc import types as T
from specc.backends.python.emitter import Emitter
from specc.backends.python.link import CORE, Linker, prune
from specc.backends.python.literals import literal
from specc.backends.python.lower import Lowerer
from specc.backends.python.names import Namer
from specc.backends.python.pytypes import annotation, formatter
from specc.backends.python.specialize import specialize_class
from specc.check.program import ConfigKeyInfo
from specc.driver import Compilation
from specc.passes.devices import Instance
from specc.span import Span
from specc.values import EnumV, FilesV, ZoneV


class BackendError(Exception):
    """A spec the python target cannot build (reported as a diagnostic)."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.span = span


def emit_python(c: Compilation) -> str:
    return _PythonImage(c).text()


class _PythonImage:
    def __init__(self, c: Compilation) -> None:
        assert c.program is not None and c.reachable is not None and c.graph is not None
        assert c.config is not None and c.folded is not None
        self.c = c
        self.program = c.program
        self.reachable = c.reachable
        self.graph = c.graph
        self.linker = Linker()
        core = self.linker.load(CORE)
        self.namer = Namer(_core_names(core.body))
        self.names: dict[str, str] = {}
        self.classes: dict[str, str] = {}  # instance key -> class name

    # ------------------------------------------------------------ names
    def assign_names(self) -> None:
        p = self.program
        for name in ("Datagram", "Conn"):
            self.names[name] = name  # the prelude's structs live in the core
        for name in [*p.enums, "Target"]:
            self.names[name] = self.namer.fresh(name)
        for name in p.structs:
            if name not in self.names:
                self.names[name] = self.namer.fresh(name)
        for name in p.functions:
            self.names[name] = self.namer.fresh(name)
        for key in p.config:
            self.names["config " + key] = self.namer.fresh(f"cfg_{key}")
        for name in self.reachable.vars:
            self.names["var " + name] = self.namer.fresh(f"var_{name}")
        for key in self.reachable.instances:
            self.names["device " + key] = self.namer.fresh("dev_" + re.sub(r"\W", "_", key))

    # ------------------------------------------------------------ components
    def implementation(self, instance: Instance) -> str:
        info = self.program.components[instance.component]
        for item in info.decl.items:
            if isinstance(item, sast.ImplItem) and item.language == "python":
                base = os.path.dirname(info.decl.span.file)
                path = os.path.normpath(os.path.join(base, item.path))
                runtime = os.path.normpath(self.linker.module_path(CORE))
                if os.path.dirname(path) == os.path.dirname(runtime):
                    return os.path.splitext(os.path.basename(path))[0]
                return path
        raise BackendError(f"component `{instance.component}` has no Python implementation "
                           f"(add `impl python \"file.py\"` to it)", info.decl.name_span)

    def constants(self, instance: Instance) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in instance.const_args:
            if isinstance(value, ZoneV):
                from specc.backends.dns.precompute import build_table

                values["TABLE"] = repr(build_table(value.zone))
            elif isinstance(value, EnumV):
                values[name.upper()] = str(value.index)  # run-time code sees enums as ints
            else:
                values[name.upper()] = literal(value, self.names)
        if instance.component == "http_server":
            from specc.backends.http.precompute import build_site

            site_key = dict(instance.device_args)["site"]
            files = dict(self.graph.instances[site_key].const_args).get("files")
            if isinstance(files, FilesV):
                values["SITE"] = repr(build_site(files.files))
        return values

    def component_classes(self) -> str:
        chunks = []
        counts: dict[str, int] = {}
        kept = set(self.reachable.instances)
        used_by_components = {target for source, target in self.graph.graph.edges()
                              if source in kept}
        for key in self.reachable.instances:
            instance = self.graph.instances[key]
            module = self.linker.load(self.implementation(instance))
            if module.impl is None:
                raise BackendError(f"{module.name} has no `class Impl`")
            counts[instance.component] = counts.get(instance.component, 0) + 1
            base = "".join(part.capitalize() for part in instance.component.split("_"))
            name = self.namer.fresh(base if counts[instance.component] == 1
                                    else f"{base}{counts[instance.component]}")
            self.classes[key] = name
            ops = set(self.reachable.operations.get(key, set()))
            if key in used_by_components:
                iface = self.program.components[instance.component].interface
                ops |= set(self.program.interfaces[iface].ops) if iface else set()
            cls = specialize_class(module.impl, name, self.constants(instance), ops)
            chunks.append(f"# ---- component {instance.label}\n{ast.unparse(cls)}\n")
        return "\n\n".join(chunks)

    # ------------------------------------------------------------ program
    def types_section(self) -> str:
        out = Emitter()
        p = self.program
        out.line("class Target(IntEnum):")
        with out.indent():
            for i, v in enumerate(T.TARGET.variants):
                out.line(f"{v} = {i}")
        for name, decl in p.enums.items():
            out.line()
            out.line()
            out.line(f"class {self.names[name]}(IntEnum):")
            with out.indent():
                for i, variant in enumerate(decl.variants):
                    out.line(f"{variant.name} = {i}")
        counter = [0]

        def temp() -> str:
            counter[0] += 1
            return f"_f{counter[0]}"

        for name, info in p.structs.items():
            if name in ("Datagram", "Conn"):
                continue
            python = self.names[name]
            out.line()
            out.line()
            out.line("@dataclass(frozen=True, slots=True)")
            out.line(f"class {python}:")
            with out.indent():
                for field_name, t in info.fields.items():
                    out.line(f"{field_name}: {annotation(t, self.names)}")
            out.line()
            out.line()
            out.line(f"def fmt_{python}(v: {python}) -> str:")
            with out.indent():
                parts = [repr(f"{name} {{ ")]
                for i, (field_name, t) in enumerate(info.fields.items()):
                    label = ("" if i == 0 else ", ") + f"{field_name}: "
                    parts.append(repr(label))
                    parts.append(formatter(t, self.names, temp)(f"v.{field_name}"))
                parts.append(repr(" }"))
                out.line("return " + " + ".join(parts))
        return out.text()

    def functions_section(self, lowerer: Lowerer) -> str:
        folded = self.c.folded
        assert folded is not None
        chunks = [lowerer.function(folded.functions[name]) for name in self.reachable.functions]
        if folded.main is not None:
            chunks.append(lowerer.main(folded.main))
        return "\n\n".join(chunks)

    def state_section(self) -> str:
        """The top-level `var`s, at their initial values (after the functions,
        which a `var` of function type may name)."""
        folded = self.c.folded
        assert folded is not None
        out = Emitter()
        for name in self.reachable.vars:
            t = self.program.vars[name].type
            value = literal(folded.vars[name], self.names)
            out.line(f"{self.names['var ' + name]}: {annotation(t, self.names)} = {value}")
        return out.text()

    def boot_section(self, lowerer: Lowerer) -> str:
        p = self.program
        config = self.c.config
        assert config is not None
        out = Emitter()
        params = [(n, i) for n, i in p.config.items() if i.decl.kind is sast.KeyKind.PARAM]
        for name, info in params:
            out.line(f"{self.names['config ' + name]}: {annotation(info.type, self.names)}")
        for key in self.reachable.instances:
            out.line(f"{self.names['device ' + key]}: {self.classes[key]}")
        out.line()
        out.line()
        out.line("USAGE = " + repr(self.usage(params)))
        out.line()
        out.line()
        out.line("def _boot(argv: list[str]) -> int:")
        with out.indent():
            globals_ = [self.names["config " + n] for n, _ in params] + \
                [self.names["device " + k] for k in self.reachable.instances]
            if globals_:
                out.line("global " + ", ".join(globals_))
            out.line("given: dict[str, str] = {}")
            out.line("for arg in argv:")
            with out.indent():
                out.line("if arg in ('--help', '-h'):")
                with out.indent():
                    out.line("sys.stdout.write(USAGE)")
                    out.line("return 0")
                out.line("name, eq, value = arg.partition('=')")
                known = [f"--{n.replace('_', '-')}" for n, _ in params] + ["--bind"]
                out.line(f"if not name.startswith('--') or not eq or name not in {known!r}:")
                with out.indent():
                    out.line("usage_error(f'unknown or malformed parameter {arg!r}; see --help')")
                out.line("given[name[2:]] = value")
            for name, info in params:
                flag = name.replace("_", "-")
                default = literal(config.param_defaults.get(name), self.names)
                variable = self.names["config " + name]
                parse = self.param_parser(flag, info.type)
                out.line(f"{variable} = {parse('given[' + repr(flag) + ']')} "
                         f"if {flag!r} in given else {default}")
                if info.decl.requires is not None:
                    lowerer.locals = [{name: variable}]
                    condition = lowerer.expr(info.decl.requires)
                    where = lowerer.position(info.decl.requires.span)
                    shown = _source(self.program, info.decl.requires)
                    out.line(f"if not {condition}:")
                    with out.indent():
                        out.line(f"usage_error(f'--{flag}={{{variable}!r}}: `{shown}` does not "
                                 f"hold ({where})')")
            out.line("rt = Runtime()")
            out.line("rt.bind_address = parse_ipv4('bind', given.get('bind', '0.0.0.0'))")
            for key in self.graph.construction_order(self.reachable.instances):
                instance = self.graph.instances[key]
                args = ["rt", *(self.names["device " + target]
                                for _, target in instance.device_args)]
                out.line(f"{self.names['device ' + key]} = {self.classes[key]}({', '.join(args)})")
            out.line("signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))")
            out.line("try:")
            with out.indent():
                out.line("main()")
                out.line("rt.run()")
            out.line("except KeyboardInterrupt:")
            with out.indent():
                out.line("return 0")
            out.line("return 0")
        out.line()
        out.line()
        out.line('if __name__ == "__main__":')
        with out.indent():
            out.line("sys.exit(_boot(sys.argv[1:]))")
        return out.text()

    def param_parser(self, flag: str, t: T.Type) -> Callable[[str], str]:
        inner = t.inner if isinstance(t, T.OptionT) else t
        base: Callable[[str], str]
        if T.is_integer(inner):
            low, high = T.INTEGER_RANGES[inner]  # type: ignore[index]
            base = lambda v: f"parse_int({flag!r}, {v}, {low}, {high})"  # noqa: E731
        elif inner == T.BOOL:
            base = lambda v: f"parse_bool({flag!r}, {v})"  # noqa: E731
        elif inner == T.STRING:
            base = lambda v: v  # noqa: E731
        elif inner in (T.IPV4, T.CIDR, T.DURATION, T.SIZE):
            fn = {T.IPV4: "parse_ipv4", T.CIDR: "parse_cidr", T.DURATION: "parse_duration",
                  T.SIZE: "parse_size"}[inner]
            base = lambda v: f"{fn}({flag!r}, {v})"  # noqa: E731
        elif isinstance(inner, T.EnumT):
            cls = self.names.get(inner.name, inner.name)
            base = lambda v: f"{cls}(parse_enum({flag!r}, {v}, {inner.variants!r}))"  # noqa: E731
        else:
            return lambda v: f"usage_error('--{flag} cannot be given on the command line')"
        if isinstance(t, T.OptionT):
            return lambda v: f"(None if {v} == 'none' else {base(v)})"
        return base

    def usage(self, params: list[tuple[str, ConfigKeyInfo]]) -> str:
        p = self.program
        config = self.c.config
        assert config is not None
        name = p.unikernel.name if p.unikernel else "image"
        lines = [f"usage: {name}.py [--PARAM=VALUE ...]"]
        if p.unikernel and p.unikernel.description:
            lines.append(p.unikernel.description)
        lines.append("")
        lines.append("parameters:")
        for key, info in p.config.items():
            if info.decl.kind is not sast.KeyKind.PARAM:
                continue
            default = config.param_defaults.get(key)
            from specc.values import source_text

            lines.append(f"  --{key.replace('_', '-')}={str(info.type).upper()}"
                         f"  (default {source_text(default)})")
            if info.decl.doc:
                lines.extend(f"      {doc}" for doc in info.decl.doc.splitlines())
        lines.append("  --bind=ADDRESS  the IPv4 address sockets listen on (default 0.0.0.0)")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ whole file
    def text(self) -> str:
        self.assign_names()
        components = self.component_classes()
        lowerer = Lowerer(self.c, self.names, self.namer)
        functions = self.functions_section(lowerer)
        params = any(i.decl.kind is sast.KeyKind.PARAM for i in self.program.config.values())
        self.linker.load("params")
        del params
        boot = self.boot_section(lowerer)
        p = self.program
        name = p.unikernel.name if p.unikernel else "image"
        description = f": {p.unikernel.description}" if p.unikernel and p.unikernel.description \
            else ""
        imports = [*self.linker.headers(), "import signal", "import sys",
                   "from collections.abc import Callable", "from dataclasses import dataclass",
                   "from enum import IntEnum", "from typing import Any, Final"]
        header = [
            "#!/usr/bin/env python3",
            f'"""{name}{description}',
            "",
            f"Generated by specc for target python from {os.path.basename(p.root.path)}; "
            "do not edit.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            *merge_imports(imports),
            "",
            "",
        ]
        body = "\n\n".join([self.linker.bodies(), "# ---- types\n" + self.types_section(),
                            "# ---- components\n" + components,
                            "# ---- the application\n" + functions,
                            *(["# ---- state\n" + self.state_section()] if self.reachable.vars
                              else []),
                            "# ---- boot\n" + boot])
        return prune("\n".join(header) + body)


def merge_imports(lines: list[str]) -> list[str]:
    """One `import` line per module and one `from` line per package, sorted."""
    plain: set[str] = set()
    names: dict[str, set[str]] = {}
    for line in lines:
        statement = ast.parse(line).body[0]
        if isinstance(statement, ast.Import):
            plain.update(a.name if a.asname is None else f"{a.name} as {a.asname}"
                         for a in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.module:
            names.setdefault(statement.module, set()).update(
                a.name if a.asname is None else f"{a.name} as {a.asname}"
                for a in statement.names)
    return [f"import {m}" for m in sorted(plain)] + \
        [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(names.items())]


def _core_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names | {"USAGE", "main", "signal", "sys", "dataclass", "IntEnum", "Callable", "Any",
                    "Final", "parse_int", "parse_bool", "parse_ipv4", "parse_cidr",
                    "parse_duration", "parse_size", "parse_enum"}


def _source(program: object, e: sast.Expr) -> str:
    sources = getattr(program, "sources", {})
    source = sources.get(e.span.file)
    return source.text[e.span.start:e.span.end] if source else "requires"
