"""The front end's checking pass: declarations, then every body, then stages."""

from __future__ import annotations

from specc import ast
from specc.check.context import Context
from specc.check.declarations import Declarations
from specc.check.program import Symbol, VarInfo
from specc.check.scope import Local, Scope
from specc.check.stages import check_stages
from specc.check.statements import BodyChecker
from specc.diagnostics import Note
from specc.span import Span
from specc.types import (
    BOOL,
    ERROR,
    ComponentT,
    DeviceT,
    ErrorT,
    Type,
    VoidT,
    contains_compile_time_only,
    is_error,
)


class ProgramChecker(BodyChecker):
    def run(self) -> None:
        Declarations(self.program, self.sink).collect()
        p = self.program
        for key in p.config.values():
            self.config_key(key.decl, key.type)
        for var in p.vars.values():
            self.global_var(var)
        for module in p.modules:
            for decl in module.decls:
                if isinstance(decl, ast.ComponentDecl) and \
                        p.components.get(decl.name) is not None and \
                        p.components[decl.name].decl is decl:
                    self.component(decl)
        for name in p.devices:
            self.device_type(name)
        for module in p.modules:
            for decl in module.decls:
                if isinstance(decl, ast.FnDecl) and p.functions.get(decl.name) is not None \
                        and p.functions[decl.name].decl is decl:
                    self.function(decl)
        if p.main is not None:
            self.context = Context("main")
            self.scope = Scope()
            self.block(p.main.body)
        self.compute_purity()
        check_stages(p, self.sink, self.compile_time_values)
        self.report_unused_vars()

    # ------------------------------------------------------------ config
    def config_key(self, key: ast.ConfigKey, t: Type) -> None:
        self.context = Context("config")
        self.scope = Scope()
        self.expect(key.default, t, f"the default of `{key.name}`")
        if key.kind is ast.KeyKind.PARAM and contains_compile_time_only(t):
            self.sink.add("E0302", key.type.span, f"`{key.name}` is a param, read at boot, but "
                          f"`{t}` exists only at compile time", hint="make it a `const`")
        if key.requires is not None:
            self.scope.bind(Local(key.name, t, key.name_span, "config-" + key.kind.value,
                                  key.doc))
            self.expect(key.requires, BOOL, "`requires`")

    # ------------------------------------------------------------ top-level vars
    def global_var(self, var: VarInfo) -> None:
        """`var NAME: T = constant`: the type (declared, or the initializer's) and
        what a variable that lives for the whole run may hold."""
        decl = var.decl
        self.context = Context("var")
        self.scope = Scope()
        if decl.type is not None:
            self.expect(decl.value, var.type, f"`var {decl.name}`")
        else:
            t = self.expr(decl.value)
            if isinstance(t, VoidT):
                self.sink.add("E0201", decl.value.span, "this gives no value to start "
                              f"`var {decl.name}` with")
                t = ERROR
            var.type = t
        t = var.type
        where = decl.type.span if decl.type is not None else decl.value.span
        if isinstance(t, DeviceT | ComponentT):
            self.sink.add("E0221", where, f"`var {decl.name}` cannot hold a device: devices "
                          "are built once, at compile time",
                          hint="use the device by its name wherever you need it")
            var.type = ERROR
        elif contains_compile_time_only(t):
            self.sink.add("E0302", where, f"`var {decl.name}` has type `{t}`, which exists "
                          "only at compile time; a `var` is run-time state",
                          hint="read what you need from the constant (such as "
                          "`config.zone.origin`) instead")
            var.type = ERROR

    def report_unused_vars(self) -> None:
        for var in self.program.vars.values():
            name = var.decl.name
            if not var.used and not name.startswith("_") and not is_error(var.type) \
                    and name not in self.program.broken_names:
                self.sink.add("W0002", var.decl.name_span, f"`var {name}` is never read",
                              hint=f"remove it, or name it `_{name}` to keep it")

    # ------------------------------------------------------------ components
    def component(self, decl: ast.ComponentDecl) -> None:
        info = self.program.components[decl.name]
        self.scope = Scope()
        for param in info.params:
            kind = "const-param" if param.is_const else "device-param"
            if param.decl.default is not None:
                self.context = Context("default")
                self.expect(param.decl.default, param.type, f"the default of `{param.name}`")
            self.scope.bind(Local(param.name, param.type, param.decl.name_span, kind))
        ops = self.program.interfaces[info.interface].ops if info.interface else {}
        for item in decl.items:
            if isinstance(item, ast.DropItem):
                self.context = Context("drop")
                if info.interface and item.op not in ops:
                    self.sink.add("E0218", item.op_span, f"`drop {item.op}`: interface "
                                  f"`{info.interface}` has no operation `{item.op}`")
                self.expect(item.when, BOOL, "the condition of `drop`")
        if decl.composition is not None:
            self.context = Context("composition")
            t = self.expr(decl.composition)
            if info.interface and not is_error(t) and t != DeviceT(info.interface):
                self.sink.add("E0217", decl.composition.span, f"component `{decl.name}` declares "
                              f"interface `{info.interface}`, but its composition gives `{t}`",
                              notes=[Note("the interface is declared here", decl.interface.span)])

    # ------------------------------------------------------------ devices
    def device_type(self, name: str) -> Type:
        p = self.program
        info = p.devices[name]
        if name in self.devices_done:
            return info.type
        if name in self.inferring_devices:
            start = self.inferring_devices.index(name)
            cycle = [*self.inferring_devices[start:], name]
            self.sink.add("E0222", info.decl.name_span, "devices use each other in a cycle: "
                          + " -> ".join(cycle),
                          hint="a device graph must not loop; break the cycle")
            return ERROR
        self.inferring_devices.append(name)
        saved_context, saved_scope = self.context, self.scope
        self.context, self.scope = Context("devices"), Scope()
        try:
            t = self.expr(info.decl.value)
        finally:
            self.context, self.scope = saved_context, saved_scope
            self.inferring_devices.pop()
        if not isinstance(t, DeviceT | ErrorT):
            self.sink.add("E0221", info.decl.value.span, f"device `{name}` must be a component "
                          f"instance, found a value of type `{t}`")
            t = ERROR
        info.type = t
        self.devices_done.add(name)
        return t

    # ------------------------------------------------------------ functions
    def function(self, decl: ast.FnDecl) -> None:
        info = self.program.functions[decl.name]
        self.context = Context("fn", result=info.type.result, fn_name=decl.name)
        self.scope = Scope()
        for param, t in zip(decl.params, info.type.params, strict=True):
            self.scope.bind(Local(param.name, t, param.name_span, "param"))
            self.program.references[param] = Symbol("param", param.name, param.name_span, t)
            if contains_compile_time_only(t):
                self.sink.add("E0302", param.type.span, f"parameter `{param.name}` has type "
                              f"`{t}`, which exists only at compile time; a function parameter "
                              "is a run-time value", hint="read what you need from the "
                              "constant (such as `config.zone.origin`) where you call it")
        self.block(decl.body)
        if info.type.result is not None and not terminates(decl.body.stmts) \
                and not self.has_syntax_error(decl.span):
            self.sink.add("E0209", decl.name_span, f"function `{decl.name}` can reach its end "
                          f"without returning a `{info.type.result}`",
                          hint="end every path with `return`")

    def has_syntax_error(self, span: Span) -> bool:
        """Whether the parser dropped something inside ``span`` (then a missing
        `return` may be the dropped statement: say nothing)."""
        return any(d.code.startswith("E000") and d.span.file == span.file
                   and span.start <= d.span.start <= span.end for d in self.sink)

    def compute_purity(self) -> None:
        """A function is pure when neither it nor anything it calls uses a
        device, a param or a run-time builtin."""
        p = self.program
        impure = dict(self.impure)
        changed = True
        while changed:
            changed = False
            for name, callees in self.calls.items():
                if name in impure:
                    continue
                bad = next((c for c in sorted(callees) if c in impure), None)
                if bad is not None:
                    impure[name] = f"it calls `{bad}`, which is not pure"
                    changed = True
        p.pure_functions = {n for n in p.functions if n not in impure}
        p.impurity = impure


def terminates(stmts: tuple[ast.Stmt, ...]) -> bool:
    """Whether running these statements always ends in `return` or `exit`."""
    return any(_terminates(s) for s in stmts)


def _terminates(s: ast.Stmt | ast.Expr) -> bool:
    if isinstance(s, ast.Return):
        return True
    if isinstance(s, ast.Block):
        return terminates(s.stmts)
    if isinstance(s, ast.ExprStmt):
        return _terminates(s.expr)
    if isinstance(s, ast.Call):
        return isinstance(s.callee, ast.Name) and s.callee.name == "exit"
    if isinstance(s, ast.If | ast.IfLet):
        return s.else_ is not None and terminates(s.then.stmts) and _terminates(s.else_)
    if isinstance(s, ast.Match):
        return bool(s.arms) and all(_terminates(a.body) for a in s.arms)
    if isinstance(s, ast.While):
        return isinstance(s.cond, ast.BoolLit) and s.cond.value and not _breaks(s.body)
    return False


def _breaks(block: ast.Block) -> bool:
    """Whether a `break` in this loop body leaves this loop (not a nested one)."""
    for s in block.stmts:
        if isinstance(s, ast.Break):
            return True
        if isinstance(s, ast.Block) and _breaks(s):
            return True
        if isinstance(s, ast.If | ast.IfLet):
            if _breaks(s.then):
                return True
            e = s.else_
            if e is not None and _breaks(e if isinstance(e, ast.Block) else ast.Block(e.span, (e,))):
                return True
        if isinstance(s, ast.ExprStmt) and isinstance(s.expr, ast.Match):
            for arm in s.expr.arms:
                body = arm.body
                if isinstance(body, ast.Break) or (isinstance(body, ast.Block) and _breaks(body)):
                    return True
    return False
