"""The `hvt` and `unix` targets: the residual program as C, each kept
component instance as its own specialized translation unit, built into a PVH
image (hvt) or a native executable (unix)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from specc import ast
from specc import types as T
from specc.backends.c import globals as cglobals
from specc.backends.c.build import RUNTIME_DIR, BuildError, build_hvt, find_cc
from specc.backends.c.ctypes import CTypes, Unsupported
from specc.backends.c.lower import CLowerer, c_string, scalar_literal
from specc.check.program import ConfigKeyInfo
from specc.driver import Compilation
from specc.passes.devices import Instance
from specc.span import Span
from specc.values import CidrV, EnumV, FilesV, Value, ZoneV

UNIX_CFLAGS = ("-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
               "-Wno-unused-function", "-ffunction-sections", "-fdata-sections")
C_SOURCES = {  # run-time sources per target, besides the generated ones
    "unix": ["core/sc.c", "core/target_posix.c", "platform/posix/posix.c"],
    "hvt": ["core/sc.c", "core/target_hvt.c"],
}


class CBackendError(Exception):
    """A spec the C targets cannot build (reported as E0701)."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.span = span


@dataclass
class CProgram:
    files: dict[str, str]  # generated file name -> text
    sources: list[Path]  # every C source to compile, generated and run-time


def generate_c(c: Compilation, directory: Path) -> CProgram:
    """Write the generated C of an image into ``directory``."""
    try:
        return _CImage(c, directory).generate()
    except Unsupported as error:
        assert c.program is not None
        span = c.program.unikernel.span if c.program.unikernel else None
        raise CBackendError(f"the {c.program.target} target does not build {error} yet; "
                            "the python target does", span) from None


def build_c(c: Compilation, output_dir: str) -> str:
    """Generate, compile and link; returns the image's path."""
    assert c.program is not None
    name = c.program.unikernel.name if c.program.unikernel else "image"
    target = c.program.target
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    generated = out / "c"
    if generated.exists():
        shutil.rmtree(generated)
    generated.mkdir()
    program = generate_c(c, generated)
    image = out / (f"{name}.hvt" if target == "hvt" else name)
    flags = [f"-I{RUNTIME_DIR}", f"-I{RUNTIME_DIR / 'dns'}", f"-I{generated}"]
    if target == "hvt":
        build_hvt(program.sources, image, [*flags, "-std=gnu11", "-Wno-unused-parameter",
                                           "-Wno-unused-function"])
        return str(image)
    cc = find_cc()
    if cc is None:
        raise BuildError("no C compiler: install gcc (Debian package `gcc`) or set CC")
    partial = image.with_name(f".{image.name}.partial")
    command = [cc, *UNIX_CFLAGS, *flags, f"-ffile-prefix-map={RUNTIME_DIR}=runtime",
               f"-ffile-prefix-map={generated}=generated", *map(str, program.sources),
               "-Wl,--gc-sections", "-o", str(partial)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BuildError(f"`{' '.join(command)}` failed:\n{completed.stderr}")
    os.replace(partial, image)
    return str(image)


class _CImage:
    def __init__(self, c: Compilation, directory: Path) -> None:
        assert c.program is not None and c.reachable is not None and c.graph is not None
        assert c.folded is not None and c.config is not None
        self.c = c
        self.program = c.program
        self.reachable = c.reachable
        self.graph = c.graph
        self.directory = directory
        self.ctypes = CTypes()
        self.devices = {k: "dev_" + re.sub(r"\W", "_", k) for k in self.reachable.instances}
        self.files: dict[str, str] = {}
        self.sources: list[Path] = [RUNTIME_DIR / s for s in C_SOURCES[self.program.target]]

    def write(self, name: str, text: str) -> None:
        self.files[name] = text
        (self.directory / name).write_text(text)
        if name.endswith(".c"):
            self.sources.append(self.directory / name)

    # ------------------------------------------------------------ components
    def implementation(self, instance: Instance) -> str:
        info = self.program.components[instance.component]
        for item in info.decl.items:
            if isinstance(item, ast.ImplItem) and item.language == "c":
                path = os.path.abspath(os.path.join(os.path.dirname(info.decl.span.file),
                                                    item.path))
                if not os.path.isfile(path):
                    raise CBackendError(f"the C implementation of component "
                                        f"`{instance.component}` ({item.path}) does not exist",
                                        item.path_span)
                runtime = os.path.abspath(RUNTIME_DIR)
                return os.path.relpath(path, runtime) if path.startswith(runtime + os.sep) \
                    else path
        raise Unsupported(f"component `{instance.component}` (it has no C implementation)")

    def op_prototypes(self, instance: Instance) -> list[str]:
        prefix = self.devices[instance.key]
        iface = self.program.components[instance.component].interface
        lines = [f"void {prefix}_init(void);"]
        for name, op in self.program.interfaces[iface].ops.items():
            try:
                params = ", ".join(f"{self.ctypes.name(t)} {p}"
                                   for p, t in zip(op.param_names, op.type.params, strict=True))
                if op.type.result == T.ListT(T.STRING):
                    # Kv.keys(): the one list a component gives; only `len()` of it
                    # builds (anything else on a list is refused by the lowerer).
                    self.ctypes.typedefs.setdefault(
                        "sc_list_str", "typedef struct { const sc_str *ptr; size_t len; } "
                        "sc_list_str;")
                    result = "sc_list_str"
                else:
                    result = self.ctypes.name(op.type.result)
            except Unsupported:
                continue  # an operation C cannot name the types of has no C version
            lines.append(f"{result} {prefix}_{name}({params or 'void'});")
        return lines

    def instance_file(self, instance: Instance) -> None:
        prefix = self.devices[instance.key]
        lines = ["/* Generated by specc: one component instance. */",
                 f"#define SC_INSTANCE {prefix}"]
        for param, target in instance.device_args:
            lines.append(f"#define SC_DEV_{param} {self.devices[target]}")
        for param, value in instance.const_args:
            lines.extend(self.const_macros(instance, param, value))
        if instance.component == "http_server":
            lines.extend(self.site_table(instance))
        lines.append(f'#include "{self.implementation(instance)}"')
        self.write(f"inst_{prefix}.c", "\n".join(lines) + "\n")

    def const_macros(self, instance: Instance, param: str, value: Value) -> list[str]:
        name = f"SC_CONST_{param}"
        if isinstance(value, ZoneV):
            return self.zone_table(instance)
        if isinstance(value, FilesV):
            return self.files_table(instance, value)
        if isinstance(value, CidrV):
            return [f"#define {name}_ip UINT32_C(0x{value.address:08x})",
                    f"#define {name}_prefix {value.prefix}"]
        info = next(p for p in self.program.components[instance.component].params
                    if p.name == param)
        if isinstance(info.type, T.OptionT):
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

    def zone_table(self, instance: Instance) -> list[str]:
        from specc.backends.dns.c_table import table_to_c
        from specc.backends.dns.precompute import build_table

        zone = next(v for _, v in instance.const_args if isinstance(v, ZoneV))
        prefix = self.devices[instance.key]
        self.write(f"table_{prefix}.c", table_to_c(build_table(zone.zone), f"{prefix}_table"))
        if RUNTIME_DIR / "dns" / "dns_answer.c" not in self.sources:
            self.sources.append(RUNTIME_DIR / "dns" / "dns_answer.c")
        return [f"#define SC_DNS_TABLE {prefix}_table"]

    def files_table(self, instance: Instance, files: FilesV) -> list[str]:
        from specc.backends.http.c_site import files_to_c

        prefix = self.devices[instance.key]
        self.write(f"files_{prefix}.c", files_to_c(files.files, f"{prefix}_files"))
        return [f"#define SC_KV_DATA {prefix}_files_data",
                f"#define SC_KV_INDEX {prefix}_files_index",
                f"#define SC_KV_COUNT {prefix}_files_count",
                f"#define SC_KV_KEYS {prefix}_files_keys"]

    def site_table(self, instance: Instance) -> list[str]:
        """The responses of an http_server, from the files of its `site` (a kv_ro)."""
        from specc.backends.http.c_site import max_response, site_to_c
        from specc.backends.http.precompute import build_site

        site_key = dict(instance.device_args)["site"]
        files = dict(self.graph.instances[site_key].const_args).get("files")
        if not isinstance(files, FilesV):
            raise Unsupported("an http_server whose site is not a kv_ro")
        site = build_site(files.files)
        prefix = self.devices[instance.key]
        self.write(f"site_{prefix}.c", site_to_c(site, f"{prefix}_site"))
        if RUNTIME_DIR / "http" / "http_engine.c" not in self.sources:
            self.sources.append(RUNTIME_DIR / "http" / "http_engine.c")
        return [f"#define SC_HTTP_SITE {prefix}_site",
                f"#define SC_HTTP_MAX_RESPONSE {max_response(site)}u"]

    # ------------------------------------------------------------ program
    def generate(self) -> CProgram:
        if self.program.target == "hvt":
            self.sources.extend(sorted(p for p in (RUNTIME_DIR / "net").glob("*.c")
                                       if not p.name.startswith("selftest")))
        lowerer = CLowerer(self.c, self.ctypes, self.devices)
        folded = self.c.folded
        assert folded is not None
        bodies = [lowerer.function(folded.functions[n]) for n in self.reachable.functions]
        prototypes = [lowerer.prototype(folded.functions[n]) + ";"
                      for n in self.reachable.functions]
        main = lowerer.main(folded.main) if folded.main is not None else \
            "static void f_main(void) {}\n"
        header = ["/* Generated by specc: the operations of every instance. */",
                  "#ifndef SPECC_INSTANCES_H", "#define SPECC_INSTANCES_H",
                  '#include "core/sc.h"']
        for key in self.reachable.instances:
            instance = self.graph.instances[key]
            header.extend(self.op_prototypes(instance))
            self.instance_file(instance)
        types = self.types_section()
        header_typedefs = list(self.ctypes.typedefs.values())
        self.write("instances.h", "\n".join([*header[:4], *header_typedefs, *header[4:],
                                             "#endif"]) + "\n")
        app = ["/* Generated by specc from " + os.path.basename(self.program.root.path) +
               f" for target {self.program.target}; do not edit. */",
               '#include "instances.h"', "#include <string.h>", "", types,
               *self.globals(), "", *prototypes, "", *bodies, main, self.app_main(lowerer)]
        self.write("app.c", "\n".join(app) + "\n")
        return CProgram(self.files, self.sources)

    def types_section(self) -> str:
        lines = ["static const char *const Target_names[] __attribute__((unused)) = "
                 '{ "hvt", "unix", "python" };']
        for name, decl in self.program.enums.items():
            values = ", ".join(f"{name}_{v.name} = {i}" for i, v in enumerate(decl.variants))
            names = ", ".join(f'"{v.name}"' for v in decl.variants)
            lines.append(f"typedef uint8_t {name};\nenum {{ {values} }};")
            lines.append(f"static const char *const {name}_names[] __attribute__((unused)) = "
                         f"{{ {names} }};")
        for name in _struct_order(self.program):
            info = self.program.structs[name]
            fields = " ".join(f"{self.ctypes.name(t)} {f};" for f, t in info.fields.items())
            lines.append(f"typedef struct {name} {{ {fields} }} {name};")
        return "\n".join(lines) + "\n"

    def globals(self) -> list[str]:
        lines = []
        for name, info in self.program.config.items():
            if info.decl.kind is ast.KeyKind.PARAM:
                lines.append(f"static {self.ctypes.name(info.type)} cfg_{name};")
        structs = {name: info.fields for name, info in self.program.structs.items()}
        for name in self.reachable.vars:  # top-level `var`s (backends/c/globals.py)
            lines += cglobals.definitions(name, self.program.vars[name].type, self.ctypes,
                                          structs)
        return lines

    def app_main(self, lowerer: CLowerer) -> str:
        p = self.program
        config = self.c.config
        assert config is not None
        params = [(n, i) for n, i in p.config.items() if i.decl.kind is ast.KeyKind.PARAM]
        known = [n.replace("_", "-") for n, _ in params]
        if any(self.graph.instances[k].component == "host_ip" for k in self.reachable.instances):
            known.append("bind")
        usage = self.usage(params)
        lines = ["int app_main(void) {",
                 "    static const char *const known[] = { " +
                 "".join(f'"{k}", ' for k in known) + "0 };",
                 f"    sc_params_check(known, {c_string(usage.encode())});"]
        folded = self.c.folded
        assert folded is not None
        for name in self.reachable.vars:  # initial values: constants, not in the arena
            t = p.vars[name].type
            lines.append(f"    {cglobals.c_name(name)} = {lowerer.const(folded.vars[name], t)};")
        for name, info in params:
            flag = name.replace("_", "-")
            default = lowerer.const(config.param_defaults.get(name), info.type)
            lines.append(f"    {{ size_t n; const char *t = sc_param(\"{flag}\", &n);")
            lines.append(f"      cfg_{name} = t ? {self.parse(flag, info.type)} : {default}; }}")
            if info.decl.requires is not None:
                lowerer.locals = [{name: f"cfg_{name}"}]
                condition = lowerer.expr(info.decl.requires)
                lines.append(f"    if (!({condition})) sc_usage(\"does not meet its `requires` "
                             f"({os.path.basename(info.decl.requires.span.file)}:"
                             f"{info.decl.requires.span.line})\", \"{flag}\");")
        for key in self.graph.construction_order(self.reachable.instances):
            lines.append(f"    {self.devices[key]}_init();")
        lines += ["    f_main();", "    sc_loop_run();", "    return 0;", "}"]
        return "\n".join(lines) + "\n"

    def parse(self, flag: str, t: T.Type) -> str:
        inner = t.inner if isinstance(t, T.OptionT) else t
        if T.is_integer(inner):
            text = f'sc_param_int("{flag}", t, n)' if inner == T.I64 else \
                f'sc_param_uint("{flag}", t, n, UINT64_C({T.INTEGER_RANGES[inner][1]}))'  # type: ignore[index]
        elif inner == T.BOOL:
            text = f'sc_param_bool("{flag}", t, n)'
        elif inner == T.IPV4:
            text = f'sc_param_ipv4("{flag}", t, n)'
        elif inner == T.DURATION:
            text = f'sc_param_duration("{flag}", t, n)'
        elif inner == T.STRING:
            text = "((sc_str){ t, n })"
        else:
            raise Unsupported(f"a runtime parameter of type `{t}`")
        if isinstance(t, T.OptionT):
            option = self.ctypes.name(t)
            return f"(n == 4 && memcmp(t, \"none\", 4) == 0 ? ({option}){{ 0 }} : " \
                   f"({option}){{ true, {text} }})"
        return f"({self.ctypes.name(t)}){text}"

    def usage(self, params: list[tuple[str, ConfigKeyInfo]]) -> str:
        p = self.program
        name = p.unikernel.name if p.unikernel else "image"
        lines = [f"usage: {name} [--PARAM=VALUE ...]", "", "parameters:"]
        config = self.c.config
        assert config is not None
        from specc.values import source_text

        for key, info in p.config.items():
            if info.decl.kind is not ast.KeyKind.PARAM:
                continue
            lines.append(f"  --{key.replace('_', '-')}={str(info.type).upper()}  "
                         f"(default {source_text(config.param_defaults.get(key))})")
            if info.decl.doc:
                lines.extend(f"      {d}" for d in info.decl.doc.splitlines())
        return "\n".join(lines) + "\n"


def _struct_order(program: object) -> list[str]:
    structs = getattr(program, "structs", {})
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in ("Datagram", "Conn"):
            return
        seen.add(name)
        for t in structs[name].fields.values():
            inner = t.inner if isinstance(t, T.OptionT) else t
            if isinstance(inner, T.StructT) and inner.name in structs:
                visit(inner.name)
        order.append(name)

    for name in structs:
        visit(name)
    return order


__all__ = ["CBackendError", "build_c", "generate_c", "tempfile"]
