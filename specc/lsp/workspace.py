"""Per-document state and when documents are checked.

Each open document keeps its latest text, the result of its latest check and
the last program that had no syntax errors (completion uses it while the
user is half-way through typing).  A document is checked at once when it is
opened or saved, and after a quiet period of ``debounce`` seconds when it
changes, so a burst of keystrokes costs one check.  A request that needs
positions to line up with the text (hover, definition, ...) first brings the
document up to date with :meth:`Workspace.fresh`.

Nothing here knows about the LSP wire format: checking produces
:class:`~specc.diagnostics.Diagnostic` lists that the ``publish`` callback
sends, which keeps this module testable without a client.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from specc import ast
from specc.api import TARGETS, CheckResult, check_source
from specc.check.data import DataCache, data_files
from specc.check.loader import prelude_path
from specc.check.program import CheckedProgram
from specc.diagnostics import Diagnostic, Note, Severity
from specc.evaluate.data import resolve
from specc.incremental.check import IncrementalCheck
from specc.incremental.parse import IncrementalParser
from specc.lsp.convert import path_to_uri, uri_to_path
from specc.lsp.index import Index, build_index
from specc.span import SourceFile, Span

DEFAULT_DEBOUNCE = 0.150  # seconds of quiet after a change before checking

# publish(uri, version, diagnostics, sources): send one file's diagnostics.
Publisher = Callable[[str, int | None, list[Diagnostic], Mapping[str, SourceFile]], None]
Logger = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """What the client configures (``initializationOptions`` or
    ``workspace/didChangeConfiguration``, either flat or under ``"specc"``).

    ``target`` is passed to the checker.  ``defines`` (the ``-D KEY=VALUE``
    overrides) and ``config_file`` (``--config FILE``) are kept here for the
    middle end (configuration evaluation), which the checker does not run
    yet: today they change nothing that is shown.
    """

    target: str = "hvt"
    defines: Mapping[str, str] = field(default_factory=dict)
    config_file: str | None = None
    debounce: float = DEFAULT_DEBOUNCE
    # Log how long each check took (for bench/lsp.py and slow-server reports).
    log_timings: bool = False

    def updated(self, raw: object) -> tuple[Settings, list[str]]:
        """These settings with the values in ``raw`` applied, and the problems
        found in it (a bad value keeps the old one)."""
        problems: list[str] = []
        if not isinstance(raw, dict):
            return self, problems if raw is None else [f"settings must be an object, not {raw!r}"]
        values: dict[str, Any] = dict(raw)
        nested = values.get("specc")
        if isinstance(nested, dict):
            values = dict(nested)
        target, defines, config_file, debounce, log_timings = (
            self.target, self.defines, self.config_file, self.debounce, self.log_timings)
        if "target" in values:
            if values["target"] in TARGETS:
                target = values["target"]
            else:
                problems.append(f"unknown target {values['target']!r}; the targets are "
                                f"{', '.join(TARGETS)}")
        if "defines" in values:
            raw_defines = values["defines"]
            if isinstance(raw_defines, dict):
                defines = {str(k): _define_text(v) for k, v in raw_defines.items()}
            else:
                problems.append("`defines` must be an object of KEY: VALUE")
        if "configFile" in values:
            raw_file = values["configFile"]
            if raw_file is None or isinstance(raw_file, str):
                config_file = raw_file or None
            else:
                problems.append("`configFile` must be a path")
        if "debounceMs" in values:
            raw_ms = values["debounceMs"]
            if isinstance(raw_ms, int | float) and not isinstance(raw_ms, bool) and raw_ms >= 0:
                debounce = raw_ms / 1000
            else:
                problems.append("`debounceMs` must be a number of milliseconds")
        if "logTimings" in values:
            log_timings = values["logTimings"] is True
        return Settings(target, defines, config_file, debounce, log_timings), problems


def _define_text(value: object) -> str:
    # `-D` values are text that the key's type parses; JSON booleans and
    # numbers are written the way the command line would spell them.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


@dataclass
class DocumentState:
    uri: str
    path: str
    text: str
    version: int | None = None
    result: CheckResult | None = None
    checked_text: str | None = None
    # The last program checked without syntax errors (for completion).
    last_good_program: CheckedProgram | None = None
    pending: asyncio.TimerHandle | None = None
    # Other files this document's check reported problems in (URIs).
    published_elsewhere: set[str] = field(default_factory=set)
    check_seconds: float = 0.0
    # Re-parse only the declarations an edit changed, and re-check only the
    # function bodies it changed (the same result as a full check).
    parser: IncrementalParser = field(default_factory=IncrementalParser)
    incremental: IncrementalCheck = field(default_factory=IncrementalCheck)
    _index: Index | None = None

    @property
    def program(self) -> CheckedProgram | None:
        return self.result.program if self.result is not None else None

    @property
    def source(self) -> SourceFile:
        if self.result is not None and self.checked_text == self.text:
            checked = self.result.sources.get(self.path)
            if checked is not None:
                return checked
        return SourceFile(self.path, self.text)

    @property
    def index(self) -> Index | None:
        if self._index is None and self.program is not None:
            self._index = build_index(self.program)
        return self._index

    def source_of(self, path: str) -> SourceFile | None:
        if self.result is not None and path in self.result.sources:
            return self.result.sources[path]
        return None

    @property
    def dependencies(self) -> set[str]:
        if self.result is None:
            return set()
        return set(self.result.sources) - {self.path}

    @property
    def data_paths(self) -> set[str]:
        """The zone files and directories this document's check read."""
        if self.program is None:
            return set()
        return {os.path.abspath(resolve(path, call.span))
                for _, path, call in data_files(self.program)}

    def depends_on_file(self, path: str) -> bool:
        """Whether a change of the file at ``path`` on disk can change this
        document's diagnostics: a used file, a zone file, a file in a dir(...)."""
        path = os.path.abspath(path)
        if path in {os.path.abspath(p) for p in self.dependencies}:
            return True
        return any(path == data or path.startswith(data + os.sep) for data in self.data_paths)


class Workspace:
    def __init__(self, publish: Publisher, log: Logger, warn: Logger | None = None,
                 trace: Logger | None = None) -> None:
        self.publish = publish
        self.log = log  # failures: a bug in specc
        self.warn = warn or log  # the user's mistakes in the settings
        self.trace = trace or log  # timings, when asked for
        self.settings = Settings()
        self.documents: dict[str, DocumentState] = {}
        # Zone files and directories read by checks, until they change on disk.
        self.data_cache = DataCache()

    # ------------------------------------------------------------ events
    def open(self, uri: str, text: str, version: int | None) -> DocumentState:
        state = DocumentState(uri, uri_to_path(uri), text, version)
        self.documents[uri] = state
        self.check_now(state)
        self._schedule_dependents(state)
        return state

    def change(self, uri: str, text: str, version: int | None) -> None:
        state = self.documents.get(uri)
        if state is None:
            self.open(uri, text, version)
            return
        state.text, state.version = text, version
        self._schedule(state)
        self._schedule_dependents(state)

    def save(self, uri: str, text: str | None) -> None:
        state = self.documents.get(uri)
        if state is None:
            return
        if text is not None:
            state.text = text
        self.check_now(state)
        self._schedule_dependents(state)

    def close(self, uri: str) -> None:
        state = self.documents.pop(uri, None)
        if state is None:
            return
        self._cancel(state)
        for other in {uri, *state.published_elsewhere}:
            self.publish(other, None, [], {})
        self._schedule_dependents(state)

    def configure(self, raw: object) -> None:
        self.settings, problems = self.settings.updated(raw)
        for problem in problems:
            self.warn(f"specc settings: {problem}")
        for state in list(self.documents.values()):
            self.check_now(state)

    def files_changed(self, paths: list[str]) -> None:
        """Files changed on disk (``workspace/didChangeWatchedFiles``): forget
        what was read from them and check again the documents they feed."""
        self.data_cache.forget(set(paths))
        open_paths = {s.path for s in self.documents.values()}
        changed = [p for p in paths if p not in open_paths]  # an open file reports its own edits
        for state in list(self.documents.values()):
            if any(state.depends_on_file(p) for p in changed):
                self._schedule(state)

    def fresh(self, uri: str) -> DocumentState | None:
        """The document, checked against its current text."""
        state = self.documents.get(uri)
        if state is not None and (state.pending is not None or state.checked_text != state.text):
            self.check_now(state)
        return state

    # ------------------------------------------------------------ checking
    def check_now(self, state: DocumentState) -> None:
        self._cancel(state)
        if self.documents.get(state.uri) is not state:
            return  # closed while a check was pending
        text = state.text
        overlays = {s.path: s.text for s in self.documents.values()}
        started = time.perf_counter()
        try:
            result = check_source(text, state.path, target=self.settings.target,
                                  overlays=overlays, data_cache=self.data_cache,
                                  parse=state.parser.parse,
                                  make_checker=state.incremental.checker)
        except Exception as error:  # check_source reports its own bugs; this is a last resort
            self.log(f"specc: checking {state.path} failed: {type(error).__name__}: {error}")
            empty = Span(state.path, 1, 1, 1, 1, 0, 0)
            result = CheckResult([Diagnostic("E9001", Severity.ERROR, "internal compiler error: "
                                             f"{type(error).__name__}: {error}", empty)],
                                 {state.path: SourceFile(state.path, text)})
        state.check_seconds = time.perf_counter() - started
        if self.settings.log_timings:
            self.trace(f"specc: checked {state.path} (version {state.version}) in "
                       f"{state.check_seconds * 1000:.1f} ms")
        if result.program is not None and _is_library(result.program.root):
            # A `use`d file has no `unikernel` line; opened on its own it is
            # still worth checking, without that complaint.
            result.diagnostics = [d for d in result.diagnostics
                                  if not (d.code == "E0106" and d.span.file == state.path)]
        state.result, state.checked_text, state._index = result, text, None
        if result.program is not None and not any(_is_syntax_error(d)
                                                  for d in result.diagnostics):
            state.last_good_program = result.program
        self._publish(state, result)

    def _publish(self, state: DocumentState, result: CheckResult) -> None:
        by_file: dict[str, list[Diagnostic]] = {state.path: []}
        specs = set(result.program.sources) if result.program is not None else {state.path}
        for d in result.diagnostics:
            by_file.setdefault(d.span.file, []).append(d)
            if d.span.file not in specs:
                # A problem in a zone file: shown at the `zonefile(...)` call too,
                # where the editor of the spec sees it.
                lifted = lift_to_call(d, state.path)
                if lifted is not None:
                    by_file[state.path].append(lifted)
        open_paths = {s.path for s in self.documents.values()}
        elsewhere: set[str] = set()
        for path, diagnostics in by_file.items():
            if path == state.path:
                self.publish(state.uri, state.version, diagnostics, result.sources)
            elif path not in open_paths and path != prelude_path():
                # A used file that is not open: its problems still show (in the
                # editor's problem list); an open one reports its own.
                uri = path_to_uri(path)
                elsewhere.add(uri)
                self.publish(uri, None, diagnostics, result.sources)
        for stale in state.published_elsewhere - elsewhere:
            self.publish(stale, None, [], {})
        state.published_elsewhere = elsewhere

    # ------------------------------------------------------------ debouncing
    def _schedule(self, state: DocumentState) -> None:
        self._cancel(state)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a synchronous caller): check at once
            self.check_now(state)
            return
        state.pending = loop.call_later(self.settings.debounce, self._run_pending, state)

    def _run_pending(self, state: DocumentState) -> None:
        state.pending = None
        try:
            self.check_now(state)
        except Exception as error:  # a timer callback has nobody to raise to
            self.log(f"specc: check of {state.uri} failed: {type(error).__name__}: {error}")

    def _schedule_dependents(self, changed: DocumentState) -> None:
        """Documents that use ``changed`` see its new text on their next check."""
        for state in self.documents.values():
            if state is not changed and changed.path in state.dependencies:
                self._schedule(state)

    @staticmethod
    def _cancel(state: DocumentState) -> None:
        if state.pending is not None:
            state.pending.cancel()
            state.pending = None


def lift_to_call(d: Diagnostic, path: str) -> Diagnostic | None:
    """``d`` (located in a data file) at its note in the file ``path``, with
    the data file's position in the message and as a note; None if no note
    is in ``path``."""
    call = next((n for n in d.notes if n.span is not None and n.span.file == path), None)
    if call is None or call.span is None:
        return None
    where = f"{d.span.file}:{d.span.line}:{d.span.column}"
    notes = [Note(f"here in {d.span.file}", d.span),
             *(n for n in d.notes if n is not call)]
    return replace(d, message=f"{where}: {d.message}", span=call.span, notes=tuple(notes))


def _is_syntax_error(d: Diagnostic) -> bool:
    return d.code.startswith("E00")


def _is_library(module: ast.Module) -> bool:
    """A file of shared declarations (meant to be `use`d), not an application."""
    return not any(isinstance(d, ast.Unikernel | ast.MainDecl | ast.ConfigBlock | ast.DevicesBlock)
                   for d in module.decls)
