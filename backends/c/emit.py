"""The `hvt` and `unix` targets: the residual program as C, each kept
component instance as its own specialized translation unit, built into a PVH
image (hvt) or a native executable (unix)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from specc import ast
from specc import types as T
from specc.backends import BackendError, EmittedImage
from specc.backends.boot import MAX_ARGUMENTS, MAX_SUGGESTED, MESSAGES, NotAnArgument, boot
from specc.backends.c import globals as cglobals
from specc.backends.c.build import (
    LINKER_SCRIPT,
    RUNTIME_DIR,
    SECTION_GC_FLAGS,
    BuildError,
    _run,
    build_hvt,
    compile_all,
    find_cc,
    hvt_compile_command,
    hvt_runtime_sources,
)
from specc.backends.c.ctypes import CTypes, Unsupported
from specc.backends.c.features import HEADER, features
from specc.backends.c.lower import CLowerer, c_string, scalar_literal
from specc.backends.c.own_impl import check_own_compile, check_own_operations
from specc.passes.image import ConstArg, Image, ImageInstance
from specc.span import Span
from specc.stack import with_headroom
from specc.values import CidrV, EnumV, FilesV, Value, ZoneV

# A spec may compare a value with a bound its type always meets (`x <= 65535`
# with `x: u16`, `while w < 0`) or with itself (`x == x`): legal specc, so
# the generated comparison must not stop the -Werror hvt build.
GENERATED_WARNINGS = ("-Wno-unused-parameter", "-Wno-unused-function", "-Wno-type-limits",
                      "-Wno-tautological-compare")
UNIX_CFLAGS = ("-std=gnu11", "-O2", "-Wall", "-Wextra", *GENERATED_WARNINGS,
               "-ffunction-sections", "-fdata-sections")
C_SOURCES = {  # run-time sources per target, besides the generated ones
    "unix": ["core/sc.c", "core/boot.c", "core/target_posix.c", "platform/posix/posix.c"],
    "hvt": ["core/sc.c", "core/boot.c", "core/target_hvt.c"],
}


class _LocatedLowerer(CLowerer):
    """The lowerer, with what C cannot build yet located at the innermost
    expression or statement (E0701 is never on line 1)."""

    def expr(self, e: ast.Expr) -> str:
        try:
            return super().expr(e)
        except Unsupported as error:
            _locate(error, e.span)
            raise

    def stmt(self, s: ast.Stmt) -> None:
        try:
            super().stmt(s)
        except Unsupported as error:
            _locate(error, s.span)
            raise


def _locate(error: Unsupported, span: Span) -> None:
    if getattr(error, "span", None) is None:
        error.span = span  # type: ignore[attr-defined]


@dataclass
class CProgram:
    files: dict[str, str]  # generated file name -> text
    sources: list[Path]  # every C source to compile, generated and run-time
    devices: dict[str, str]  # instance key -> its C prefix (`dev_counter`)


@with_headroom  # the lowering walks expressions recursively (specc/stack.py)
def generate_c(image: Image, directory: Path) -> CProgram:
    """Write the generated C of an image into ``directory``."""
    try:
        return _CImage(image, directory).generate()
    except Unsupported as error:
        raise BackendError(f"the {image.target} target does not build {error} yet; "
                           "the python target does", getattr(error, "span", None)) from None


def build_c(image: Image, output_dir: str) -> EmittedImage:
    """Generate, compile and link.  The units of components of the user's own
    are compiled alone first, so that an error in them is theirs (E0702)."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    generated = out / "c"
    if generated.exists():
        shutil.rmtree(generated)
    generated.mkdir()
    program = generate_c(image, generated)
    path = out / (f"{image.name}.hvt" if image.target == "hvt" else image.name)
    # specialized.h first in every file, the runtime's too: what of it this
    # image compiles in (backends/c/features.py).
    flags = [f"-I{RUNTIME_DIR}", f"-I{RUNTIME_DIR / 'dns'}", f"-I{generated}",
             "-include", str(generated / HEADER)]
    runtime = _runtime_files(program, image.target)
    cc = find_cc()
    if cc is None:
        raise BuildError("no C compiler: install gcc (Debian package `gcc`) or set CC")
    keep_unused = not image.specialized  # --no-specialize: every object linked stays whole
    hvt_flags = [*flags, "-std=gnu11", *GENERATED_WARNINGS]
    unix_flags = [f for f in [*UNIX_CFLAGS, *flags, f"-ffile-prefix-map={RUNTIME_DIR}=runtime",
                              f"-ffile-prefix-map={generated}=generated"]
                  if not (keep_unused and f in SECTION_GC_FLAGS)]

    def compile_one(source: Path, obj: Path) -> list[str]:
        if image.target == "hvt":
            return hvt_compile_command(cc, source, obj, hvt_flags, keep_unused=keep_unused)
        return [cc, *unix_flags, "-c", str(source), "-o", str(obj)]

    check_own_compile(image, generated, program.devices, compile_one)
    try:
        if image.target == "hvt":
            build_hvt(program.sources, path, hvt_flags, keep_unused=keep_unused)
        else:
            _build_unix(cc, unix_flags, program.sources, path, keep_unused=keep_unused)
    except BuildError as error:
        check_own_operations(image, program.devices, str(error),
                             program.files.get("instances.h", ""))
        raise
    return EmittedImage(str(path), runtime)


def _build_unix(cc: str, cflags: list[str], sources: list[Path], path: Path, *,
                keep_unused: bool) -> None:
    """Compile the unix executable's sources, one compiler process each and
    as many at once as there are cores (a zone's answer table is most of the
    work, and the rest compiles beside it), then link them in source order,
    as one `cc` of them all would: the executable is the same bytes.
    Written atomically."""
    partial = path.with_name(f".{path.name}.partial")
    with tempfile.TemporaryDirectory(prefix="specc-unix-") as tmp:
        objects = [Path(tmp) / f"{i:03d}-{source.stem}.o" for i, source in enumerate(sources)]
        commands = [[cc, *cflags, "-c", str(source), "-o", str(obj)]
                    for source, obj in zip(sources, objects, strict=True)]
        compile_all(commands)
        _run([cc, *cflags, *map(str, objects), *([] if keep_unused else ["-Wl,--gc-sections"]),
              "-o", str(partial)])
    os.replace(partial, path)


def _runtime_files(program: CProgram, target: str) -> tuple[str, ...]:
    """Every run-time file the image is built from: the sources compiled that
    are not generated, the headers they may include, and hvt's boot files."""
    compiled = [str(p.resolve()) for p in program.sources if p.name not in program.files]
    headers = sorted(str(p.resolve()) for p in RUNTIME_DIR.rglob("*.h"))
    extra = [str(p.resolve()) for p in [*hvt_runtime_sources(), LINKER_SCRIPT]] \
        if target == "hvt" else []
    return tuple(dict.fromkeys([*compiled, *headers, *extra]))


class _CImage:
    def __init__(self, image: Image, directory: Path) -> None:
        self.image = image
        self.declarations = image.declarations
        self.directory = directory
        self.ctypes = CTypes(self.declarations.structs, self.declarations.enums,
                             self.declarations.runtime_structs)
        self.devices = {i.key: "dev_" + re.sub(r"\W", "_", i.key) for i in image.instances}
        self.files: dict[str, str] = {}
        self.sources: list[Path] = [RUNTIME_DIR / s for s in C_SOURCES[image.target]]
        try:
            self.boot = boot(image)
        except NotAnArgument as error:
            raise Unsupported(str(error)) from None

    def write(self, name: str, text: str) -> None:
        self.files[name] = text
        (self.directory / name).write_text(text)
        if name.endswith(".c"):
            self.sources.append(self.directory / name)

    def link(self, source: str | Path) -> None:
        path = Path(source)
        if path not in self.sources:
            self.sources.append(path)

    # ------------------------------------------------------------ components
    @staticmethod
    def include_path(instance: ImageInstance) -> str:
        runtime = os.path.realpath(RUNTIME_DIR)
        path = instance.implementation
        return os.path.relpath(path, runtime) if path.startswith(runtime + os.sep) else path

    def op_prototypes(self, instance: ImageInstance) -> list[str]:
        prefix = self.devices[instance.key]
        lines = [f"void {prefix}_init(void);"]
        interface = self.declarations.interfaces.get(instance.interface)
        for name, op in (interface.ops.items() if interface is not None else ()):
            try:
                params = ", ".join(f"{self.ctypes.name(t)} {p}"
                                   for p, t in zip(op.param_names, op.type.params, strict=True))
                result = self.ctypes.name(op.type.result)
            except Unsupported:
                continue  # an operation C cannot name the types of has no C version
            lines.append(f"{result} {prefix}_{name}({params or 'void'});")
        return lines

    def instance_file(self, instance: ImageInstance) -> None:
        prefix = self.devices[instance.key]
        lines = ["/* Generated by specc: one component instance. */",
                 f"#define SC_INSTANCE {prefix}"]
        for arg in instance.device_args:
            lines.append(f"#define SC_DEV_{arg.name} {self.devices[arg.instance]}")
        for const in instance.const_args:
            lines.extend(self.const_macros(prefix, const))
        for data in instance.data:
            parts = data.c_parts(prefix)
            lines.extend(parts.macros)
            for name, text in parts.files:
                self.write(name, text)
            for source in parts.sources:
                self.link(source)
        lines.append(f'#include "{self.include_path(instance)}"')
        self.write(f"inst_{prefix}.c", "\n".join(lines) + "\n")

    def const_macros(self, prefix: str, const: ConstArg) -> list[str]:
        name, value = f"SC_CONST_{const.name}", const.value
        if isinstance(value, ZoneV):
            return []  # a zone reaches its component only as compile-time data
        if isinstance(value, FilesV):
            return self.files_table(prefix, value)
        if isinstance(value, CidrV):
            return [f"#define {name}_ip UINT32_C(0x{value.address:08x})",
                    f"#define {name}_prefix {value.prefix}"]
        if isinstance(const.type, T.OptionT):
            if value is None:
                return [f"#define {name}_some 0", f"#define {name} 0"]
            return [f"#define {name}_some 1", f"#define {name} ({self.scalar(value)})"]
        return [f"#define {name} ({self.scalar(value)})"]

    @staticmethod
    def scalar(value: Value) -> str:
        if isinstance(value, EnumV):
            return str(value.index)  # component code sees enums as ints
        literal = scalar_literal(value)
        if literal is None:
            raise Unsupported(f"the component constant {value!r}")
        return literal

    def files_table(self, prefix: str, files: FilesV) -> list[str]:
        from specc.backends.http.c_site import files_to_c

        self.write(f"files_{prefix}.c", files_to_c(files.files, f"{prefix}_files"))
        return [f"#define SC_KV_DATA {prefix}_files_data",
                f"#define SC_KV_INDEX {prefix}_files_index",
                f"#define SC_KV_COUNT {prefix}_files_count",
                f"#define SC_KV_KEYS {prefix}_files_keys"]

    # ------------------------------------------------------------ program
    def generate(self) -> CProgram:
        image = self.image
        if image.target == "hvt":
            self.sources.extend(sorted(p for p in (RUNTIME_DIR / "net").glob("*.c")
                                       if not p.name.startswith("selftest")))
        lowerer = _LocatedLowerer(image, self.ctypes, self.devices)
        code = image.code
        bodies = [lowerer.function(f) for f in code.functions]
        prototypes = [lowerer.prototype(f) + ";" for f in code.functions]
        main = lowerer.main(code.main) if code.main is not None else \
            "static void f_main(void) {}\n"
        header = ["/* Generated by specc: the operations of every instance. */",
                  "#ifndef SPECC_INSTANCES_H", "#define SPECC_INSTANCES_H",
                  '#include "core/sc.h"']
        for instance in image.instances:
            header.extend(self.op_prototypes(instance))
            self.instance_file(instance)
        self.write(HEADER, features(image).header())
        types = self.types_section()
        entry = self.app_main(lowerer)  # before the helpers are listed: it may add some
        state = self.globals()  # before the typedefs are written: a var may need one
        header_typedefs = list(self.ctypes.typedefs.values())
        self.write("instances.h", "\n".join([*header[:4], *header_typedefs, *header[4:],
                                             "#endif"]) + "\n")
        app = ["/* Generated by specc from " + os.path.basename(image.source) +
               f" for target {image.target}; do not edit. */",
               '#include "instances.h"', "#include <string.h>", "", types,
               *self.ctypes.helper_text(), *state, "", *prototypes, "", *bodies, main,
               entry]
        self.write("app.c", "\n".join(app) + "\n")
        return CProgram(self.files, self.sources, self.devices)

    def types_section(self) -> str:
        # The enums and structs are defined in instances.h, by CTypes.
        lines = ["static const char *const Target_names[] __attribute__((unused)) = "
                 '{ "hvt", "unix", "python" };']
        return "\n".join(lines) + "\n"

    def globals(self) -> list[str]:
        lines = [f"static {self.ctypes.name(p.type)} cfg_{p.name};"
                 for p in self.image.params if p.owner is None]
        structs = {name: info.fields for name, info in self.declarations.structs.items()}
        for var in self.image.vars:  # top-level `var`s (backends/c/globals.py)
            lines += cglobals.definitions(var.name, var.type, self.ctypes, structs)
        return lines

    def app_main(self, lowerer: CLowerer) -> str:
        """The boot (`backends/boot.py`'s description as tables for
        core/boot.c), the `requires`, the instances and `main`."""
        description = self.boot
        lines = [f"_Static_assert(SC_BOOT_LIMIT == {MAX_ARGUMENTS} && SC_BOOT_LONGEST == "
                 f"{MAX_SUGGESTED} && SC_MSG_COUNT == {len(MESSAGES)}, "
                 "\"core/sc.h and backends/boot.py disagree\");",
                 "static const char *const boot_messages[SC_MSG_COUNT] = {"]
        lines += [f"    [SC_MSG_{key.upper()}] = {c_string(text.encode())},"
                  for key, text in MESSAGES.items()]
        lines.append("};")
        for index, arg in enumerate(description.arguments):
            if arg.variants:
                lines.append(f"static const char *const boot_variants_{index}[] = {{ " +
                             "".join(f"{c_string(v.encode())}, " for v in arg.variants) + "0 };")
        lines.append(f"static const sc_arg boot_args[{max(1, len(description.arguments))}] = {{")
        for index, arg in enumerate(description.arguments):
            fields = [c_string(arg.flag.encode()), f"SC_ARG_{arg.kind.upper()}",
                      "true" if arg.optional else "false", f"UINT64_C({arg.high})",
                      c_string(arg.range_text.encode()), c_string(arg.what.encode()),
                      f"boot_variants_{index}" if arg.variants else "0",
                      c_string(arg.default_text.encode()),
                      c_string((arg.requires_text or "").encode()),
                      c_string((arg.requires_at or "").encode())]
            lines.append("    { " + ", ".join(fields) + " },")
        lines.append("};")
        lines.append(f"static sc_arg_value boot_values[{max(1, len(description.arguments))}];")
        lines += ["", "int app_main(void) {",
                  f"    static const sc_boot_table boot = {{ {c_string(description.usage.encode())}, "
                  f"boot_args, boot_values, {len(description.arguments)}, boot_messages }};",
                  "    sc_boot(&boot);"]
        need = max((i.event_arena for i in self.image.instances), default=0)
        if need:  # what the components are known to take; the code's own use is unbounded
            lines.append(f"    sc_arena_require({need}u);")
        for var in self.image.vars:  # initial values: constants, not in the arena
            lines.append(f"    {cglobals.c_name(var.name)} = {lowerer.const(var.initial, var.type)};")
        for index, param in enumerate(self.image.params):
            if param.owner is not None:
                continue  # the component reads it itself (sc_boot_value)
            default = lowerer.const(param.default, param.type)
            lines.append(f"    cfg_{param.name} = boot_values[{index}].text ? "
                         f"{self.given(index, param.type)} : {default};")
        for index, param in enumerate(self.image.params):
            if param.owner is None and param.requires is not None:
                lowerer.locals = [{param.name: f"cfg_{param.name}"}]
                condition = lowerer.expr(param.requires)
                lines.append(f"    if (!({condition})) sc_boot_requires_failed({index});")
        for instance in self.image.instances:
            if instance.key not in self.image.linked_only:  # those are never started
                lines.append(f"    {self.devices[instance.key]}_init();")
        lines += ["    f_main();", "    sc_loop_run();", "    return 0;", "}"]
        return "\n".join(lines) + "\n"

    def given(self, index: int, t: T.Type) -> str:
        """The C value of parameter ``index`` as core/boot.c parsed it."""
        inner = t.inner if isinstance(t, T.OptionT) else t
        value = f"boot_values[{index}]"
        if inner == T.STRING:
            text = f"((sc_str){{ {value}.text, {value}.len }})"
        elif inner == T.CIDR:
            text = f"{value}.cidr"
        elif inner in (T.I64, T.DURATION):
            text = f"{value}.i"
        elif inner == T.BOOL:
            text = f"({value}.u != 0)"
        else:
            text = f"({self.ctypes.name(inner)}){value}.u"
        if isinstance(t, T.OptionT):
            option = self.ctypes.name(t)
            return f"({value}.none ? ({option}){{ 0 }} : ({option}){{ true, {text} }})"
        return text


__all__ = ["build_c", "generate_c"]
