"""The ``specc`` command's entry point (pyproject.toml's ``[project.scripts]``,
and ``python -m specc``): the command line of :mod:`specc.cli`, imported with
the garbage collector paused.

Importing the compiler makes objects (modules, classes, functions) that live
as long as the process; the collections that ran while they were being made
walked them again and again, about 6% of the instructions of ``specc check``
on a small spec (issue 13).  They are frozen (left out of every later
collection) once imported, and collection goes on as usual for what the
command itself makes.  Only a process started as ``specc`` does this:
importing :mod:`specc.cli` or :mod:`specc.api` in another program leaves its
collector alone.
"""

from __future__ import annotations

import gc
from typing import Any


def main(prog_name: str | None = None) -> Any:
    gc.disable()
    try:
        from specc.cli import main as command
    finally:
        gc.freeze()
        gc.enable()
    return command(prog_name=prog_name)
