"""Blocks and `match` statement arms nest at most MAX_NESTING deep (E0008 at
the first one too deep), the same on every target and independent of the
Python stack the check runs on; a program at the limit builds and runs on
every target (the python target's parser stops at 100 indentation levels:
before the limit, 100 nested `if`s checked and then failed to build with
E9001)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from targets import build, run, target_params

from specc.api import check_source
from specc.check.statements import MAX_NESTING


def nested_ifs(levels: int) -> str:
    """`main` (level 1) with ``levels - 1`` nested `if`s inside."""
    lines = ["unikernel nest", "", "config {", "  param x: u64 = 1", "}", "", "main {",
             "  var i: u64 = 0"]
    lines += ["  " * k + "if i < config.x {" for k in range(1, levels)]
    lines += ["  " * levels + "i = i + 1", "  " * levels + 'print("{i}")']
    lines += ["  " * k + "}" for k in reversed(range(1, levels))]
    return "\n".join([*lines, "}", ""])


def nested_arms(levels: int) -> str:
    """`main` with ``levels - 1`` nested `match` statements, each arm one level."""
    lines = ["unikernel arms", "", "config {", "  param x: u64 = 1", "}", "", "main {"]
    for k in range(1, levels):
        lines.append("  " * k + "match config.x {")
        lines.append("  " * k + "  0 => print(\"zero\")")
        lines.append("  " * k + "  _ =>")
    lines.append("  " * levels + 'print("deep")')
    lines += ["  " * k + "}" for k in reversed(range(1, levels))]
    return "\n".join([*lines, "}", ""])


def errors(text: str) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in check_source(text, "nest.spec").diagnostics
            if d.is_error]


def test_the_limit_is_exact_for_blocks() -> None:
    assert errors(nested_ifs(MAX_NESTING)) == []
    text = nested_ifs(MAX_NESTING + 1)
    too_deep = next(n for n, line in enumerate(text.splitlines(), 1)
                    if line.startswith("  " * MAX_NESTING + "if"))
    assert errors(text) == [("E0008", too_deep)]
    assert errors(nested_ifs(MAX_NESTING + 30)) == [("E0008", too_deep)]


def test_match_arms_count_as_levels() -> None:
    assert errors(nested_arms(MAX_NESTING)) == []
    [(code, _)] = errors(nested_arms(MAX_NESTING + 1))
    assert code == "E0008"


def test_the_limit_does_not_depend_on_the_callers_stack() -> None:
    """The same answer from a thread whose stack is already deep (an editor's
    server, a build tool calling specc.check)."""
    found: list[list[tuple[str, int]]] = []

    def deep(n: int) -> None:
        if n:
            deep(n - 1)
        else:
            found.append(errors(nested_ifs(MAX_NESTING + 1)))

    thread = threading.Thread(target=deep, args=(300,))
    thread.start()
    thread.join()
    assert found == [errors(nested_ifs(MAX_NESTING + 1))]



@pytest.mark.parametrize("target", target_params())
def test_a_program_at_the_limit_runs_on_every_target(tmp_path: Path, target: str) -> None:
    spec = tmp_path / "nest.spec"
    spec.write_text(nested_ifs(MAX_NESTING))
    outcome = run(build(spec, target, tmp_path / target), target, timeout=120)
    assert (outcome.output, outcome.status) == ("1\n", 0)
    arms = tmp_path / "arms.spec"
    arms.write_text(nested_arms(MAX_NESTING))
    outcome = run(build(arms, target, tmp_path / f"{target}-arms"), target, timeout=120)
    assert (outcome.output, outcome.status) == ("deep\n", 0)
