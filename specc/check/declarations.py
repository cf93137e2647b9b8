"""Collecting declarations into the program's tables and resolving the types
they mention (LANGUAGE.md sections 3 to 6)."""

from __future__ import annotations

from specc import ast
from specc.check.program import (
    CheckedProgram,
    ComponentInfo,
    ComponentParamInfo,
    ConfigKeyInfo,
    FunctionInfo,
    InterfaceInfo,
    OperationInfo,
    StructInfo,
    Symbol,
    VarInfo,
)
from specc.check.suggest import did_you_mean
from specc.diagnostics import DiagnosticSink, Note
from specc.span import Span
from specc.types import (
    BUILTIN_TYPES,
    ERROR,
    TARGET,
    DeviceT,
    EnumT,
    FnT,
    ListT,
    OptionT,
    StructT,
    Type,
)

TARGET_NAMES = TARGET.variants
IMPL_LANGUAGES = ("c", "python")


class Declarations:
    """Fills the tables of a :class:`CheckedProgram` from its modules."""

    def __init__(self, program: CheckedProgram, sink: DiagnosticSink) -> None:
        self.program = program
        self.sink = sink
        # Where each top-level name was declared, and whether in the prelude.
        self.declared: dict[str, tuple[Span, bool]] = {}

    def collect(self) -> None:
        p = self.program
        self.check_file_shape()
        for module in p.modules:
            in_prelude = module is p.prelude
            for decl in module.decls:
                if isinstance(decl, ast.VarDecl) and module is not p.root:
                    continue  # a used file's `var` is reported by check_file_shape
                self.declare(decl, in_prelude)
        for module in p.modules:
            for decl in module.decls:
                self.resolve(decl)

    # ------------------------------------------------------------ file shape
    def check_file_shape(self) -> None:
        p = self.program
        unikernels = [d for d in p.root.decls if isinstance(d, ast.Unikernel)]
        if not unikernels:
            source = p.sources[p.root.path]
            self.sink.add("E0106", source.span(0, 0),
                          "an application file must start with a `unikernel NAME` line",
                          hint='add `unikernel my_app "what it does"` as the first line')
        else:
            p.unikernel = unikernels[0]
            if p.root.decls[0] is not unikernels[0]:
                self.sink.add("E0106", unikernels[0].span,
                              "the `unikernel` line must come before every other declaration")
            for extra in unikernels[1:]:
                self.sink.add("E0106", extra.span, "a file has exactly one `unikernel` line",
                              notes=[Note("the first one is here", unikernels[0].span)])
        mains = [d for d in p.root.decls if isinstance(d, ast.MainDecl)]
        if mains:
            p.main = mains[0]
            for extra_main in mains[1:]:
                self.sink.add("E0102", extra_main.span, "`main` is declared twice",
                              notes=[Note("the first `main` is here", mains[0].span)])
        elif unikernels:
            self.sink.add("E0111", unikernels[0].span, "the application has no `main` block",
                          hint="add `main { ... }` with the code to run at boot")
        for module in p.used:
            for decl in module.decls:
                if isinstance(decl, ast.Unikernel | ast.ConfigBlock | ast.DevicesBlock
                              | ast.MainDecl | ast.VarDecl):
                    kind = {ast.Unikernel: "`unikernel` line", ast.ConfigBlock: "`config` block",
                            ast.DevicesBlock: "`devices` block", ast.MainDecl: "`main` block",
                            ast.VarDecl: "top-level `var`"}
                    self.sink.add(
                        "E0110", decl.span,
                        f"a used file cannot have a {kind[type(decl)]}",
                        hint="a used file declares interfaces, components, types and functions; "
                        "move this into the application file")

    # ------------------------------------------------------------ names
    def claim(self, name: str, span: Span, in_prelude: bool, what: str) -> bool:
        """Record a top-level name; a user declaration may shadow the prelude."""
        previous = self.declared.get(name)
        if previous is not None and not previous[1]:
            self.sink.add("E0102", span, f"`{name}` is declared twice ({what})",
                          notes=[Note(f"`{name}` is first declared here", previous[0])],
                          hint="rename one of them")
            return False
        if previous is not None and in_prelude:
            return False
        self.declared[name] = (span, in_prelude)
        return True

    def declare(self, decl: ast.Decl, in_prelude: bool) -> None:
        p = self.program
        if isinstance(decl, ast.EnumDecl):
            if decl.name == "Target":
                self.sink.add("E0102", decl.name_span, "`Target` is the builtin enum of targets")
            elif self.claim(decl.name, decl.name_span, in_prelude, "enum"):
                self.forget(decl.name)
                p.enums[decl.name] = decl
        elif isinstance(decl, ast.StructDecl):
            if self.claim(decl.name, decl.name_span, in_prelude, "struct"):
                self.forget(decl.name)
                p.structs[decl.name] = StructInfo(decl)
        elif isinstance(decl, ast.InterfaceDecl):
            if self.claim(decl.name, decl.name_span, in_prelude, "interface"):
                self.forget(decl.name)
                p.interfaces[decl.name] = InterfaceInfo(decl)
        elif isinstance(decl, ast.ComponentDecl):
            if self.claim(decl.name, decl.name_span, in_prelude, "component"):
                self.forget(decl.name)
                p.components[decl.name] = ComponentInfo(decl)
        elif isinstance(decl, ast.FnDecl):
            if self.claim(decl.name, decl.name_span, in_prelude, "function"):
                self.forget(decl.name)
                p.functions[decl.name] = FunctionInfo(decl.name, FnT((), None), (), decl, decl.doc)
        elif isinstance(decl, ast.VarDecl):
            if decl.name in p.devices:
                self.sink.add("E0102", decl.name_span, f"`var {decl.name}` has the name of a "
                              "device", notes=[Note("the device",
                                                    p.devices[decl.name].decl.name_span)])
            elif self.claim(decl.name, decl.name_span, in_prelude, "var"):
                self.forget(decl.name)
                p.vars[decl.name] = VarInfo(decl, ERROR)
        elif isinstance(decl, ast.ConfigBlock):
            for key in decl.keys:
                if key.name in p.config:
                    self.sink.add("E0102", key.name_span, f"config key `{key.name}` is declared "
                                  "twice", notes=[Note("first declared here",
                                                       p.config[key.name].decl.name_span)])
                    continue
                p.config[key.name] = ConfigKeyInfo(key, ERROR)
        elif isinstance(decl, ast.DevicesBlock):
            for device in decl.devices:
                if device.name in p.devices:
                    first = p.devices[device.name].decl.name_span
                    self.sink.add("E0102", device.name_span, f"device `{device.name}` is "
                                  "declared twice", notes=[Note("first declared here", first)])
                    continue
                if device.name in p.functions or device.name in p.vars:
                    what = "function" if device.name in p.functions else "`var`"
                    decl_span = self.declared[device.name][0]
                    self.sink.add("E0102", device.name_span, f"device `{device.name}` has the "
                                  f"name of a {what}", notes=[Note(f"the {what}", decl_span)])
                from specc.check.program import DeviceInfo

                p.devices[device.name] = DeviceInfo(device, ERROR)

    def forget(self, name: str) -> None:
        """Drop a prelude declaration that a user declaration shadows."""
        p = self.program
        for table in (p.enums, p.structs, p.interfaces, p.components, p.functions):
            table.pop(name, None)

    # ------------------------------------------------------------ types
    def resolve_type(self, texpr: ast.TypeExpr) -> Type:
        p = self.program
        if isinstance(texpr, ast.OptionType):
            inner = self.resolve_type(texpr.inner)
            if isinstance(inner, OptionT):
                self.sink.add("E0201", texpr.span, f"`{inner}?` is an option of an option, "
                              "which specc does not have")
            return OptionT(inner)
        if isinstance(texpr, ast.ListType):
            return ListT(self.resolve_type(texpr.element))
        if isinstance(texpr, ast.FnType):
            params = tuple(self.resolve_type(t) for t in texpr.params)
            result = self.resolve_type(texpr.result) if texpr.result is not None else None
            return FnT(params, result)
        name = texpr.name
        builtin = BUILTIN_TYPES.get(name)
        if builtin is not None:
            p.references[texpr] = Symbol("type", name, None, builtin)
            return builtin
        if name == "Target":
            p.references[texpr] = Symbol("enum", name, None, TARGET)
            return TARGET
        if name in p.enums:
            decl = p.enums[name]
            enum_type = self.enum_type(decl)
            p.references[texpr] = Symbol("enum", name, decl.name_span, enum_type, decl.doc)
            return enum_type
        if name in p.structs:
            sdecl = p.structs[name].decl
            struct_type = StructT(name, sdecl.name_span)
            p.references[texpr] = Symbol("struct", name, sdecl.name_span, struct_type, sdecl.doc)
            return struct_type
        if name in p.interfaces:
            idecl = p.interfaces[name].decl
            device_type = DeviceT(name)
            p.references[texpr] = Symbol("interface", name, idecl.name_span, device_type,
                                         idecl.doc)
            return device_type
        known = [*BUILTIN_TYPES, "Target", *p.enums, *p.structs, *p.interfaces]
        if name in p.broken_names:
            return ERROR
        self.sink.add("E0103", texpr.span, f"unknown type `{name}`", hint=did_you_mean(name, known))
        return ERROR

    @staticmethod
    def enum_type(decl: ast.EnumDecl) -> EnumT:
        return EnumT(decl.name, tuple(v.name for v in decl.variants), decl.name_span)

    def resolve(self, decl: ast.Decl) -> None:
        p = self.program
        if isinstance(decl, ast.EnumDecl) and p.enums.get(decl.name) is decl:
            seen: dict[str, ast.EnumVariant] = {}
            for variant in decl.variants:
                if variant.name in seen:
                    self.sink.add("E0102", variant.span, f"`{decl.name}.{variant.name}` is "
                                  "declared twice", notes=[Note("first here", seen[variant.name].span)])
                seen[variant.name] = variant
        elif isinstance(decl, ast.StructDecl) and decl.name in p.structs \
                and p.structs[decl.name].decl is decl:
            info = p.structs[decl.name]
            for fdecl in decl.fields:
                if fdecl.name in info.fields:
                    self.sink.add("E0102", fdecl.name_span, f"field `{fdecl.name}` is declared "
                                  "twice")
                    continue
                info.fields[fdecl.name] = self.resolve_type(fdecl.type)
        elif isinstance(decl, ast.InterfaceDecl) and decl.name in p.interfaces \
                and p.interfaces[decl.name].decl is decl:
            iinfo = p.interfaces[decl.name]
            for op in decl.ops:
                if op.name in iinfo.ops:
                    self.sink.add("E0102", op.name_span, f"operation `{op.name}` is declared "
                                  "twice", notes=[Note("first here", iinfo.ops[op.name].decl.name_span)])
                    continue
                fn_type = self.signature(op.params, op.result)
                iinfo.ops[op.name] = OperationInfo(op.name, fn_type,
                                                   tuple(q.name for q in op.params), op)
        elif isinstance(decl, ast.FnDecl) and decl.name in p.functions \
                and p.functions[decl.name].decl is decl:
            finfo = p.functions[decl.name]
            finfo.type = self.signature(decl.params, decl.result)
            finfo.param_names = tuple(q.name for q in decl.params)
        elif isinstance(decl, ast.ComponentDecl) and decl.name in p.components \
                and p.components[decl.name].decl is decl:
            self.resolve_component(p.components[decl.name])
        elif isinstance(decl, ast.VarDecl) and p.vars.get(decl.name) is not None \
                and p.vars[decl.name].decl is decl and decl.type is not None:
            p.vars[decl.name].type = self.resolve_type(decl.type)
        elif isinstance(decl, ast.ConfigBlock):
            for key in decl.keys:
                key_info = p.config.get(key.name)
                if key_info is not None and key_info.decl is key:
                    key_info.type = self.resolve_type(key.type)

    def signature(self, params: tuple[ast.Param, ...], result: ast.TypeExpr | None) -> FnT:
        seen: set[str] = set()
        for param in params:
            if param.name in seen:
                self.sink.add("E0102", param.name_span, f"parameter `{param.name}` is declared "
                              "twice")
            seen.add(param.name)
        types = tuple(self.resolve_type(q.type) for q in params)
        return FnT(types, self.resolve_type(result) if result is not None else None)

    def resolve_component(self, info: ComponentInfo) -> None:
        decl = info.decl
        iface = decl.interface
        if iface.name in self.program.interfaces:
            info.interface = iface.name
            idecl = self.program.interfaces[iface.name].decl
            self.program.references[iface] = Symbol("interface", iface.name, idecl.name_span,
                                                    DeviceT(iface.name), idecl.doc)
        else:
            self.sink.add("E0103", iface.span, f"unknown interface `{iface.name}`",
                          hint=did_you_mean(iface.name, self.program.interfaces))
        seen: set[str] = set()
        for param in decl.params:
            if param.name in seen:
                self.sink.add("E0102", param.name_span, f"parameter `{param.name}` is declared "
                              "twice")
            seen.add(param.name)
            ptype = self.resolve_type(param.type)
            if not param.is_const and not isinstance(ptype, DeviceT) and ptype is not ERROR:
                self.sink.add("E0218", param.span, f"component parameter `{param.name}` has type "
                              f"`{ptype}`: a parameter is either a device (typed by an interface) "
                              "or a `const` value", hint=f"write `const {param.name}: {ptype}`")
            if param.is_const and isinstance(ptype, DeviceT):
                self.sink.add("E0218", param.span, f"`const` parameter `{param.name}` cannot be a "
                              "device")
            if not param.is_const and param.default is not None:
                self.sink.add("E0218", param.default.span, "only `const` parameters have defaults")
            info.params.append(ComponentParamInfo(param.name, ptype, param.is_const, param))
        targets: list[str] = []
        for item in decl.items:
            if isinstance(item, ast.TargetsItem):
                for name, span in item.targets:
                    if name not in TARGET_NAMES:
                        self.sink.add("E0219", span, f"unknown target `{name}`; the targets are "
                                      "hvt, unix and python",
                                      hint=did_you_mean(name, TARGET_NAMES))
                    elif name not in targets:
                        targets.append(name)
            elif isinstance(item, ast.ImplItem) and item.language not in IMPL_LANGUAGES:
                self.sink.add("E0218", item.language_span, f"unknown implementation language "
                              f"`{item.language}`; write `impl c \"file.c\"` or "
                              "`impl python \"file.py\"`")
        if targets:
            info.targets = tuple(t for t in TARGET_NAMES if t in targets)
