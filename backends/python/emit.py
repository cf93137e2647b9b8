"""The `python` target: the residual program and its kept components as one
specialized, standard-library-only Python file."""

from __future__ import annotations

import ast
import os
import re

from specc import types as T
from specc.backends import BackendError, EmittedImage
from specc.backends.boot import MAX_ARGUMENTS, MAX_SUGGESTED, MESSAGES, NotAnArgument, boot
from specc.backends.python.emitter import Emitter
from specc.backends.python.link import CORE, Linker, prune
from specc.backends.python.literals import literal
from specc.backends.python.lower import Lowerer
from specc.backends.python.names import Namer
from specc.backends.python.own_impl import check_impl, syntax_error
from specc.backends.python.pytypes import annotation, formatter
from specc.backends.python.specialize import PLACEHOLDER_PREFIX, specialize_class
from specc.passes.image import Image, ImageInstance, RuntimeParam
from specc.stack import with_headroom
from specc.values import EnumV, ZoneV


def emit_python(image: Image) -> str:
    return _PythonImage(image).text()


def python_text(image: Image) -> str:
    """The text of the image ``NAME.py`` (tests/test_emit_golden.py keeps it)."""
    return _PythonImage(image).text()


def write_python(image: Image, output_dir: str) -> EmittedImage:
    """Write ``NAME.py`` (executable) into ``output_dir``, atomically."""
    emitter = _PythonImage(image)
    text = emitter.text()
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, f"{image.name}.py")
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o755)
    os.replace(temporary, path)
    linked = tuple(os.path.realpath(emitter.linker.module_path(n)) for n in emitter.linker.order)
    return EmittedImage(path, linked)


class _PythonImage:
    def __init__(self, image: Image) -> None:
        self.image = image
        self.declarations = image.declarations
        self.linker = Linker()
        core = self.linker.load(CORE)
        params = self.linker.load("params")
        self.namer = Namer(_core_names([*core.body, *params.body]))
        try:
            self.boot = boot(image)
        except NotAnArgument as error:
            raise BackendError(f"the python target does not build {error}") from None
        self.names: dict[str, str] = {}
        self.classes: dict[str, str] = {}  # instance key -> class name
        # Placeholder name -> the plain literal's text (specialize_class).
        self.spliced: dict[str, str] = {}

    # ------------------------------------------------------------ names
    def assign_names(self) -> None:
        d = self.declarations
        for name in d.runtime_structs:
            self.names[name] = name  # the prelude's structs live in the core
        for name in [*d.enums, "Target"]:
            self.names[name] = self.namer.fresh(name)
        for name in d.structs:
            if name not in self.names:
                self.names[name] = self.namer.fresh(name)
        for name in d.functions:
            self.names[name] = self.namer.fresh(name)
        for param in self.image.params:
            if param.owner is None:
                self.names["config " + param.name] = self.namer.fresh(f"cfg_{param.name}")
        for var in self.image.vars:
            self.names["var " + var.name] = self.namer.fresh(f"var_{var.name}")
        for instance in self.image.instances:
            self.names["device " + instance.key] = self.namer.fresh(
                "dev_" + re.sub(r"\W", "_", instance.key))

    # ------------------------------------------------------------ components
    def module_name(self, instance: ImageInstance) -> str:
        """The run-time module's name, or the path of a user's own file."""
        path = instance.implementation
        runtime = os.path.realpath(self.linker.module_path(CORE))
        if os.path.dirname(path) == os.path.dirname(runtime):
            return os.path.splitext(os.path.basename(path))[0]
        return path

    def constants(self, instance: ImageInstance) -> dict[str, str]:
        values: dict[str, str] = {}
        for const in instance.const_args:
            if isinstance(const.value, ZoneV):
                continue  # a zone reaches its component only as compile-time data
            if isinstance(const.value, EnumV):
                values[const.name.upper()] = str(const.value.index)  # run-time code sees ints
            else:
                values[const.name.upper()] = literal(const.value, self.names)
        for data in instance.data:
            values.update(data.python_constants())
        return values

    def component_classes(self) -> str:
        chunks = []
        counts: dict[str, int] = {}
        for instance in self.image.instances:
            name = self.module_name(instance)
            own = os.path.isabs(name)  # a file of the user's own, not specc's run time
            try:
                module = self.linker.load(name)
            except SyntaxError as error:
                if not own:
                    raise
                raise syntax_error(instance, error) from None
            if own:
                check_impl(instance, module, self.image.declarations)
            elif module.impl is None:
                raise BackendError(f"{instance.implementation} has no `class Impl` (the "
                                   f"Python implementation of `{instance.component}`)",
                                   instance.span)
            assert module.impl is not None
            counts[instance.component] = counts.get(instance.component, 0) + 1
            base = "".join(part.capitalize() for part in instance.component.split("_"))
            name = self.namer.fresh(base if counts[instance.component] == 1
                                    else f"{base}{counts[instance.component]}")
            self.classes[instance.key] = name
            cls = specialize_class(module.impl, name, self.constants(instance),
                                   set(instance.operations), self.spliced)
            chunks.append(f"# ---- component {instance.label}\n{ast.unparse(cls)}\n")
        return "\n\n".join(chunks)

    # ------------------------------------------------------------ program
    def types_section(self) -> str:
        out = Emitter()
        d = self.declarations
        out.line("class Target(IntEnum):")
        with out.indent():
            for i, v in enumerate(T.TARGET.variants):
                out.line(f"{v} = {i}")
        for name, decl in d.enums.items():
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

        for name, info in d.structs.items():
            if name in d.runtime_structs:
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
        code = self.image.code
        chunks = [lowerer.function(f) for f in code.functions]
        if code.main is not None:
            chunks.append(lowerer.main(code.main))
        return "\n\n".join(chunks)

    def state_section(self) -> str:
        """The top-level `var`s, at their initial values (after the functions,
        which a `var` of function type may name)."""
        out = Emitter()
        for var in self.image.vars:
            value = literal(var.initial, self.names)
            out.line(f"{self.names['var ' + var.name]}: {annotation(var.type, self.names)} = "
                     f"{value}")
        return out.text()

    def variable(self, param: RuntimeParam) -> str:
        return self.names["config " + param.name]

    def boot_section(self, lowerer: Lowerer) -> str:
        """The boot: `backends/boot.py`'s description as data for
        runtime/params.py, then the values, the `requires` and the instances."""
        image = self.image
        description = self.boot
        out = Emitter()
        keys = [p for p in image.params if p.owner is None]
        for param in keys:
            out.line(f"{self.variable(param)}: {annotation(param.type, self.names)}")
        for instance in image.instances:
            out.line(f"{self.names['device ' + instance.key]}: {self.classes[instance.key]}")
        out.line()
        out.line()
        out.line("USAGE = " + repr(description.usage))
        out.line("BOOT_MESSAGES = " + repr(dict(MESSAGES)))
        out.line("BOOT_ARGS: tuple[Any, ...] = (" + ("" if description.arguments else ")"))
        if description.arguments:
            with out.indent():
                for a in description.arguments:
                    out.line(repr((a.flag, a.kind, a.optional, a.low, a.high, a.range_text,
                                   a.what, a.variants, a.default_text, a.requires_text,
                                   a.requires_at)) + ",")
            out.line(")")
        out.line()
        out.line()
        out.line("def _boot(argv: list[bytes]) -> int:")
        with out.indent():
            globals_ = [self.variable(p) for p in keys] + \
                [self.names["device " + i.key] for i in image.instances]
            if globals_:
                out.line("global " + ", ".join(globals_))
            out.line(f"given = boot_args(argv, BOOT_ARGS, USAGE, BOOT_MESSAGES, {MAX_ARGUMENTS}, "
                     f"{MAX_SUGGESTED})")
            for index, param in enumerate(image.params):
                if param.owner is None:
                    out.line(f"{self.variable(param)} = {self.given_value(index, param)}")
            for index, param in enumerate(image.params):
                if param.owner is None and param.requires is not None:
                    lowerer.locals = [{param.name: self.variable(param)}]
                    condition = lowerer.expr(param.requires)
                    out.line(f"if not {condition}:")
                    with out.indent():
                        out.line(f"boot_requires_failed(BOOT_ARGS[{index}], given[{index}][0], "
                                 "BOOT_MESSAGES)")
            out.line("rt = Runtime()")
            for index, param in enumerate(image.params):
                if param.owner is not None:
                    out.line(f"rt.params[{param.flag!r}] = {self.given_value(index, param)}")
            for instance in image.instances:
                args = ["rt", *(self.names["device " + a.instance] for a in instance.device_args)]
                out.line(f"{self.names['device ' + instance.key]} = "
                         f"{self.classes[instance.key]}({', '.join(args)})")
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
            out.line("sys.exit(_boot([os.fsencode(a) for a in sys.argv[1:]]))")
        return out.text()

    def given_value(self, index: int, param: RuntimeParam) -> str:
        """The parameter's value: as runtime/params.py parsed it, or its default."""
        given = f"given[{index}][1]"
        value = given
        inner = param.type.inner if isinstance(param.type, T.OptionT) else param.type
        if isinstance(inner, T.EnumT):
            cls = self.names.get(inner.name, inner.name)
            value = f"{cls}({given})" if not isinstance(param.type, T.OptionT) else \
                f"(None if {given} is None else {cls}({given}))"
        return f"({literal(param.default, self.names)} if {given} is NOT_GIVEN else {value})"

    # ------------------------------------------------------------ whole file
    @with_headroom  # the lowering walks expressions recursively (specc/stack.py)
    def text(self) -> str:
        self.assign_names()
        components = self.component_classes()
        lowerer = Lowerer(self.image, self.names, self.namer)
        functions = self.functions_section(lowerer)
        boot = self.boot_section(lowerer)
        image = self.image
        description = f": {image.description}" if image.description else ""
        imports = [*self.linker.headers(), "import os", "import signal", "import sys",
                   "from collections.abc import Callable", "from dataclasses import dataclass",
                   "from enum import IntEnum", "from typing import Any, Final"]
        header = [
            "#!/usr/bin/env python3",
            f'"""{image.name}{description}',
            "",
            f"Generated by specc for target python from {os.path.basename(image.source)}; "
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
                            *(["# ---- subexpressions too deep to write inline\n"
                               + "\n\n".join(lowerer.helpers)] if lowerer.helpers else []),
                            "# ---- the application\n" + functions,
                            *(["# ---- state\n" + self.state_section()] if self.image.vars
                              else []),
                            "# ---- boot\n" + boot])
        return self.splice(prune("\n".join(header) + body))

    def splice(self, text: str) -> str:
        """``text`` with each placeholder replaced by its plain literal's text:
        after pruning, which the literal (data, naming nothing) cannot change."""
        for placeholder in self.spliced:
            if text.count(placeholder) > 1:  # none when pruning dropped the class
                raise BackendError(f"`{PLACEHOLDER_PREFIX}...` names are specc's own: a component "
                                   f"implementation uses `{placeholder}`")
        if not self.spliced:
            return text
        pattern = re.compile("|".join(map(re.escape, self.spliced)))
        return pattern.sub(lambda found: self.spliced[found.group(0)], text)


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
    return names | {"USAGE", "BOOT_MESSAGES", "BOOT_ARGS", "main", "os", "signal", "sys",
                    "dataclass", "IntEnum", "Callable", "Any", "Final"}
