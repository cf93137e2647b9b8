"""Pausing Python's cyclic garbage collector while a file is checked.

A check allocates its AST, tokens, spans and type tables: hundreds of
thousands of objects that live until the check ends and form no cycles.
The collector cannot know that, so with its default thresholds it walks the
growing heap again and again (for the 5,000-line spec of bench/frontend.py:
135 young, 12 middle and one full collection per check).  Paused, it walks
them once, at the first allocation after the check: check_source of that
spec took 0.24-0.27 s instead of 0.35-0.40 s (fastest of 9, the same tree,
at load 8).  The collector's state is left as it was found: the pause is
reentrant and thread-safe (a count under a lock; the first pause remembers
whether the collector was on, the last one to end restores that), and
nothing is frozen or re-tuned for good (the language server tunes its own
process: specc.lsp.server.tune_for_latency).
"""

from __future__ import annotations

import _thread
import gc

_lock = _thread.allocate_lock()
_depth = 0
_was_enabled = False


def pause() -> None:
    """Pause the collector until the matching :func:`resume` (call that in a
    ``finally``).  Not a decorator or context manager on purpose: those add a
    frame, and a check's depth decides where E0008 (nested too deeply) is."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1


def resume() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and _was_enabled:
            gc.enable()
