"""The parsed prelude, kept on disk beside prelude.spec (``prelude.pickle``).

Every ``specc check`` parses the prelude before the user's file; unpickling
the same tree takes about a third of the instructions (issue 13).  The file
is written only by ``python -m specc.prelude.cache`` (scripts/setup.sh runs
it, as it compiles the bytecode), never while checking, so a read-only
installation, or one without the file, simply parses as before.

It is used only when it was made from exactly what a parse would read now:
it holds the prelude's path (its spans hold it) and text, the interpreter's
version, and the bytes of every file the parse depends on, the modules that
build and define the tree (:data:`_PACKAGE_FILES` and every file of
specc/syntax, tested to cover all that parsing imports), the grammar and its
tables; each is compared with what is there now, byte for byte (cheaper than
hashing them).  Any difference, a file that cannot be read or unpickled, or
a tree that is not a module of that text, and the prelude is parsed instead.
Like the bytecode in __pycache__, the file is read only from the package's
own directory, and trusted as its code is.
"""

from __future__ import annotations

import dataclasses
import io
import marshal
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specc.ast import Module
    from specc.span import SourceFile

FORMAT = "specc-prelude-1"
CACHE_FILE = os.path.join(os.path.dirname(__file__), "prelude.pickle")
_PACKAGE = os.path.dirname(os.path.dirname(__file__))
# Beside every file of specc/syntax: the modules the parser imports.
_PACKAGE_FILES = ("__init__.py", "ast.py", "span.py", "values.py", "records.py", "codes.py",
                  "dataclass_code.py", "diagnostics.py", "check/__init__.py", "check/loader.py",
                  "prelude/cache.py", "grammar/spec.lark")


def key_files() -> list[str]:
    """Every file whose content the cached tree depends on, in a fixed order."""
    syntax = os.path.join(_PACKAGE, "syntax")
    files = [os.path.join(_PACKAGE, name) for name in _PACKAGE_FILES]
    files += [os.path.join(syntax, name) for name in sorted(os.listdir(syntax))
              if name.endswith((".py", ".json", ".lark"))]
    return files


def _contents(files: list[str]) -> tuple[bytes, ...]:
    contents = []
    for name in files:
        with open(name, "rb") as handle:
            contents.append(handle.read())
    return tuple(contents)


Stamp = tuple[str, str, str, str, tuple[str, ...], tuple[bytes, ...]]


def _stamp(path: str, text: str, files: list[str]) -> Stamp:
    """What the cache must have been made from to be used now."""
    return FORMAT, sys.version, path, text, tuple(files), _contents(files)


def read(path: str, text: str, cache_file: str | None = None,
         files: list[str] | None = None) -> tuple[Module, SourceFile] | None:
    """The cached tree of ``text`` at ``path`` and its source; None when there
    is no cache made from exactly this."""
    try:
        with open(CACHE_FILE if cache_file is None else cache_file, "rb") as handle:
            stored = marshal.loads(handle.read())
        stamp = _stamp(path, text, key_files() if files is None else files)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == stamp
            and isinstance(stored[1], bytes)):
        return None
    try:
        # The C unpickler, without the pure-Python pickle module around it
        # (a percent of a small check to import); the module where it is absent.
        from _pickle import loads
    except ImportError:
        from pickle import loads

    from specc.ast import Module
    from specc.span import SourceFile

    try:
        module, source = loads(stored[1])
    except Exception:  # a damaged file: parse instead
        return None
    if not (isinstance(module, Module) and isinstance(source, SourceFile)
            and source.path == path and source.text == text and module.path == path):
        return None
    return module, source


_fields: dict[type, tuple[str, ...] | None] = {}


def _constructor_fields(cls: type) -> tuple[str, ...] | None:
    # A dataclass of specc's built by its constructor from its fields alone
    # (no __post_init__, no field left out of __init__) unpickles faster as a
    # constructor call than through setattr (and, frozen, through dataclasses'
    # Python __setstate__); any other object is pickled as pickle does.
    if cls not in _fields:
        plain = (dataclasses.is_dataclass(cls) and cls.__module__.startswith("specc.")
                 and not hasattr(cls, "__post_init__")
                 and all(f.init for f in dataclasses.fields(cls)))
        _fields[cls] = tuple(f.name for f in dataclasses.fields(cls)) if plain else None
    return _fields[cls]


def write(path: str, text: str, module: Module, source: SourceFile,
          cache_file: str | None = None, files: list[str] | None = None) -> None:
    """Keep ``module`` as the tree of ``text`` at ``path``: written to a
    temporary file beside ``cache_file`` and renamed over it, so a reader
    sees the old file or the whole new one."""
    import pickle
    import tempfile

    class _Pickler(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            names = _constructor_fields(type(obj))
            if names is None:
                return NotImplemented
            return type(obj), tuple(getattr(obj, name) for name in names)

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((module, source))
    stamp = _stamp(path, text, key_files() if files is None else files)
    data = marshal.dumps((stamp, buffer.getvalue()))
    cache_file = CACHE_FILE if cache_file is None else cache_file
    directory = os.path.dirname(cache_file) or "."
    handle, temporary = tempfile.mkstemp(prefix=".prelude-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, cache_file)
    except BaseException:
        os.unlink(temporary)
        raise


def main() -> int:
    """Parse the shipped prelude and write its cache; say why not if it cannot."""
    from specc.check.loader import parse_prelude, prelude_path

    path = prelude_path()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    module, source, problems = parse_prelude(path, text)
    if problems:
        print("specc.prelude.cache: the prelude does not parse: " + "; ".join(problems),
              file=sys.stderr)
        return 1
    try:
        write(path, text, module, source)
    except OSError as error:  # a read-only installation parses the prelude each run
        print(f"specc.prelude.cache: not written: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
