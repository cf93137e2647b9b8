"""'Did you mean' hints.

difflib is imported when a hint is wanted, not with the checker: a spec
without mistakes never needs it, and its import (with traceback's in
specc.api) was about 2% of `specc check` on a small spec (issue 13)."""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {c.lower(): c for c in candidates}
    return lowered.get(name.lower())


def similarity(a: str, b: str) -> float:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio()


def did_you_mean(name: str, candidates: Iterable[str], render: str = "`{}`") -> str | None:
    match = closest(name, candidates)
    return None if match is None else "did you mean " + render.format(match) + "?"
