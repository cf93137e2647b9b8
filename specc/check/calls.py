"""Matching call arguments to parameters, by position and by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from specc import ast
from specc.check.suggest import did_you_mean
from specc.diagnostics import DiagnosticSink, Note
from specc.records import Record, assigned_at_run_time
from specc.span import Span


@assigned_at_run_time  # made for every parameter of every call checked
@dataclass(frozen=True, repr=False)
class ParamSpec(Record):
    """A parameter as calls see it: its name, and whether it has a default."""

    name: str
    has_default: bool = False


def match_arguments(
    call: ast.Call, params: Sequence[ParamSpec], what: str, sink: DiagnosticSink,
    declared_at: Span | None = None,
) -> list[ast.Expr | None]:
    """The argument expression for each parameter (None where a default applies
    or where the argument is missing, which is reported)."""
    bound: list[ast.Expr | None] = [None] * len(params)
    given = [False] * len(params)
    names = [p.name for p in params]
    notes = [Note(f"{what} is declared here", declared_at)] if declared_at is not None else []
    positional = [a for a in call.args if a.name is None]
    seen_named = False
    ok = True
    for index, arg in enumerate(call.args):
        if arg.name is None:
            if seen_named:
                sink.add("E0212", arg.span, "a positional argument cannot follow a named one")
                ok = False
                continue
            if index >= len(params):
                if index == len(params):
                    required = sum(1 for p in params if not p.has_default)
                    takes = _count(len(params)) if required == len(params) else \
                        f"{required} to {_count(len(params))}"
                    sink.add(
                        "E0203", arg.span,
                        f"{what} takes {takes} but {len(positional)} "
                        f"{'was' if len(positional) == 1 else 'were'} given",
                        notes=notes, hint="remove the extra arguments")
                ok = False
                continue
            bound[index] = arg.value
            given[index] = True
            continue
        seen_named = True
        if arg.name not in names:
            assert arg.name_span is not None
            hint = did_you_mean(arg.name, names)
            listing = ", ".join(f"`{n}`" for n in names) or "none"
            sink.add("E0204", arg.name_span, f"{what} has no parameter named `{arg.name}` "
                     f"(its parameters: {listing})", notes=notes, hint=hint)
            ok = False
            continue
        position = names.index(arg.name)
        if given[position]:
            assert arg.name_span is not None
            sink.add("E0212", arg.name_span, f"argument `{arg.name}` is given twice")
            ok = False
            continue
        bound[position] = arg.value
        given[position] = True
    if ok:
        missing = [p.name for p, g in zip(params, given, strict=True) if not g and not p.has_default]
        if missing:
            listing = ", ".join(f"`{n}`" for n in missing)
            required = sum(1 for p in params if not p.has_default)
            if all(a.name is None for a in call.args):
                takes = _count(required) if required == len(params) else \
                    f"{required} to {_count(len(params))}"
                message = (f"{what} takes {takes} but {len(call.args)} "
                           f"{'was' if len(call.args) == 1 else 'were'} given: missing {listing}")
                sink.add("E0203", call.span, message, notes=notes)
            else:
                sink.add("E0212", call.span, f"missing argument {listing} in call of {what}",
                         notes=notes)
    return bound


def _count(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")
