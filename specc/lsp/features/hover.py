"""``textDocument/hover``: what a name or expression is.

For a name: its declaration written out (``const config.port: u16``), its
doc comment, and for a ``const`` key the default as written.  For any other
expression: its type.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from specc import ast
from specc.check.program import CheckedProgram, Symbol
from specc.driver import Compilation
from specc.lsp.convert import position_to_offset, span_to_range
from specc.lsp.features import source_lookup
from specc.lsp.index import node_span
from specc.lsp.workspace import DocumentState, Settings
from specc.span import Span
from specc.types import EnumT, FnT, Type
from specc.values import source_text


def hover(state: DocumentState, position: lsp.Position, settings: Settings,
          encoding: str) -> lsp.Hover | None:
    program, index = state.program, state.index
    if program is None or index is None:
        return None
    source = state.source
    offset = position_to_offset(source, position, encoding)
    occurrence = index.at(state.path, offset)
    if occurrence is not None:
        text = describe_symbol(program, occurrence.symbol, settings)
        span = occurrence.span
    else:
        found = _expression_at(program, state.path, offset)
        if found is None:
            return None
        node, t = found
        text = _code(str(t))
        span = node_span(node)
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=span_to_range(span, source_lookup(state)(span.file), encoding))


def describe_symbol(program: CheckedProgram, symbol: Symbol, settings: Settings) -> str:
    """Markdown for a symbol: a code block with its declaration, then its doc."""
    parts = [_code(signature(program, symbol))]
    if symbol.doc:
        parts.append(symbol.doc)
    if symbol.kind == "builtin" and symbol.name == "target":
        # Known without evaluating anything: the target the workspace checks for.
        parts.append(f"value: `Target.{program.target}` (the `target` setting)")
    if symbol.kind == "config-const":
        info = program.config.get(symbol.name)
        if info is not None and info.decl.name_span == symbol.span:
            default = _source_text(program, info.decl.default.span)
            if default:
                parts.append(f"default: `{default}`")
            value = evaluated_value(program, symbol, settings)
            if value is not None:
                overridden = " with the workspace's overrides" if settings.defines or \
                    settings.config_file else ""
                parts.append(f"value: `{value}` (target `{program.target}`{overridden})")
    if symbol.kind == "device":
        status = device_status(program, symbol.name, settings)
        if status is not None:
            parts.append(status)
    return "\n\n".join(parts)


def middle_end(program: CheckedProgram, settings: Settings) -> Compilation | None:
    """The program evaluated under the workspace's target and overrides; None
    when evaluation reports errors (the diagnostics already say why)."""
    from specc.api import CheckResult
    from specc.driver import CompileOptions, run_middle_end

    defines = tuple(f"{k}={v}" for k, v in settings.defines.items())
    # Up to dce: hover shows values and why devices are kept, not the image.
    options = CompileOptions(program.target, defines, settings.config_file, stop_after="dce")
    check = CheckResult([], dict(program.sources), program)
    compilation = run_middle_end(check, options)
    return None if compilation.has_errors else compilation


def evaluated_value(program: CheckedProgram, symbol: Symbol, settings: Settings) -> str | None:
    """The value a `const` key evaluates to under the workspace's target and
    overrides (``settings.defines``, ``settings.config_file``)."""
    compilation = middle_end(program, settings)
    if compilation is None or compilation.config is None:
        return None
    if symbol.name not in compilation.config.values:
        return None
    return source_text(compilation.config.values[symbol.name])


def device_status(program: CheckedProgram, name: str, settings: Settings) -> str | None:
    """Whether a device is in the image and why (the `specc explain` chain)."""
    compilation = middle_end(program, settings)
    if compilation is None or compilation.reachable is None:
        return None
    from specc.explain import explain

    for explanation in explain(compilation, name):
        if explanation.kind == "device":
            lines = [("**in the image**: " if explanation.in_image else "**not in the image**: ")
                     + explanation.summary]
            if explanation.path:
                lines.append("use path: " + " → ".join(explanation.path))
            lines.extend(f"because: {r}" for r in explanation.reasons)
            if explanation.decision is not None:
                d = explanation.decision
                lines.append(f"decided by `{d.condition}` = `{d.value}` at {d.span}")
            return "\n\n".join(lines)
    return None


def signature(program: CheckedProgram, symbol: Symbol) -> str:
    kind, name, t = symbol.kind, symbol.name, symbol.type
    type_text = str(t) if t is not None else "?"
    if kind == "function":
        info = program.functions.get(name)
        if info is not None and isinstance(t, FnT):
            return "fn " + name + _params(info.param_names, t)
        return f"fn {name}: {type_text}"
    if kind == "operation" and isinstance(t, FnT):
        iface, _, op = name.partition(".")
        info_op = program.interfaces[iface].ops.get(op) if iface in program.interfaces else None
        names = info_op.param_names if info_op is not None else ()
        return f"fn {iface}.{op}{_params(names, t)}"
    if kind == "builtin":
        if isinstance(t, FnT):
            return f"builtin {name}: {t}"
        return f"builtin {name}" + (f": {t}" if t is not None else "")
    if kind == "component":
        comp = program.components.get(name)
        if comp is not None:
            params = ", ".join(("const " if q.is_const else "") + f"{q.name}: {q.type}"
                               + _default_suffix(program, q.decl) for q in comp.params)
            return f"component {name}({params}) -> {comp.interface or '?'}"
        return f"component {name}"
    if kind == "device":
        return f"device {name}: {type_text}"
    if kind in ("config-const", "config-param"):
        return f"{kind.removeprefix('config-')} config.{name}: {type_text}"
    if kind == "enum":
        return f"enum {name} {{ {', '.join(t.variants)} }}" if isinstance(t, EnumT) \
            else f"enum {name}"
    if kind == "variant":
        return f"{name}: {name.partition('.')[0]}"
    if kind in ("struct", "interface", "type"):
        return f"{kind} {name}"
    if kind == "field":
        return f"field {name}: {type_text}"
    if kind == "unikernel":
        return f"unikernel {name}"
    if kind in ("const-param", "device-param"):
        prefix = "const " if kind == "const-param" else ""
        return f"(component parameter) {prefix}{name}: {type_text}"
    if kind == "param":
        return f"(parameter) {name}: {type_text}"
    if kind in ("let", "var"):
        return f"{kind} {name}: {type_text}"
    if kind == "global-var":
        var = program.vars.get(name)
        initial = _source_text(program, var.decl.value.span) if var is not None else None
        return f"var {name}: {type_text}" + (f" = {initial}" if initial else "")
    if kind == "binding":
        return f"(binding) {name}: {type_text}"
    return f"{name}: {type_text}"


def _params(names: tuple[str, ...], t: FnT) -> str:
    params = ", ".join(f"{n}: {p}" if n else str(p)
                       for n, p in zip((*names, *[""] * len(t.params)), t.params, strict=False))
    return f"({params})" + (f" -> {t.result}" if t.result is not None else "")


def _default_suffix(program: CheckedProgram, param: ast.ComponentParam) -> str:
    if param.default is None:
        return ""
    return " = " + (_source_text(program, param.default.span) or "...")


def _source_text(program: CheckedProgram, span: Span) -> str | None:
    source = program.sources.get(span.file)
    if source is None:
        return None
    text = source.text[span.start:span.end]
    return " ".join(text.split())  # one line, however it was laid out


def _expression_at(program: CheckedProgram, path: str, offset: int) -> tuple[object, Type] | None:
    best: tuple[object, Type] | None = None
    best_length = 0
    for node, t in program.types.items():
        span = node_span(node)
        if span.file != path or not span.start <= offset <= span.end:
            continue
        length = span.end - span.start
        if best is None or length < best_length:
            best, best_length = (node, t), length
    return best


def _code(text: str) -> str:
    return f"```spec\n{text}\n```"
