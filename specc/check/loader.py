"""Reading the application file, the files it `use`s (transitively) and the
prelude, and parsing each once."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from specc import ast
from specc.diagnostics import DiagnosticSink, Note
from specc.records import Record
from specc.span import SourceFile
from specc.syntax.parser import parse_module

Reader = Callable[[str], str]  # path -> text; raises OSError when unreadable
# How the application file is parsed: parse_module, or (the language server)
# specc.incremental.parse.IncrementalParser.parse, which gives the same module.
Parser = Callable[[SourceFile, DiagnosticSink], ast.Module]


@dataclass(repr=False)
class LoadedFiles(Record):
    """The application file's module and the modules of the files it uses."""

    root: ast.Module
    used: list[ast.Module] = field(default_factory=list)  # dependencies first
    sources: dict[str, SourceFile] = field(default_factory=dict)


# The prelude is package data of specc.prelude, found from this file's place
# in the package (the path importlib.resources gives, without importing it:
# with the tempfile, shutil and zipfile it imports, that was about 4% of the
# instructions of `specc check` on a small spec, issue 13).
_PRELUDE_FILE = str(Path(__file__).parent.parent / "prelude" / "prelude.spec")


def prelude_path() -> str:
    return _PRELUDE_FILE


@functools.cache
def _parsed_prelude(path: str, text: str) -> tuple[ast.Module, SourceFile, tuple[str, ...]]:
    # The prelude never changes within a process; parse it once.  Its AST is
    # immutable and every side table is per check, so sharing it is safe.
    # The tree kept by scripts/setup.sh, when made from exactly this, is the
    # same tree for a quarter of the instructions (specc.prelude.cache).
    from specc.prelude import cache

    cached = cache.read(path, text)
    if cached is not None:
        return *cached, ()
    return parse_prelude(path, text)


def parse_prelude(path: str, text: str) -> tuple[ast.Module, SourceFile, tuple[str, ...]]:
    """The prelude's tree, its source and the problems found parsing it."""
    source = SourceFile(path, text)
    sink = DiagnosticSink()
    module = parse_module(source, sink)
    return module, source, tuple(f"{d.span}: {d.message}" for d in sink)


def load_prelude(sink: DiagnosticSink) -> tuple[ast.Module, SourceFile]:
    path = prelude_path()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    module, source, problems = _parsed_prelude(path, text)
    if problems:  # a broken installation, not the user's fault
        raise RuntimeError("the shipped prelude does not parse: " + "; ".join(problems))
    return module, source


def load_files(root: SourceFile, read: Reader, sink: DiagnosticSink,
               parse: Parser = parse_module) -> LoadedFiles:
    """Parse ``root`` (with ``parse``) and every file it uses.  A `use` cycle is
    reported at the `use` that closes it, with the chain as notes."""
    root_module = parse(root, sink)
    loaded = LoadedFiles(root_module, sources={root.path: root})
    done: set[str] = {os.path.normpath(root.path)}
    chain: list[tuple[str, ast.Use | None]] = [(os.path.normpath(root.path), None)]
    _load_uses(root_module, read, sink, loaded, done, chain)
    return loaded


def _load_uses(module: ast.Module, read: Reader, sink: DiagnosticSink, loaded: LoadedFiles,
               done: set[str], chain: list[tuple[str, ast.Use | None]]) -> None:
    base = os.path.dirname(module.path)
    for decl in module.decls:
        if not isinstance(decl, ast.Use):
            continue
        path = os.path.normpath(os.path.join(base, decl.path))
        on_chain = [p for p, _ in chain]
        if path in on_chain:
            start = on_chain.index(path)
            cycle = [*on_chain[start:], path]
            links = chain[start + 1:]  # the use that closes the cycle is the primary span
            notes = [Note(f"`{os.path.basename(chain[start + k][0])}` uses `{use.path}`", use.span)
                     for k, (_, use) in enumerate(links) if use is not None]
            sink.add("E0105", decl.span,
                     "these files use each other in a cycle: " + " -> ".join(cycle),
                     notes=notes, hint="move the shared declarations into a file that both use")
            continue
        if path in done:
            continue
        done.add(path)
        try:
            text = read(path)
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            sink.add("E0104", decl.path_span, f"cannot read used file `{decl.path}` ({path}): "
                     f"{reason}")
            continue
        source = SourceFile(path, text)
        loaded.sources[path] = source
        module_used = parse_module(source, sink)
        chain.append((path, decl))
        _load_uses(module_used, read, sink, loaded, done, chain)
        chain.pop()
        loaded.used.append(module_used)
