"""Type checking of expressions (LANGUAGE.md sections 4 and 8).

Checking is bidirectional: ``expr(e, expected)`` passes the type the context
asks for down, which is how integer literals, ``none`` and empty lists get
their types.  Every expression's type is recorded in ``program.types``; a
wrong expression gets ``ERROR``, which is accepted everywhere so that one
mistake is reported once.
"""

from __future__ import annotations

from specc import ast
from specc.check.calls import ParamSpec, match_arguments
from specc.check.context import Context
from specc.check.program import CheckedProgram, Symbol
from specc.check.scope import Scope
from specc.check.suggest import closest, did_you_mean, similarity
from specc.diagnostics import DiagnosticSink, Note
from specc.span import Span
from specc.stack import MAX_EXPRESSION_DEPTH
from specc.syntax.literals import TOO_LARGE
from specc.types import (
    BOOL,
    BYTES,
    CIDR,
    DURATION,
    ERROR,
    FILES,
    I64,
    INTEGER_RANGES,
    IPV4,
    SIZE,
    STRING,
    TARGET,
    U8,
    U32,
    U64,
    UNSIGNED,
    VOID,
    ZONE,
    ComponentT,
    DeviceT,
    EnumT,
    FnT,
    ListT,
    OptionT,
    Prim,
    StructT,
    Type,
    VoidT,
    accepts,
    is_comparable,
    is_compile_time_only,
    is_error,
    is_integer,
    is_ordered,
)

# Literals whose type is their class's.
_SIMPLE_LITERALS: dict[type, Type] = {ast.BytesLit: BYTES, ast.DurationLit: DURATION,
                                      ast.SizeLit: SIZE, ast.Ipv4Lit: IPV4, ast.CidrLit: CIDR}

# Builtin functions with fixed signatures; len, min and max are checked by hand.
BUILTINS: dict[str, FnT] = {
    "utf8": FnT((BYTES,), OptionT(STRING)),
    "print": FnT((STRING,), None),
    "exit": FnT((U8,), None),
    "now": FnT((), DURATION),
    "zonefile": FnT((STRING,), ZONE),
    "dir": FnT((STRING,), FILES),
}
SPECIAL_BUILTINS = ("len", "min", "max")
RUNTIME_BUILTINS = {"print": "prints to the console", "exit": "stops the image",
                    "now": "reads the clock"}
ZONE_PROPERTIES: dict[str, Type] = {"origin": STRING, "records": U32}
_ARITHMETIC = ("+", "-", "*", "/", "%")
_BITWISE = ("|", "^", "&", "<<", ">>")
_COMPARISON = ("==", "!=", "<", "<=", ">", ">=")


def is_untyped_literal(e: ast.Expr) -> bool:
    """An expression whose type comes only from its context (``5``, ``-1``, ``none``)."""
    if isinstance(e, ast.IntLit | ast.NoneLit):
        return True
    if isinstance(e, ast.Unary) and e.op is ast.UnaryOp.NEG:
        return is_untyped_literal(e.operand)
    if isinstance(e, ast.Binary) and e.op in _ARITHMETIC + _BITWISE:
        return is_untyped_literal(e.left) and is_untyped_literal(e.right)
    if isinstance(e, ast.ListLit):
        return not e.items
    return False


def takes_context_type(e: ast.Expr) -> bool:
    """An expression whose type comes from its context, like a literal's:
    an untyped literal, or an `if`, `match`, `min` or `max` all of whose
    results are (`if c then 1 else 2`)."""
    if is_untyped_literal(e):
        return True
    if isinstance(e, ast.IfExpr):
        return takes_context_type(e.then) and takes_context_type(e.else_)
    if isinstance(e, ast.Match):
        return all(isinstance(arm.body, ast.Expr) and takes_context_type(arm.body)
                   for arm in e.arms)
    if isinstance(e, ast.Call) and isinstance(e.callee, ast.Name) \
            and e.callee.name in ("min", "max") and e.args:
        return all(takes_context_type(a.value) for a in e.args)
    return False


def int_literal_value(e: ast.Expr) -> int | None:
    if isinstance(e, ast.IntLit):
        return e.value
    if isinstance(e, ast.Unary) and e.op is ast.UnaryOp.NEG:
        inner = int_literal_value(e.operand)
        return None if inner is None else -inner
    return None


class ExprChecker:
    def __init__(self, program: CheckedProgram, sink: DiagnosticSink) -> None:
        self.program = program
        self.sink = sink
        self.scope = Scope()
        self.context = Context("main")
        # Facts for purity: what each function calls, and why it is impure.
        self.calls: dict[str, set[str]] = {}
        self.impure: dict[str, str] = {}
        # Expressions in bodies whose values exist only at compile time, and
        # calls of zonefile/dir there: the stage checker looks at these.
        self.compile_time_values: list[ast.Expr] = []
        # The span being checked, for an internal-error report.
        self.current_span: Span | None = None
        self.enum_types: dict[str, EnumT] = {}
        # Devices whose type is being inferred (to detect cycles).
        self.inferring_devices: list[str] = []
        self.devices_done: set[str] = set()
        # Expressions around the one being checked (MAX_EXPRESSION_DEPTH).
        self.expr_depth = 0
        self.deep_reported = False  # E0008 once per statement (BodyChecker.stmt)

    # ------------------------------------------------------------ entry
    def expr(self, e: ast.Expr, expected: Type | None = None) -> Type:
        self.current_span = e.span
        depth = self.expr_depth
        if depth >= MAX_EXPRESSION_DEPTH:
            return self.too_deep(e)
        self.expr_depth = depth + 1
        t = self._expr(e, expected)
        # Not in a `finally`: an exception out of here ends the whole check.
        self.expr_depth = depth
        self.program.types[e] = t
        if is_compile_time_only(t) and self.context.allows_statements:
            self.compile_time_values.append(e)
        return t

    def too_deep(self, e: ast.Expr) -> Type:
        """E0008 at the start of ``e``, the first expression one level too deep;
        nothing inside it is checked (so no later pass walks it), and the
        others past the limit in the same statement are not reported again (a
        sum's two innermost terms are both one too deep).  Reset per
        statement, not per outermost expression: that would cost a test in
        every call of :meth:`expr`."""
        if self.deep_reported:
            return ERROR
        self.deep_reported = True
        span = e.span
        start = Span(span.file, span.line, span.column, span.line, span.column + 1,
                     span.start, span.start + 1)
        self.sink.add("E0008", start, f"this expression nests more than "
                      f"{MAX_EXPRESSION_DEPTH} levels deep", hint="compute the inner part "
                      "first with `let` (`let part = ...`) and use `part` here")
        return ERROR

    def expect(self, e: ast.Expr, expected: Type, what: str | None = None) -> Type:
        """Check ``e`` against ``expected`` and report a mismatch."""
        actual = self.expr(e, expected)
        if isinstance(actual, VoidT) and not is_error(expected):
            self.sink.add("E0201", e.span, f"expected a value of type `{expected}`, but this "
                          "gives no value")
            return ERROR
        if not accepts(expected, actual):
            self.mismatch(e, expected, actual, what)
            return ERROR
        return actual

    def mismatch(self, e: ast.Expr, expected: Type, actual: Type, what: str | None) -> None:
        where = f" for {what}" if what else ""
        hint = None
        if isinstance(actual, OptionT) and accepts(expected, actual.inner):
            hint = "unwrap the option with `match`, `if let` or `?? default`"
        elif is_integer(expected) and is_integer(actual):
            hint = f"convert with `as {expected}`"
        elif expected == BYTES and actual == STRING:
            hint = "encode the string with `as bytes`"
        elif expected == STRING and actual == BYTES:
            hint = "decode with `utf8(...)`, which gives `string?`"
        self.sink.add("E0201", e.span, f"expected `{expected}`{where}, found `{actual}`", hint=hint)

    # ------------------------------------------------------------ dispatch
    def _expr(self, e: ast.Expr, expected: Type | None) -> Type:
        # The commonest classes first: this runs for every expression of every
        # body.  (A table of handlers would add a call per level, and so move
        # where a too-deep expression stops being checked.)
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.IntLit):
            return self.int_literal(e, e.value, expected)
        if isinstance(e, ast.Binary):
            return self.binary(e, expected)
        if isinstance(e, ast.Field):
            return self.field(e)
        if isinstance(e, ast.Call):
            return self.call(e, expected)
        if isinstance(e, ast.StringLit):
            for part in e.parts:
                if not isinstance(part, str):
                    self.interpolated(part)
            return STRING
        if isinstance(e, ast.BoolLit):
            return BOOL
        if isinstance(e, ast.NoneLit):
            return self.none_literal(e, expected)
        simple = _SIMPLE_LITERALS.get(e.__class__)
        if simple is not None:
            return simple
        if isinstance(e, ast.ConfigRef):
            return self.config_ref(e)
        if isinstance(e, ast.TargetRef):
            self.program.references[e] = Symbol("builtin", "target", None, TARGET,
                                                "The target being compiled for (`--target`).")
            return TARGET
        if isinstance(e, ast.Index):
            return self.index(e)
        if isinstance(e, ast.Slice):
            return self.slice(e)
        if isinstance(e, ast.Unary):
            return self.unary(e, expected)
        if isinstance(e, ast.Cast):
            return self.cast(e)
        if isinstance(e, ast.IfExpr):
            self.expect(e.cond, BOOL, "the condition")
            return self.unify([e.then, e.else_], expected, "the branches of `if`")
        if isinstance(e, ast.Match):
            return self.match(e, expected, as_statement=False)
        if isinstance(e, ast.StructLit):
            return self.struct_literal(e)
        if isinstance(e, ast.ListLit):
            return self.list_literal(e, expected)
        if isinstance(e, ast.SomeExpr):
            return self.some(e, expected)
        return ERROR  # ErrorExpr: already reported by the parser

    # hooks provided by the statement checker
    def match(self, e: ast.Match, expected: Type | None, *, as_statement: bool) -> Type:
        raise NotImplementedError

    def device_type(self, name: str) -> Type:
        raise NotImplementedError

    # ------------------------------------------------------------ literals
    def int_literal(self, e: ast.Expr, value: int, expected: Type | None) -> Type:
        target = expected.inner if isinstance(expected, OptionT) else expected
        if target is None or not isinstance(target, Prim) or not is_integer(target):
            target = I64
        low, high = INTEGER_RANGES[target]
        if abs(value) >= TOO_LARGE:
            digits = e.span.end - e.span.start
            self.sink.add("E0202", e.span, f"this literal of {digits} characters does not fit in "
                          f"`{target}` ({low} to {high}), nor in any integer type")
            return ERROR
        if not low <= value <= high:
            self.sink.add("E0202", e.span, f"the literal {value} does not fit in `{target}` "
                          f"({low} to {high})",
                          hint=None if target == U64 or value < 0 else "use a wider type or `as`")
            return ERROR
        return target

    def none_literal(self, e: ast.NoneLit, expected: Type | None) -> Type:
        if isinstance(expected, OptionT):
            return expected
        if expected is None:
            self.sink.add("E0213", e.span, "the type of `none` cannot be inferred here",
                          hint="give the variable a type, such as `let x: u16? = none`")
            return ERROR
        if not is_error(expected):
            self.sink.add("E0201", e.span, f"expected `{expected}`, found `none`",
                          hint=f"only an option can be `none`: declare the type as `{expected}?`")
        return ERROR

    def interpolated(self, part: ast.Expr) -> None:
        t = self.expr(part)
        if isinstance(t, FnT | DeviceT | ComponentT | VoidT):
            self.sink.add("E0201", part.span, f"a value of type `{t}` cannot be put in a string")

    def some(self, e: ast.SomeExpr, expected: Type | None) -> Type:
        if isinstance(expected, OptionT):
            self.expect(e.value, expected.inner)
            return expected
        inner = self.expr(e.value)
        if isinstance(inner, OptionT):
            self.sink.add("E0201", e.value.span, f"`some` of an option (`{inner}`) would be an "
                          "option of an option, which specc does not have")
            return ERROR
        if is_error(inner) or isinstance(inner, VoidT):
            return ERROR
        result = OptionT(inner)
        if expected is not None and not accepts(expected, result):
            self.mismatch(e, expected, result, None)
            return ERROR
        return result

    def list_literal(self, e: ast.ListLit, expected: Type | None) -> Type:
        if isinstance(expected, ListT):
            for item in e.items:
                self.expect(item, expected.element, "a list element")
            return expected
        if not e.items:
            if expected is None:
                self.sink.add("E0213", e.span, "the type of an empty list cannot be inferred "
                              "here", hint="give the variable a type, such as `let xs: [u8] = []`")
            return ERROR
        element = self.unify(list(e.items), None, "the list elements")
        return ERROR if is_error(element) else ListT(element)

    def unify(self, exprs: list[ast.Expr], expected: Type | None, what: str) -> Type:
        """Check several expressions that must have one type (branches, list
        elements); the first that is not an untyped literal sets it."""
        if expected is not None:
            for item in exprs:
                self.expect(item, expected)
            return expected
        leader = next((x for x in exprs if not is_untyped_literal(x)), exprs[0])
        t = self.expr(leader)
        if isinstance(t, VoidT):
            self.sink.add("E0201", leader.span, f"{what} must give a value")
            return ERROR
        for item in exprs:
            if item is not leader:
                self.expect(item, t, what)
        if isinstance(t, Prim) and any(isinstance(x, ast.NoneLit) for x in exprs):
            return OptionT(t)
        return t

    # ------------------------------------------------------------ names
    def name(self, e: ast.Name) -> Type:
        p = self.program
        local = self.scope.lookup(e.name)
        if local is not None:
            local.used = True
            p.references[e] = Symbol(local.kind, local.name, local.span, local.type, local.doc)
            return local.type
        var = p.vars.get(e.name)
        if var is not None:
            var.used = True
            p.references[e] = Symbol("global-var", e.name, var.decl.name_span, var.type,
                                     var.decl.doc)
            if self.context.fn_name is not None:
                self.impure.setdefault(self.context.fn_name, f"it reads the `var` `{e.name}`, "
                                       "which changes at run time")
            return var.type
        if e.name in p.devices:
            if self.context.kind in ("config", "drop", "default"):
                self.sink.add("E0221", e.span, f"device `{e.name}` cannot be used here: devices "
                              "are built after the configuration is known")
                return ERROR
            decl = p.devices[e.name].decl
            t = self.device_type(e.name)
            p.references[e] = Symbol("device", e.name, decl.name_span, t, decl.doc)
            if self.context.fn_name is not None:
                self.impure.setdefault(self.context.fn_name, f"it uses device `{e.name}`")
            return t
        if e.name in p.functions:
            info = p.functions[e.name]
            assert info.decl is not None
            p.references[e] = Symbol("function", e.name, info.decl.name_span, info.type, info.doc)
            return info.type
        if e.name in p.components:
            cdecl = p.components[e.name].decl
            p.references[e] = Symbol("component", e.name, cdecl.name_span, ComponentT(e.name),
                                     cdecl.doc)
            return ComponentT(e.name)
        if e.name in BUILTINS or e.name in SPECIAL_BUILTINS:
            self.sink.add("E0201", e.span, f"the builtin `{e.name}` can only be called")
            return ERROR
        if e.name in p.enums or e.name == "Target" or e.name in p.structs \
                or e.name in p.interfaces:
            self.sink.add("E0101", e.span, f"`{e.name}` is a type, not a value",
                          hint=f"enum values are written `{e.name}.value`" if e.name in p.enums
                          or e.name == "Target" else None)
            return ERROR
        self.unknown_name(e)
        return ERROR

    def unknown_name(self, e: ast.Name) -> None:
        p = self.program
        if e.name in p.broken_names:
            return  # declared in code a syntax error made unreadable
        candidates = [*self.scope.visible(), *p.vars, *p.functions, *BUILTINS,
                      *SPECIAL_BUILTINS]
        if self.context.kind not in ("config", "drop", "default"):
            candidates += list(p.devices)
        if self.context.allows_components:
            candidates += list(p.components)
        hint = did_you_mean(e.name, candidates)
        config_match = closest(e.name, p.config)
        if config_match is not None and (hint is None or similarity(e.name, config_match) >=
                                         similarity(e.name, closest(e.name, candidates) or "")):
            hint = f"did you mean `config.{config_match}`?"
        elif hint is None and e.name in p.components:
            hint = "components are instantiated in the `devices` block"
        self.sink.add("E0101", e.span, f"unknown name `{e.name}`", hint=hint)

    def config_ref(self, e: ast.ConfigRef) -> Type:
        p = self.program
        info = p.config.get(e.key)
        if info is None:
            if e.key in p.broken_names:
                return ERROR
            hint = did_you_mean(e.key, p.config, "`config.{}`")
            self.sink.add("E0107", e.key_span, f"unknown config key `{e.key}`", hint=hint)
            return ERROR
        kind = "config-" + info.decl.kind.value
        p.references[e] = Symbol(kind, e.key, info.decl.name_span, info.type, info.decl.doc)
        if self.context.fn_name is not None and kind == "config-param":
            self.impure.setdefault(self.context.fn_name, f"it reads the param `config.{e.key}`")
        return info.type

    # ------------------------------------------------------------ fields
    def enum_of(self, e: ast.Expr) -> EnumT | None:
        """The enum a `Name` denotes, if it is an enum's name (and not shadowed)."""
        if not isinstance(e, ast.Name) or self.scope.lookup(e.name) is not None \
                or e.name in self.program.devices:
            return None
        if e.name == "Target":
            return TARGET
        decl = self.program.enums.get(e.name)
        if decl is None:
            return None
        cached = self.enum_types.get(decl.name)
        if cached is None:
            cached = EnumT(decl.name, tuple(v.name for v in decl.variants), decl.name_span)
            self.enum_types[decl.name] = cached
        return cached

    def field(self, e: ast.Field) -> Type:
        p = self.program
        enum = self.enum_of(e.obj)
        if enum is not None:
            decl = p.enums.get(enum.name)
            p.references[e.obj] = Symbol("enum", enum.name, enum.span, enum,
                                         decl.doc if decl else None)
            if e.name not in enum.variants:
                listing = ", ".join(enum.variants)
                self.sink.add("E0108", e.name_span, f"`{enum.name}` has no value `{e.name}` "
                              f"(its values: {listing})", hint=did_you_mean(e.name, enum.variants))
                return ERROR
            vdoc = decl.variants[enum.variants.index(e.name)].doc if decl else None
            p.references[e] = Symbol("variant", f"{enum.name}.{e.name}", enum.span, enum, vdoc)
            return enum
        obj = self.expr(e.obj)
        if is_error(obj):
            return ERROR
        if isinstance(obj, StructT):
            info = p.structs[obj.name]
            if e.name in info.fields:
                fdecl = next(f for f in info.decl.fields if f.name == e.name)
                p.references[e] = Symbol("field", e.name, fdecl.name_span, info.fields[e.name],
                                         fdecl.doc)
                return info.fields[e.name]
            self.sink.add("E0108", e.name_span, f"struct `{obj.name}` has no field `{e.name}`",
                          hint=did_you_mean(e.name, info.fields),
                          notes=[Note(f"`{obj.name}` is declared here", info.decl.name_span)])
            return ERROR
        if obj == ZONE:
            if e.name in ZONE_PROPERTIES:
                return ZONE_PROPERTIES[e.name]
            self.sink.add("E0108", e.name_span, f"a `Zone` has no property `{e.name}` (it has "
                          "`origin` and `records`)", hint=did_you_mean(e.name, ZONE_PROPERTIES))
            return ERROR
        if isinstance(obj, DeviceT):
            ops = p.interfaces[obj.interface].ops if obj.interface in p.interfaces else {}
            if e.name in ops:
                self.sink.add("E0201", e.span, f"operation `{e.name}` must be called: "
                              f"`{e.name}(...)`")
            else:
                self.unknown_operation(e, obj)
            return ERROR
        hint = None
        if isinstance(obj, OptionT) and isinstance(obj.inner, StructT):
            hint = "the value is an option: unwrap it first with `if let` or `match`"
        self.sink.add("E0108", e.name_span, f"a value of type `{obj}` has no field `{e.name}`",
                      hint=hint)
        return ERROR

    def unknown_operation(self, e: ast.Field, device: DeviceT) -> None:
        info = self.program.interfaces.get(device.interface)
        ops = list(info.ops) if info else []
        listing = ", ".join(f"`{o}`" for o in ops) or "none"
        notes = [Note(f"interface `{device.interface}` is declared here", info.decl.name_span)] \
            if info else []
        self.sink.add("E0109", e.name_span, f"interface `{device.interface}` has no operation "
                      f"`{e.name}` (its operations: {listing})", hint=did_you_mean(e.name, ops),
                      notes=notes)

    # ------------------------------------------------------------ calls
    def call(self, e: ast.Call, expected: Type | None) -> Type:
        p = self.program
        callee = e.callee
        if isinstance(callee, ast.Field) and self.enum_of(callee.obj) is None:
            obj = self.expr(callee.obj)
            if isinstance(obj, DeviceT):
                return self.operation_call(e, callee, obj)
            if is_error(obj):
                self.check_args_loosely(e)
                return ERROR
        if isinstance(callee, ast.Name) and self.scope.lookup(callee.name) is None \
                and callee.name not in p.devices:
            name = callee.name
            if name in p.functions:
                return self.function_call(e, callee)
            if name in p.components:
                return self.component_call(e, callee)
            if name in SPECIAL_BUILTINS:
                return self.special_builtin(e, name, expected)
            if name in BUILTINS:
                return self.builtin_call(e, name)
        t = self.expr(callee)
        if isinstance(t, FnT):
            if self.context.fn_name is not None:
                self.impure.setdefault(self.context.fn_name, "it calls a function value")
            return self.apply(e, t, tuple(f"#{i}" for i in range(len(t.params))), "this function")
        if not is_error(t):
            self.sink.add("E0208", callee.span, f"a value of type `{t}` cannot be called")
        self.check_args_loosely(e)
        return ERROR

    def check_args_loosely(self, e: ast.Call) -> None:
        for arg in e.args:
            self.expr(arg.value)

    def apply(self, e: ast.Call, fn: FnT, names: tuple[str, ...], what: str,
              declared_at: Span | None = None) -> Type:
        bound = match_arguments(e, [ParamSpec(n) for n in names], what, self.sink, declared_at)
        for value, ptype, pname in zip(bound, fn.params, names, strict=True):
            if value is not None:
                self.expect(value, ptype, f"argument `{pname}`" if not pname.startswith("#")
                            else None)
        self.check_unbound(e, bound)
        return fn.result if fn.result is not None else VOID

    def check_unbound(self, e: ast.Call, bound: list[ast.Expr | None]) -> None:
        """Arguments that matched no parameter are still checked, for their own errors."""
        used = {id(v) for v in bound if v is not None}
        for arg in e.args:
            if id(arg.value) not in used:
                self.expr(arg.value)

    def function_call(self, e: ast.Call, callee: ast.Name) -> Type:
        info = self.program.functions[callee.name]
        assert info.decl is not None
        self.program.references[callee] = Symbol("function", info.name, info.decl.name_span,
                                                 info.type, info.doc)
        self.program.types[callee] = info.type
        if self.context.fn_name is not None:
            self.calls.setdefault(self.context.fn_name, set()).add(info.name)
        return self.apply(e, info.type, info.param_names, f"function `{info.name}`",
                          info.decl.name_span)

    def operation_call(self, e: ast.Call, callee: ast.Field, device: DeviceT) -> Type:
        p = self.program
        iface = p.interfaces.get(device.interface)
        op = iface.ops.get(callee.name) if iface else None
        if op is None:
            self.unknown_operation(callee, device)
            self.check_args_loosely(e)
            return ERROR
        p.references[callee] = Symbol("operation", f"{device.interface}.{op.name}",
                                      op.decl.name_span, op.type, op.decl.doc)
        p.types[callee] = op.type
        if self.context.fn_name is not None:
            self.impure.setdefault(self.context.fn_name, f"it calls the device operation "
                                   f"`{op.name}`")
        return self.apply(e, op.type, op.param_names, f"operation `{op.name}`", op.decl.name_span)

    def builtin_call(self, e: ast.Call, name: str) -> Type:
        fn = BUILTINS[name]
        self.program.references[e.callee] = Symbol("builtin", name, None, fn)
        if self.context.fn_name is not None and name in RUNTIME_BUILTINS:
            self.impure.setdefault(self.context.fn_name, f"it calls `{name}`, which "
                                   f"{RUNTIME_BUILTINS[name]}")
        names = {"utf8": ("b",), "print": ("s",), "exit": ("code",), "now": (),
                 "zonefile": ("path",), "dir": ("path",)}[name]
        if name in ("zonefile", "dir"):
            self.program.data_calls.append(e)
        return self.apply(e, fn, names, f"`{name}`")

    def special_builtin(self, e: ast.Call, name: str, expected: Type | None) -> Type:
        self.program.references[e.callee] = Symbol("builtin", name, None, None)
        if any(a.name is not None for a in e.args):
            self.sink.add("E0204", e.span, f"`{name}` takes no named arguments")
            self.check_args_loosely(e)
            return ERROR
        values = [a.value for a in e.args]
        if name == "len":
            if len(values) != 1:
                self.sink.add("E0203", e.span, f"`len` takes 1 argument but {len(values)} "
                              f"{'was' if len(values) == 1 else 'were'} given")
                self.check_args_loosely(e)
                return ERROR
            t = self.expr(values[0])
            if not (t in (STRING, BYTES) or isinstance(t, ListT) or is_error(t)):
                self.sink.add("E0201", values[0].span, f"`len` needs a string, bytes or a list, "
                              f"not `{t}`")
            return U64
        if len(values) < 2:
            self.sink.add("E0203", e.span, f"`{name}` takes 2 or more arguments but "
                          f"{len(values)} {'was' if len(values) == 1 else 'were'} given")
            self.check_args_loosely(e)
            return ERROR
        want = expected.inner if isinstance(expected, OptionT) else expected
        t = self.unify(values, want if want is not None and is_ordered(want) else None,
                       f"the arguments of `{name}`")
        if not (is_integer(t) or t in (DURATION, SIZE) or is_error(t)):
            self.sink.add("E0206", e.span, f"`{name}` works on integers, durations and sizes, "
                          f"not `{t}`")
            return ERROR
        return t

    def component_call(self, e: ast.Call, callee: ast.Name) -> Type:
        p = self.program
        info = p.components[callee.name]
        p.references[callee] = Symbol("component", callee.name, info.decl.name_span,
                                      ComponentT(callee.name), info.decl.doc)
        if not self.context.allows_components:
            self.sink.add("E0221", e.span, f"component `{callee.name}` can only be instantiated "
                          "in the `devices` block or in a component's composition",
                          hint="add a device `name = ...` to `devices` and use its name here")
            self.check_args_loosely(e)
            return ERROR
        specs = [ParamSpec(q.name, q.decl.default is not None) for q in info.params]
        bound = match_arguments(e, specs, f"component `{callee.name}`", self.sink,
                                info.decl.name_span)
        for value, param in zip(bound, info.params, strict=True):
            if value is not None:
                self.expect(value, param.type, f"parameter `{param.name}`")
        self.check_unbound(e, bound)
        return DeviceT(info.interface) if info.interface else ERROR

    # ------------------------------------------------------------ indexing
    def index_type(self, e: ast.Expr, what: str) -> None:
        t = self.expr(e, U64)
        if not (t in UNSIGNED or is_error(t)):
            self.sink.add("E0201", e.span, f"{what} must be an unsigned integer, not `{t}`",
                          hint="convert with `as u64`" if is_integer(t) else None)

    def index(self, e: ast.Index) -> Type:
        obj = self.expr(e.obj)
        self.index_type(e.index, "an index")
        if isinstance(obj, ListT):
            return obj.element
        if obj == BYTES:
            return U8
        if not is_error(obj):
            hint = "convert the string with `as bytes` first" if obj == STRING else None
            self.sink.add("E0206", e.span, f"a value of type `{obj}` cannot be indexed", hint=hint)
        return ERROR

    def slice(self, e: ast.Slice) -> Type:
        obj = self.expr(e.obj)
        for bound in (e.lower, e.upper):
            if bound is not None:
                self.index_type(bound, "a slice bound")
        if isinstance(obj, ListT) or obj == BYTES:
            return obj
        if not is_error(obj):
            self.sink.add("E0206", e.span, f"a value of type `{obj}` cannot be sliced")
        return ERROR

    # ------------------------------------------------------------ operators
    def unary(self, e: ast.Unary, expected: Type | None) -> Type:
        if e.op is ast.UnaryOp.NOT:
            self.expect(e.operand, BOOL, "`not`")
            return BOOL
        literal = int_literal_value(e)
        if literal is not None:
            self.program.types[e.operand] = I64
            return self.int_literal(e, literal, expected)
        t = self.expr(e.operand, expected)
        if t in UNSIGNED:
            self.sink.add("E0206", e.span, f"cannot negate a value of the unsigned type `{t}`")
            return ERROR
        if not (t == I64 or is_error(t)):
            self.sink.add("E0206", e.span, f"unary `-` applies to `i64`, not `{t}`")
            return ERROR
        return t

    def operands(self, e: ast.Binary, expected: Type | None) -> tuple[Type, Type]:
        """Types of both sides; an untyped literal side takes the other side's type."""
        if expected is not None and is_untyped_literal(e.left) and is_untyped_literal(e.right):
            return self.expr(e.left, expected), self.expr(e.right, expected)
        if is_untyped_literal(e.left) and not is_untyped_literal(e.right):
            right = self.expr(e.right, expected)
            return self.expr(e.left, right), right
        left = self.expr(e.left, expected)
        right = self.expr(e.right, left if not isinstance(left, VoidT) else None)
        return left, right

    def binary(self, e: ast.Binary, expected: Type | None) -> Type:
        op = e.op
        if op in ("and", "or"):
            self.expect(e.left, BOOL, f"`{op}`")
            self.expect(e.right, BOOL, f"`{op}`")
            return BOOL
        if op == "??":
            return self.coalesce(e, expected)
        want = expected.inner if isinstance(expected, OptionT) else expected
        if op in _COMPARISON:
            left, right = self.operands(e, None)
            return self.comparison(e, left, right)
        if op in ("*", "/"):
            left, right = self.scaling_operands(e, want)
        else:
            left, right = self.operands(e, want if want is not None and
                                        (is_integer(want) or want in (DURATION, SIZE)) else None)
        return self.arithmetic(e, left, right)

    def scaling_operands(self, e: ast.Binary, want: Type | None) -> tuple[Type, Type]:
        """Types of the sides of `*` and `/`: two integers of one type, but
        also a quantity and an integer (`d * n`, `n * d`, `d / n`) or two
        quantities (`d / d`, a `u64`).  Neither the expected type nor the
        other side's is a requirement then: a side passes its type on only
        to a side that takes its type from the context (`x * 2`), so
        `(if c then 1s else 2s) / 1ms` in a `u64` and `n * min(a, b)` in a
        `Duration` check."""
        hint = want if want is not None and is_integer(want) else None
        if takes_context_type(e.left) and not takes_context_type(e.right):
            right = self.expr(e.right)
            return self.expr(e.left, right if is_integer(right) else hint), right
        left = self.expr(e.left, hint if takes_context_type(e.left) else None)
        passed = left if is_integer(left) and takes_context_type(e.right) else None
        return left, self.expr(e.right, passed)

    def comparison(self, e: ast.Binary, left: Type, right: Type) -> Type:
        if is_error(left) or is_error(right):
            return BOOL
        if not (accepts(left, right) or accepts(right, left)):
            self.sink.add("E0201", e.span, f"cannot compare `{left}` with `{right}`")
            return BOOL
        t = left if not isinstance(left, OptionT) else right if not isinstance(right, OptionT) \
            else left
        if e.op in ("==", "!="):
            if not is_comparable(left):
                self.sink.add("E0214", e.op_span, f"values of type `{left}` cannot be compared "
                              "with `{e.op}`".replace("{e.op}", e.op))
        elif not is_ordered(t) or isinstance(left, OptionT) or isinstance(right, OptionT):
            self.sink.add("E0206", e.op_span, f"`{e.op}` does not apply to `{left}`; ordering "
                          "works on integers, durations, sizes, enums, strings and bytes")
        return BOOL

    def arithmetic(self, e: ast.Binary, left: Type, right: Type) -> Type:
        op = e.op
        if is_error(left) or is_error(right):
            return ERROR
        if op in ("*", "/") and left in (DURATION, SIZE) and is_integer(right):
            return left
        if op == "*" and right in (DURATION, SIZE) and is_integer(left):
            return right
        # v1.1: how many times one quantity goes into another, and what is left.
        if op == "/" and left == right and left in (DURATION, SIZE):
            return U64
        if op == "%" and left == right == DURATION:
            return DURATION
        if left == right:
            if is_integer(left):
                return left
            if op in ("+", "-") and left in (DURATION, SIZE):
                return left
            if op == "+" and (left in (STRING, BYTES) or isinstance(left, ListT)):
                return left
        if op in _ARITHMETIC + _BITWISE and is_integer(left) and is_integer(right):
            self.sink.add("E0201", e.span, f"`{op}` needs both sides of one integer type, found "
                          f"`{left}` and `{right}`", hint=f"convert one side with `as {left}`")
            return ERROR
        self.sink.add("E0206", e.op_span, f"`{op}` does not apply to `{left}` and `{right}`")
        return ERROR

    def coalesce(self, e: ast.Binary, expected: Type | None) -> Type:
        want = OptionT(expected) if expected is not None and not isinstance(expected, OptionT) \
            else expected
        left = self.expr(e.left, want)
        if is_error(left):
            self.expr(e.right)
            return ERROR
        if not isinstance(left, OptionT):
            self.sink.add("E0201", e.left.span, f"the left side of `??` must be an option, not "
                          f"`{left}`")
            self.expr(e.right)
            return ERROR
        right = self.expr(e.right, left.inner)
        if accepts(left.inner, right) or is_error(right):
            return left.inner
        if right == left:
            return left
        self.mismatch(e.right, left.inner, right, "the default of `??`")
        return ERROR

    def cast(self, e: ast.Cast) -> Type:
        from specc.check.declarations import Declarations

        target = Declarations(self.program, self.sink).resolve_type(e.type)
        # Only a literal takes the target's type (`18446744073709551615 as u64`);
        # any other operand keeps its own, which `as` then converts:
        # `(if c then x else y) as u16` with `x, y: i64` is fine.
        literal = is_integer(target) and is_untyped_literal(e.expr)
        source = self.expr(e.expr, target if literal else None)
        if is_error(source) or is_error(target):
            return target
        if is_integer(source) and is_integer(target):
            return target
        if source == STRING and target == BYTES:
            return BYTES
        if source == target:
            return target
        hint = "decode bytes with `utf8(...)`" if source == BYTES and target == STRING else None
        self.sink.add("E0207", e.span, f"cannot convert `{source}` to `{target}` with `as`; `as` "
                      "converts between integer types and from `string` to `bytes`", hint=hint)
        return ERROR

    # ------------------------------------------------------------ structs
    def struct_literal(self, e: ast.StructLit) -> Type:
        p = self.program
        info = p.structs.get(e.name)
        if info is None:
            for f in e.fields:
                self.expr(f.value)
            if e.name in p.broken_names:
                return ERROR
            self.sink.add("E0103", e.name_span, f"unknown struct `{e.name}`",
                          hint=did_you_mean(e.name, p.structs))
            return ERROR
        p.references[e] = Symbol("struct", e.name, info.decl.name_span, StructT(e.name),
                                 info.decl.doc)
        seen: set[str] = set()
        for f in e.fields:
            if f.name in seen:
                self.sink.add("E0216", f.name_span, f"field `{f.name}` is given twice")
                self.expr(f.value)
                continue
            seen.add(f.name)
            ftype = info.fields.get(f.name)
            if ftype is None:
                self.sink.add("E0216", f.name_span, f"struct `{e.name}` has no field `{f.name}`",
                              hint=did_you_mean(f.name, info.fields))
                self.expr(f.value)
                continue
            fdecl = next(d for d in info.decl.fields if d.name == f.name)
            p.references[f] = Symbol("field", f.name, fdecl.name_span, ftype, fdecl.doc)
            self.expect(f.value, ftype, f"field `{f.name}`")
        missing = [name for name in info.fields if name not in seen]
        if missing:
            listing = ", ".join(f"`{m}`" for m in missing)
            self.sink.add("E0216", e.span, f"missing field{'s' if len(missing) > 1 else ''} "
                          f"{listing} in `{e.name}`",
                          notes=[Note(f"`{e.name}` is declared here", info.decl.name_span)])
        return StructT(e.name, info.decl.name_span)
