"""How deep an expression may nest, and enough Python stack for every walk of
one at that depth, wherever specc is called from.

The checker, the evaluator and the back ends walk expressions recursively.
How deep they can go used to be whatever Python's recursion limit left above
the caller's frames: the same spec checked from the CLI and failed from a
build tool's deep stack, a thread or the language server.  Now the checker
stops every expression at MAX_EXPRESSION_DEPTH (E0008, a language limit) and
each entry point runs under :func:`headroom`, which makes the recursion limit
at least the caller's depth plus what a walk at the limit takes.  Measured
(/tmp-free: tests/test_expression_depth.py checks it): at most 6 frames per
level (the checker on nested calls; the evaluator 4, the C lowering 5).

CPython 3.11 runs a Python-to-Python call without a C frame, so a higher
limit costs heap, not C stack.  The limit is one per interpreter: raising it
is counted under a lock, and only the last user out puts the old one back, so
two threads checking at once never lower it under each other.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

# Operators, calls, brackets, `if`/`match` expressions...: each nested
# expression is one level.  Above the deepest that every target built from
# the CLI before (an `if`-expression or unary chain near 320 levels).
MAX_EXPRESSION_DEPTH = 320

# Frames a walk may take per level (6 measured, kept above it) and for what
# is around the walks (the driver, the passes, dataclass and C-level calls).
_FRAMES_PER_LEVEL = 10
_FRAMES_AROUND = 1000
WALK_FRAMES = MAX_EXPRESSION_DEPTH * _FRAMES_PER_LEVEL + _FRAMES_AROUND

_lock = threading.Lock()
_users = 0
_saved_limit = 0


def caller_depth() -> int:
    """Frames on the calling thread's stack (a pure function of where it is)."""
    depth = 0
    frame = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


@contextmanager
def headroom(frames: int = WALK_FRAMES) -> Iterator[None]:
    """Run the body with at least ``frames`` frames of recursion left above
    the caller, whatever its depth or thread."""
    global _users, _saved_limit
    needed = caller_depth() + frames
    with _lock:
        if _users == 0:
            _saved_limit = sys.getrecursionlimit()
        _users += 1
        if sys.getrecursionlimit() < needed:
            sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                sys.setrecursionlimit(_saved_limit)


P = ParamSpec("P")
R = TypeVar("R")


def with_headroom(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run under :func:`headroom` (an entry point of a walk)."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with headroom():
            return function(*args, **kwargs)

    return run
