"""The ``specc`` command's entry point (pyproject.toml's ``[project.scripts]``,
and ``python -m specc``): the command line of :mod:`specc.cli`, imported with
the garbage collector paused, after a try at ``specc check`` without click.

Importing the compiler makes objects (modules, classes, functions) that live
as long as the process; the collections that ran while they were being made
walked them again and again, about 6% of the instructions of ``specc check``
on a small spec (issue 13).  They are frozen (left out of every later
collection) once imported, and collection goes on as usual for what the
command itself makes.  Only a process started as ``specc`` does this:
importing :mod:`specc.cli` or :mod:`specc.api` in another program leaves its
collector alone.

A plain ``specc check FILE...`` that has nothing to print ends in
:func:`specc.cli_check.run_plain`, before click is imported (a tenth of the
instructions of a small check); every other run, and every check with a
report, is click's (that module says why the two cannot differ).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any


def main(prog_name: str | None = None) -> Any:
    if sys.argv[1:2] == ["check"]:
        # A plain check is the whole life of this process: the collector
        # stays off through it (the check makes no cycles, specc/collector.py)
        # and what it made is frozen before the exit, whose final collection
        # would otherwise walk the whole tree once more.  A check that has a
        # report to print goes on to click with the collector on again.
        gc.disable()
        from specc.cli_check import run_plain
        status = run_plain(sys.argv[1:], os.environ)
        gc.freeze()
        if status is not None:
            sys.exit(status)
        gc.enable()
    gc.disable()
    try:
        from specc.cli import main as command
    finally:
        _freeze_and_collect()
    return command(prog_name=prog_name)


def _freeze_and_collect() -> None:
    # What the imports made lives as long as the process: out of the
    # collector's sight, and collection on again for what the command makes.
    gc.freeze()
    gc.enable()
