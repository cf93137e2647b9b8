"""Patterns: checking them against the scrutinee's type, and whether a list of
arms covers every value (LANGUAGE.md section 8: a `match` is exhaustive)."""

from __future__ import annotations

from collections.abc import Sequence

from specc import ast
from specc.types import BOOL, EnumT, OptionT, Type, is_error


def alternatives(pattern: ast.Pattern) -> list[ast.Pattern]:
    if isinstance(pattern, ast.AltPat):
        return [q for alt in pattern.alternatives for q in alternatives(alt)]
    return [pattern]


def is_irrefutable(pattern: ast.Pattern) -> bool:
    return any(isinstance(q, ast.WildcardPat | ast.BindPat) for q in alternatives(pattern))


def missing_cases(patterns: Sequence[ast.Pattern], t: Type) -> list[str]:
    """Descriptions of values no pattern matches; empty when exhaustive."""
    flat = [q for p in patterns for q in alternatives(p)]
    if is_error(t) or any(isinstance(q, ast.WildcardPat | ast.BindPat) for q in flat):
        return []
    if t == BOOL:
        seen = {q.value.value for q in flat if isinstance(q, ast.LiteralPat)
                and isinstance(q.value, ast.BoolLit)}
        return [str(v).lower() for v in (True, False) if v not in seen]
    if isinstance(t, EnumT):
        seen_values = {q.value for q in flat if isinstance(q, ast.EnumPat)}
        return [f"{t.name}.{v}" for v in t.variants if v not in seen_values]
    if isinstance(t, OptionT):
        missing: list[str] = []
        if not any(isinstance(q, ast.NonePat) for q in flat):
            missing.append("none")
        inner = [q.inner for q in flat if isinstance(q, ast.SomePat)]
        if not inner:
            missing.append("some(_)")
        else:
            missing.extend(f"some({m})" for m in missing_cases(inner, t.inner))
        return missing
    return ["_"]


def covers(earlier: Sequence[ast.Pattern], pattern: ast.Pattern, t: Type) -> bool:
    """Whether the earlier arms already match everything ``pattern`` matches
    (a conservative check, for the unreachable-arm warning)."""
    if not earlier:
        return False
    if not missing_cases(earlier, t):
        return True
    flat = [q for p in earlier for q in alternatives(p)]
    mine = alternatives(pattern)
    if isinstance(t, EnumT):
        seen = {q.value for q in flat if isinstance(q, ast.EnumPat)}
        return all(isinstance(q, ast.EnumPat) and q.value in seen for q in mine)
    return False
