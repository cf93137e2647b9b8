"""Expressions nest at most MAX_EXPRESSION_DEPTH deep (E0008 at the first
expression past it), the same answer from the top level, from a caller whose
stack is already ~900 frames deep and from a thread; an expression at the
limit checks and builds on every target from all of those callers
(specc/stack.py gives every walk enough recursion above its caller)."""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from targets import build, run, target_params

from specc.api import check_source
from specc.backends.c.emit import generate_c
from specc.backends.python.emit import emit_python
from specc.driver import CompileOptions, run_middle_end
from specc.stack import MAX_EXPRESSION_DEPTH, caller_depth

N = MAX_EXPRESSION_DEPTH
R = TypeVar("R")

# Each kind: the expression whose innermost part is at level ``n`` (the
# `let` value is level 1), and its value when x = 1.
KINDS: dict[str, Callable[[int], str]] = {
    "sum": lambda n: " + ".join(["x"] * n),
    "call": lambda n: "f(" * (n - 1) + "x" + ")" * (n - 1),
    "if": lambda n: "if x > 0 then " * (n - 2) + "x" + " else 0" * (n - 2),  # `x > 0`: 2 more
    "coalesce": lambda n: " ?? ".join(["o"] * (n - 1)) + " ?? x",
    "match": lambda n: "match o { some(v) => " * (n - 1) + "v" + "; none => 0 }" * (n - 1),
    # A list's type nests as deep as the list (python: annotations and the
    # formatting of deep lists are cut, else CPython's parser refuses them).
    "list": lambda n: "[" * (n - 1) + "x" + "]" * (n - 1),
}
VALUES = {"sum": N, "call": N, "if": 1, "coalesce": 1, "match": 1,
          "list": "[" * (N - 1) + "1" + "]" * (N - 1)}


def spec(kind: str, n: int) -> str:
    return f'''unikernel deep

config {{
  param x: u64 = 1
}}

fn f(n: u64) -> u64 {{
  return n + 1 - 1 + 1
}}

main {{
  let x = config.x
  let o: u64? = if x > 0 then some(x) else none
  let total = {KINDS[kind](n)}
  print("total {{total}}")
}}
'''


def report(text: str) -> list[str]:
    """Every error, as it would be shown (code, place, message, hint)."""
    return [f"{d.code} {d.span.line}:{d.span.column} {d.message} / {d.hint}"
            for d in check_source(text, "deep.spec").diagnostics if d.is_error]


def built(text: str) -> dict[str, object]:
    """Check, evaluate and emit ``text`` for every target, in process."""
    out: dict[str, object] = {}
    for target in ("hvt", "unix", "python"):
        c = run_middle_end(check_source(text, "deep.spec", target=target),
                           CompileOptions(target=target))
        assert not c.has_errors and c.image is not None, (target, c.diagnostics)
        if target == "python":
            out[target] = emit_python(c.image)
        else:
            with tempfile.TemporaryDirectory() as name:
                generate_c(c.image, Path(name))
                out[target] = {p.name: p.read_text() for p in sorted(Path(name).iterdir())}
    return out


def at_depth(frames: int, work: Callable[[], R]) -> R:
    """``work`` run with ``frames`` frames on the stack under it."""
    def down(n: int) -> R:
        return down(n - 1) if n > 0 else work()
    return down(frames - caller_depth())


def in_thread(work: Callable[[], R]) -> R:
    found: list[R] = []
    thread = threading.Thread(target=lambda: found.append(work()))
    thread.start()
    thread.join()
    assert found, "the thread failed"
    return found[0]


@pytest.mark.parametrize("kind", KINDS)
def test_the_limit_is_exact_and_the_same_from_every_caller(kind: str) -> None:
    assert report(spec(kind, N)) == []
    past = report(spec(kind, N + 1))
    assert len(past) == 1 and past[0].startswith("E0008 14:"), past
    assert f"more than {N} levels deep" in past[0] and "`let`" in past[0]
    limit = sys.getrecursionlimit()
    assert at_depth(900, lambda: report(spec(kind, N + 1))) == past
    assert in_thread(lambda: report(spec(kind, N + 1))) == past
    assert in_thread(lambda: at_depth(900, lambda: report(spec(kind, N + 1)))) == past
    assert report(spec(kind, N + 200)) == past  # far past it: the same first place
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize("kind", ["sum", "call", "match", "list"])
def test_at_the_limit_every_target_builds_from_every_caller(kind: str) -> None:
    text = spec(kind, N)
    top = built(text)
    assert at_depth(900, lambda: built(text)) == top
    assert in_thread(lambda: at_depth(900, lambda: built(text))) == top


@pytest.mark.parametrize("target", target_params())
def test_at_the_limit_the_image_runs(tmp_path: Path, target: str) -> None:
    for kind in ("sum", "call", "list"):
        path = tmp_path / f"{kind}.spec"
        path.write_text(spec(kind, N))
        image = build(path, target, tmp_path / f"{target}-{kind}")
        if target == "hvt":
            continue  # built (C and cc); booting QEMU is left to the nesting tests
        outcome = run(image, target, timeout=120)
        assert (outcome.output, outcome.status) == (f"total {VALUES[kind]}\n", 0)
