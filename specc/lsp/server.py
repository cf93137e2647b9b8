"""The language server: pygls feature handlers over :mod:`specc.lsp.workspace`
and the feature modules.

Each handler finds the document, brings its check up to date, and hands the
work to one function in :mod:`specc.lsp.features`.  A handler that fails is
logged to the client (``window/logMessage``) and answers with an empty
result: a bug in one feature must not take the editor's server down.  The
deliberate error responses are refused renames (RequestFailed, with the
reason) and requests whose parameters do not fit the protocol
(InvalidParams).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import traceback
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from specc.api import check_source
from specc.diagnostics import Diagnostic
from specc.lsp.convert import UTF16, diagnostics_to_lsp, uri_to_path
from specc.lsp.features.actions import code_actions
from specc.lsp.features.completion import completion
from specc.lsp.features.formatting import formatting
from specc.lsp.features.hover import hover
from specc.lsp.features.navigation import definition, references
from specc.lsp.features.rename import RenameError, prepare_rename, rename
from specc.lsp.features.semantic_tokens import LEGEND, semantic_tokens
from specc.lsp.features.symbols import document_symbols
from specc.lsp.workspace import DocumentState, Settings, Workspace
from specc.span import SourceFile

Handler = TypeVar("Handler", bound=Callable[..., Any])


class SpeccProtocol(LanguageServerProtocol):
    """pygls's protocol, answering requests whose parameters do not fit.

    pygls turns JSON into typed messages before it knows which request a
    message is; when that fails it logs the problem and drops the message,
    and the client waits for an answer forever.  Here such a request gets an
    error response (InvalidParams) first.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "id" in data and "method" in data and "error" not in data:
                # A private pygls method, but the one its own handlers answer with.
                self._send_response(data["id"], error=lsp.ResponseError(
                    code=error.code,
                    message=f"{error.message}: the parameters of `{data['method']}` do not "
                    "match the protocol"))
            raise


class SpeccLanguageServer(LanguageServer):
    def __init__(self) -> None:
        from specc import __version__

        super().__init__("specc", __version__,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=SpeccProtocol)
        self.documents = Workspace(self._publish, self.log_error, self.log_warning,
                                   self.log_timing)
        # Tasks started by notifications, kept so they are not collected early.
        self.background: set[asyncio.Future[None]] = set()

    @property
    def encoding(self) -> str:
        """The position encoding agreed with the client (UTF-16 unless the
        client offered another first)."""
        try:
            encoding = self.workspace.position_encoding
        except RuntimeError:  # before `initialize`
            return UTF16
        return str(getattr(encoding, "value", encoding) or UTF16)

    def text_of(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def log_error(self, message: str) -> None:
        self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Error, message=message))

    def log_warning(self, message: str) -> None:
        self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Warning,
                                                     message=message))

    def log_timing(self, message: str) -> None:
        self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Log, message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message that could not be handled at all (not valid JSON, not
        the protocol): logged, not shown in a pop-up for every keystroke."""
        self.log_error(f"specc: a message from the editor could not be handled: "
                       f"{type(error).__name__}: {error}")

    def _publish(self, uri: str, version: int | None, diagnostics: list[Diagnostic],
                 sources: Mapping[str, SourceFile]) -> None:
        converted = diagnostics_to_lsp(diagnostics, sources.get, self.encoding)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=converted))


def guarded(default: Callable[[], object]) -> Callable[[Handler], Handler]:
    """Run a handler so that an exception is logged and answered with
    ``default()``, never passed on to pygls (which would answer with an
    internal error) or left to end the process."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ls: SpeccLanguageServer, params: object) -> object:
            try:
                return handler(ls, params)
            except RenameError as refused:
                raise JsonRpcException(str(refused),
                                       code=lsp.LSPErrorCodes.RequestFailed.value) from None
            except Exception as error:
                detail = "".join(traceback.format_exception(error, limit=-4))
                ls.log_error(f"specc: {handler.__name__} failed: {type(error).__name__}: "
                             f"{error}\n{detail}")
                return default()

        return cast(Handler, run)

    return decorate


def create_server() -> SpeccLanguageServer:
    server = SpeccLanguageServer()

    # ------------------------------------------------------------ life cycle
    @server.feature(lsp.INITIALIZE)
    @guarded(lambda: None)
    def initialize(ls: SpeccLanguageServer, params: lsp.InitializeParams) -> None:
        ls.documents.configure(params.initialization_options)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: SpeccLanguageServer, params: lsp.InitializedParams) -> None:
        await _watch_files(ls)
        await _pull_configuration(ls)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @guarded(lambda: None)
    def did_change_watched_files(ls: SpeccLanguageServer,
                                 params: lsp.DidChangeWatchedFilesParams) -> None:
        ls.documents.files_changed([uri_to_path(change.uri) for change in params.changes])

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @guarded(lambda: None)
    def did_change_configuration(ls: SpeccLanguageServer,
                                 params: lsp.DidChangeConfigurationParams) -> None:
        if params.settings:
            ls.documents.configure(params.settings)
        else:  # "something changed": ask for it (the pull model)
            ls.background.add(task := asyncio.ensure_future(_pull_configuration(ls)))
            task.add_done_callback(ls.background.discard)

    # ------------------------------------------------------------ documents
    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @guarded(lambda: None)
    def did_open(ls: SpeccLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.documents.open(doc.uri, ls.text_of(doc.uri), doc.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @guarded(lambda: None)
    def did_change(ls: SpeccLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
        doc = params.text_document
        ls.documents.change(doc.uri, ls.text_of(doc.uri), doc.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @guarded(lambda: None)
    def did_save(ls: SpeccLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents.save(uri, ls.text_of(uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @guarded(lambda: None)
    def did_close(ls: SpeccLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)

    # ------------------------------------------------------------ features
    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @guarded(lambda: None)
    def on_hover(ls: SpeccLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
        state = _fresh(ls, params.text_document.uri)
        return hover(state, params.position, ls.documents.settings, ls.encoding) \
            if state else None

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @guarded(list)
    def on_definition(ls: SpeccLanguageServer,
                      params: lsp.DefinitionParams) -> list[lsp.Location]:
        state = _fresh(ls, params.text_document.uri)
        return definition(state, params.position, ls.encoding) if state else []

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @guarded(list)
    def on_references(ls: SpeccLanguageServer,
                      params: lsp.ReferenceParams) -> list[lsp.Location]:
        state = _fresh(ls, params.text_document.uri)
        if state is None:
            return []
        return references(state, params.position, params.context.include_declaration,
                          ls.encoding)

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    @guarded(lambda: None)
    def on_prepare_rename(ls: SpeccLanguageServer,
                          params: lsp.PrepareRenameParams) -> lsp.Range | None:
        state = _fresh(ls, params.text_document.uri)
        return prepare_rename(state, params.position, ls.encoding) if state else None

    @server.feature(lsp.TEXT_DOCUMENT_RENAME)
    @guarded(lambda: None)
    def on_rename(ls: SpeccLanguageServer,
                  params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        state = _fresh(ls, params.text_document.uri)
        return rename(state, params.position, params.new_name, ls.encoding) if state else None

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=["."]))
    @guarded(lambda: lsp.CompletionList(is_incomplete=False, items=[]))
    def on_completion(ls: SpeccLanguageServer,
                      params: lsp.CompletionParams) -> lsp.CompletionList:
        state = _fresh(ls, params.text_document.uri)
        if state is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        return completion(state, params.position, ls.encoding)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded(list)
    def on_document_symbol(ls: SpeccLanguageServer,
                           params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        state = _fresh(ls, params.text_document.uri)
        return document_symbols(state, ls.encoding) if state else []

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)
    @guarded(lambda: lsp.SemanticTokens(data=[]))
    def on_semantic_tokens(ls: SpeccLanguageServer,
                           params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
        state = _fresh(ls, params.text_document.uri)
        return semantic_tokens(state, ls.encoding) if state else lsp.SemanticTokens(data=[])

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    @guarded(list)
    def on_code_action(ls: SpeccLanguageServer,
                       params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        state = _fresh(ls, params.text_document.uri)
        return code_actions(state, params.range, ls.encoding) if state else []

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    @guarded(list)
    def on_formatting(ls: SpeccLanguageServer,
                      params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
        state = ls.documents.documents.get(params.text_document.uri)
        return formatting(state, ls.encoding) if state else []

    return server


def _fresh(ls: SpeccLanguageServer, uri: str) -> DocumentState | None:
    return ls.documents.fresh(uri)


WATCHER_ID = "specc-data-files"


async def _watch_files(ls: SpeccLanguageServer) -> None:
    """Ask the client to report changes on disk of every file in the
    workspace (``workspace/didChangeWatchedFiles``): zone files, the files
    of a ``dir(...)`` and used specs feed a check without being open, and a
    change of one is checked again at once.  Only clients that register
    watchers dynamically are asked; the others still get the change on the
    next check (what was read is kept only while the file is unchanged)."""
    capabilities = ls.client_capabilities.workspace
    watched = capabilities.did_change_watched_files if capabilities is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    options = lsp.DidChangeWatchedFilesRegistrationOptions(
        watchers=[lsp.FileSystemWatcher(glob_pattern="**/*")])
    try:
        await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[
            lsp.Registration(id=WATCHER_ID, method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                             register_options=options)]))
    except Exception as error:  # a client that refuses keeps working without it
        ls.log_warning(f"specc: could not watch files: {type(error).__name__}: {error}")


async def _pull_configuration(ls: SpeccLanguageServer) -> None:
    capabilities = ls.client_capabilities.workspace
    if capabilities is None or not capabilities.configuration:
        return
    try:
        values = await ls.workspace_configuration_async(lsp.ConfigurationParams(
            items=[lsp.ConfigurationItem(section="specc")]))
    except Exception as error:  # a client that cannot answer keeps the settings it has
        ls.log_error(f"specc: could not read settings: {type(error).__name__}: {error}")
        return
    if values and values[0]:
        ls.documents.configure(values[0])


def main(target: str = "hvt") -> None:
    """Serve on stdin and stdout until the client says ``exit``; ``target``
    (``specc lsp -t``) is what documents are checked for until the client's
    settings name another."""
    tune_for_latency()
    server = create_server()
    server.documents.settings = Settings(target=target)
    server.start_io()


def tune_for_latency() -> None:
    """Process-wide settings for the server process (not for library users).

    A check allocates hundreds of thousands of short-lived objects that form
    no cycles (the AST is a tree of frozen dataclasses); with the default
    generation-0 threshold (700) the collector walks the live heap dozens of
    times per check.  A larger threshold, and freezing what start-up loaded
    (grammar tables, the parsed prelude, the modules), took the median check
    of a 1,000-line file from about 88 to 63 ms on a loaded 2-CPU machine
    (bench/lsp.py).  The first check, done here, also loads the grammar and
    the prelude before the editor's first file arrives.
    """
    check_source("unikernel warm_up\nmain {}\n", "<warm-up>")
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
