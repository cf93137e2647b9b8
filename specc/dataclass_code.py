"""The methods ``@dataclass`` writes, compiled once and kept on disk
(``dataclass_code.marshal``, beside this module).

For every class it decorates, :mod:`dataclasses` writes the source of its
``__init__``, ``__eq__``, ``__hash__``, ``__setattr__``... and compiles it
with ``exec``; the few hundred small functions of the records ``specc
check`` imports, the same at every run, were about a third of the
instructions of checking a three-line spec (issue 13).  :func:`install`
gives dataclasses an ``exec`` that looks the source text up in a table of
code objects, each compiled from exactly that text as ``exec`` compiles it
there (``compile(text, "<string>", "exec", dont_inherit=True)``: dataclasses
has no ``__future__`` imports), and runs the code object instead; a text
not in the table is compiled as before.  The whole text is the key, so a
class changed since the table was written misses and is compiled, and never
gets another one's method; the file also holds the interpreter's bytecode
magic number and optimization level, and under any other it is not read.
Each module's methods are marshalled apart, and read when that module makes
its first record: a command reads only those of the modules it imports.

The table is written only by :func:`main` (scripts/setup.sh runs it, as it
compiles the bytecode; not as ``python -m``: specc's package has already
imported this module when runpy would run it again), which imports every
module of specc and keeps the texts they compiled (the records of the
libraries they import among them); never while checking, so
a read-only installation, or one without the file, compiles as before.
Like the bytecode in __pycache__, the file is read only from the package's
own directory, and trusted as its code is.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER
from types import CodeType
from typing import Any

FORMAT = "specc-dataclass-code-2"
CACHE_FILE = os.path.join(os.path.dirname(__file__), "dataclass_code.marshal")

# (module, text) of what is compiled while :func:`write` imports specc; None otherwise.
_recording: list[tuple[str | None, str]] | None = None

# The marshalled {text: code} of each module's methods, by the module's name
# (None: records.assigned_at_run_time's, compiled without one).
Table = dict[str | None, bytes]


def _stamp() -> tuple[str, bytes, int]:
    """What the table must have been made under to be used: code objects are
    only valid for the bytecode they were compiled to."""
    return FORMAT, MAGIC_NUMBER, sys.flags.optimize


def read(cache_file: str = CACHE_FILE) -> Table:
    """The table in ``cache_file``; empty when there is none made under this
    interpreter, or it cannot be read."""
    try:
        with open(cache_file, "rb") as handle:
            stored = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _stamp()
            and isinstance(stored[1], dict)):
        return {}
    table: Table = stored[1]
    return table


# The modules whose methods have not been read yet, and those read so far.
_groups: Table = {}
_table: dict[str, CodeType] = {}


def compile_source(text: str) -> CodeType:
    """``text`` compiled as ``exec(text, ...)`` compiles it from a module
    without ``__future__`` imports (this one has some: they must not leak in)."""
    return compile(text, "<string>", "exec", dont_inherit=True)


def cached_exec(source: str | CodeType, globals: dict[str, Any] | None = None,
                locals: dict[str, Any] | None = None, /) -> None:
    """``exec(source, globals, locals)``, from the table when ``source`` is
    a text in it."""
    if globals is None:  # not how dataclasses calls it: run it in the caller's frame, as exec
        frame = sys._getframe(1)
        globals = frame.f_globals
        locals = frame.f_locals if locals is None else locals
    if isinstance(source, str):
        module = globals.get("__name__")
        if _recording is not None:
            _recording.append((module, source))
        code = _table.get(source)
        if code is None:
            # Popped in one step: two threads may make records of one module.
            group = _groups.pop(module, None)
            if group is not None:
                _table.update(marshal.loads(group))
                code = _table.get(source)
        # Not exec(source): that would compile it with this module's
        # __future__ imports.
        source = compile_source(source) if code is None else code
    exec(source, globals, locals)


def install(cache_file: str = CACHE_FILE) -> None:
    """Read the table and make dataclasses run what it compiles through it."""
    _groups.update(read(cache_file))
    # dataclasses calls the builtin by its global name; one of the module's
    # own shadows it there, and nowhere else.
    vars(dataclasses)["exec"] = cached_exec


def write(cache_file: str = CACHE_FILE) -> int:
    """Import every module of specc, and keep what dataclasses compiled for
    them in ``cache_file`` (written to a temporary file and renamed over it);
    the number of texts kept."""
    import importlib
    import pkgutil

    import specc

    global _recording
    _recording = []
    try:
        for module in pkgutil.walk_packages(specc.__path__, "specc."):
            if not module.name.endswith(".__main__"):
                importlib.import_module(module.name)
        texts = _recording
    finally:
        _recording = None
    # What was imported before recording began (this module and specc's
    # own package) made no records; the table is complete for specc.
    methods: dict[str | None, dict[str, CodeType]] = {}
    for name, text in texts:
        methods.setdefault(name, {})[text] = compile_source(text)
    table = {name: marshal.dumps(codes) for name, codes in methods.items()}
    temporary = f"{cache_file}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as out:
            out.write(marshal.dumps((_stamp(), table)))
        os.replace(temporary, cache_file)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return sum(len(codes) for codes in methods.values())


def main() -> None:
    try:
        count = write()
    except OSError as error:
        print(f"specc.dataclass_code: {CACHE_FILE} not written: {error}", file=sys.stderr)
    else:
        print(f"specc.dataclass_code: {count} compiled methods in {CACHE_FILE}")
