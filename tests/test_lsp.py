"""`specc lsp` end to end: pytest-lsp drives the real server over stdio.

One server serves the feature tests of this module (starting one costs
about a second); the robustness test gets its own.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from specc.api import check_source
from specc.check.loader import prelude_path

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.spec"))
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "specc", "lsp"])
TIMEOUT = 10.0  # seconds to wait for the server; generous, for loaded CI machines

LIB = """\
## Doubles a number.
fn double(x: u32) -> u32 {
  return x * 2
}
"""

APP = """\
## A small application.
unikernel app "for the tests"
use "lib.spec"

config {
  ## UDP port to listen on.
  const port: u16 = 7 requires port != 0
  param limit: u32 = 10
}

devices {
  ip = host_ip()
  udp4 = udp(ip)
  log = console_log(LogLevel.info)
}

## Echoes what it gets.
fn reply(d: Datagram) -> bytes? {
  let size = len(d.payload)
  log.info("{size} bytes, limit {config.limit}, double {double(3)}")
  return some(d.payload)
}

main {
  udp4.listen(config.port, reply)
  log.info("listening on {config.port}")
}
"""


# ---------------------------------------------------------------------------
# fixtures and helpers


async def start_client(root: Path) -> LanguageClient:
    client = await SERVER.start()
    assert isinstance(client, LanguageClient)

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)  # type: ignore[untyped-decorator]
    def accept(params: lsp.RegistrationParams) -> None:
        """The file watcher the server asks for (tests/test_lsp_data.py tests it)."""
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name="tests")],
        initialization_options={"target": "unix"},
    ))
    return client


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp")
    (root / "lib.spec").write_text(LIB, encoding="utf-8")
    (root / "app.spec").write_text(APP, encoding="utf-8")
    return root


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(workspace: Path) -> AsyncIterator[LanguageClient]:
    lc = await start_client(workspace)
    yield lc
    await lc.shutdown_session()
    await lc.stop()  # type: ignore[no-untyped-call]


_versions: dict[str, int] = {}


def open_doc(lc: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    _versions[uri] = 1
    lc.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="spec", version=1,
        text=path.read_text(encoding="utf-8") if text is None else text)))
    return uri


def replace_all(lc: LanguageClient, uri: str, text: str) -> None:
    _versions[uri] = _versions.get(uri, 1) + 1
    lc.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=_versions[uri]),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def close_doc(lc: LanguageClient, uri: str) -> None:
    lc.text_document_did_close(lsp.DidCloseTextDocumentParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))


async def diagnostics_when(lc: LanguageClient, uri: str,
                           ready: Callable[[Sequence[lsp.Diagnostic]], bool]
                           ) -> list[lsp.Diagnostic]:
    """The document's diagnostics, once they satisfy ``ready``."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        current = lc.diagnostics.get(uri)
        if current is not None and ready(current):
            return list(current)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"diagnostics for {uri} never became ready; last: {current}")
        await asyncio.sleep(0.01)


def position_of(text: str, needle: str, delta: int = 0, occurrence: int = 0) -> lsp.Position:
    """The position ``delta`` characters into the ``occurrence``-th ``needle``
    (ASCII text: characters are UTF-16 units)."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = text.index(needle, offset + 1)
    offset += delta
    line = text.count("\n", 0, offset)
    return lsp.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def doc(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


def apply_edits(text: str, edits: Sequence[lsp.TextEdit]) -> str:
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: lsp.Position) -> int:
        return starts[p.line] + p.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


async def hover_text(lc: LanguageClient, uri: str, position: lsp.Position) -> str:
    result = await lc.text_document_hover_async(lsp.HoverParams(text_document=doc(uri),
                                                                position=position))
    assert result is not None, f"no hover at {position}"
    assert isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


async def completion_labels(lc: LanguageClient, uri: str,
                            position: lsp.Position) -> dict[str, str | None]:
    result = await lc.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(uri), position=position))
    items = result.items if isinstance(result, lsp.CompletionList) else result or []
    return {item.label: item.detail for item in items}


# ---------------------------------------------------------------------------
# diagnostics


async def test_diagnostics_appear_and_clear(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "edited.spec"
    path.write_text(APP, encoding="utf-8")
    uri = open_doc(client, path)
    assert await diagnostics_when(client, uri, lambda ds: True) == []

    # A type error: a misspelt config key, with its hint.
    broken = APP.replace("udp4.listen(config.port", "udp4.listen(config.prot")
    replace_all(client, uri, broken)
    found = await diagnostics_when(client, uri, lambda ds: len(ds) > 0)
    assert [d.code for d in found] == ["E0107"]
    assert found[0].source == "specc"
    assert found[0].severity == lsp.DiagnosticSeverity.Error
    assert "did you mean `config.port`?" in found[0].message
    start = position_of(broken, "prot")
    assert found[0].range.start == start
    assert found[0].range.end == lsp.Position(line=start.line, character=start.character + 4)

    replace_all(client, uri, APP)
    assert await diagnostics_when(client, uri, lambda ds: len(ds) == 0) == []

    # A syntax error; the rest of the file is still checked.
    syntax = APP.replace("let size = len(d.payload)", "let size = len(d.payload")
    syntax = syntax.replace("main {", "main {\n  udp4.listen(config.nope, reply)")
    replace_all(client, uri, syntax)
    found = await diagnostics_when(client, uri, lambda ds: len(ds) > 0)
    codes = {d.code for d in found}
    assert "E0107" in codes and any(str(c).startswith("E00") for c in codes), codes

    replace_all(client, uri, APP)
    assert await diagnostics_when(client, uri, lambda ds: len(ds) == 0) == []
    close_doc(client, uri)


async def test_diagnostics_related_spans_and_utf16(client: LanguageClient,
                                                   workspace: Path) -> None:
    text = APP.replace('log.info("listening on {config.port}")',
                       'log.info("\U0001f600 listening") + nmae')
    text = text.replace("  const port: u16 = 7", "  const port: u16 = 7\n  const port: u16 = 8")
    path = workspace / "related.spec"
    path.write_text(text, encoding="utf-8")
    uri = open_doc(client, path)
    found = await diagnostics_when(client, uri, lambda ds: len(ds) >= 2)
    by_code = {str(d.code): d for d in found}
    duplicate = by_code["E0102"]
    assert duplicate.related_information, "the first declaration is a related location"
    assert duplicate.related_information[0].location.uri == uri
    unknown = next(d for d in found if "nmae" in d.message)
    line = text.splitlines()[unknown.range.start.line]
    # The emoji is one character but two UTF-16 units.
    assert unknown.range.start.character == line.index("nmae") + 1
    close_doc(client, uri)


# ---------------------------------------------------------------------------
# hover, definition, references


async def test_hover_shows_type_and_doc(client: LanguageClient, workspace: Path) -> None:
    uri = open_doc(client, workspace / "app.spec")
    await diagnostics_when(client, uri, lambda ds: True)

    port = await hover_text(client, uri, position_of(APP, "config.port", 8, occurrence=0))
    assert "const config.port: u16" in port
    assert "default: `7`" in port

    reply = await hover_text(client, uri, position_of(APP, "reply)", 1))
    assert "fn reply(d: Datagram) -> bytes?" in reply

    double = await hover_text(client, uri, position_of(APP, "double(3)", 2))
    assert "fn double(x: u32) -> u32" in double

    size = await hover_text(client, uri, position_of(APP, "let size", 5))
    assert "let size: u64" in size

    # Not a name: an expression, shown by its type.
    expression = await hover_text(client, uri, position_of(APP, "some(d.payload)", 1))
    assert "bytes?" in expression

    operation = await hover_text(client, uri, position_of(APP, "listen(", 2))
    assert "fn Udp.listen(port: u16, handler: fn(Datagram) -> bytes?)" in operation

    # The `##` doc comments, of the application's, a used file's and the prelude's names.
    assert "UDP port to listen on." in port
    assert "Echoes what it gets." in reply
    assert "Doubles a number." in double
    prelude_doc = await hover_text(client, uri, position_of(APP, "console_log", 2))
    assert "component console_log(const level: LogLevel = LogLevel.info) -> Log" in prelude_doc
    assert "operations below `level` are removed" in prelude_doc


async def test_definition_into_used_file_and_prelude(client: LanguageClient,
                                                     workspace: Path) -> None:
    uri = open_doc(client, workspace / "app.spec")
    await diagnostics_when(client, uri, lambda ds: True)

    found = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(uri), position=position_of(APP, "double(3)", 1)))
    assert isinstance(found, list) and len(found) == 1
    target = found[0]
    assert isinstance(target, lsp.Location)
    assert target.uri == (workspace / "lib.spec").as_uri()
    assert target.range.start == position_of(LIB, "double")

    found = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(uri), position=position_of(APP, "host_ip", 2)))
    assert isinstance(found, list) and len(found) == 1
    target = found[0]
    assert isinstance(target, lsp.Location)
    assert target.uri == Path(prelude_path()).as_uri()
    prelude = Path(prelude_path()).read_text(encoding="utf-8")
    assert prelude.splitlines()[target.range.start.line][target.range.start.character:] \
        .startswith("host_ip")

    # A config key, from its use to its declaration in the same file.
    found = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(uri), position=position_of(APP, "config.limit", 9)))
    assert isinstance(found, list) and isinstance(found[0], lsp.Location)
    assert found[0].range.start == position_of(APP, "limit")


async def test_references(client: LanguageClient, workspace: Path) -> None:
    uri = open_doc(client, workspace / "app.spec")
    await diagnostics_when(client, uri, lambda ds: True)
    found = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=doc(uri), position=position_of(APP, "udp4 ="),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert found is not None
    assert sorted(loc.range.start.line for loc in found) == [
        position_of(APP, "udp4 =").line, position_of(APP, "udp4.listen").line]


# ---------------------------------------------------------------------------
# completion


async def test_completion_after_config_and_device(client: LanguageClient,
                                                  workspace: Path) -> None:
    path = workspace / "completing.spec"
    path.write_text(APP, encoding="utf-8")
    uri = open_doc(client, path)
    await diagnostics_when(client, uri, lambda ds: True)

    # Typed half-way: `config.` alone does not parse, completion still answers.
    text = APP.replace('  log.info("listening on {config.port}")\n', "  udp4.listen(config.")
    replace_all(client, uri, text)
    labels = await completion_labels(client, uri, position_of(text, "listen(config.", 14))
    assert labels["port"] == "const port: u16"
    assert labels["limit"] == "param limit: u32"

    text = APP.replace('  log.info("listening on {config.port}")\n', "  log.\n")
    replace_all(client, uri, text)
    labels = await completion_labels(client, uri, position_of(text, "  log.\n", 6))
    assert {"debug", "info", "warn", "error"} <= set(labels)
    assert labels["info"] == "fn Log.info(m: string)"

    text = APP.replace('  log.info("listening on {config.port}")\n', "  udp4.se\n")
    replace_all(client, uri, text)
    labels = await completion_labels(client, uri, position_of(text, "udp4.se", 7))
    assert "send" in labels and "listen" in labels

    # Enum values, struct fields, component parameters, names in scope.
    text = APP.replace("console_log(LogLevel.info)", "console_log(LogLevel.)")
    replace_all(client, uri, text)
    labels = await completion_labels(client, uri, position_of(text, "LogLevel.)", 9))
    assert set(labels) == {"debug", "info", "warn", "error"}

    text = APP.replace("return some(d.payload)", "return some(d.)")
    replace_all(client, uri, text)
    labels = await completion_labels(client, uri, position_of(text, "some(d.)", 7))
    assert {"src", "src_port", "dst_port", "payload"} <= set(labels)

    text = APP.replace("console_log(LogLevel.info)", "console_log(lev)")
    replace_all(client, uri, text)
    labels = await completion_labels(client, uri, position_of(text, "console_log(lev", 15))
    assert "level" in labels and "static_ipv4" in labels

    labels = await completion_labels(client, uri, position_of(APP, "return some", 0))
    assert {"size", "d", "reply", "udp4", "let", "match"} <= set(labels)
    close_doc(client, uri)


# ---------------------------------------------------------------------------
# rename, code actions, symbols, tokens, formatting


async def test_rename_edits_every_reference(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "renamed.spec"
    path.write_text(APP, encoding="utf-8")
    uri = open_doc(client, path)
    await diagnostics_when(client, uri, lambda ds: True)

    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=doc(uri), position=position_of(APP, "config.port", 8), new_name="udp_port"))
    assert edit is not None and edit.changes is not None
    edits = edit.changes[uri]
    # declaration, its own `requires`, two uses in main (one interpolated)
    assert len(edits) == 4
    renamed = apply_edits(APP, edits)
    assert renamed == APP.replace("const port", "const udp_port").replace(
        "requires port", "requires udp_port").replace("config.port", "config.udp_port")

    # The renamed text checks as cleanly as the original.
    replace_all(client, uri, renamed)
    assert await diagnostics_when(client, uri, lambda ds: len(ds) == 0) == []

    # A function declared in a used file: edits go to both files.
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=doc(uri), position=position_of(renamed, "double(3)", 1), new_name="twice"))
    assert edit is not None and edit.changes is not None
    assert set(edit.changes) == {uri, (workspace / "lib.spec").as_uri()}

    # A local.
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=doc(uri), position=position_of(renamed, "{size}", 1), new_name="n"))
    assert edit is not None and edit.changes is not None
    assert len(edit.changes[uri]) == 2

    # The prelude and builtins are not the user's to rename.
    for needle, delta in (("host_ip", 0), ("len(", 0), ("Datagram", 0)):
        with pytest.raises(JsonRpcException, match=r"prelude|built into"):
            await client.text_document_rename_async(lsp.RenameParams(
                text_document=doc(uri), position=position_of(renamed, needle, delta),
                new_name="mine"))
    with pytest.raises(JsonRpcException, match="keyword"):
        await client.text_document_rename_async(lsp.RenameParams(
            text_document=doc(uri), position=position_of(renamed, "{size}", 1), new_name="match"))
    close_doc(client, uri)


COUNTER = """\
unikernel counter

## Datagrams answered since boot.
var served: u64 = 0

fn bump() -> u64 {
  served += 1
  return served
}

main {
  served = bump() * 2
  print("{served}")
}
"""


async def test_top_level_var_hover_definition_rename(client: LanguageClient,
                                                     workspace: Path) -> None:
    path = workspace / "counter.spec"
    path.write_text(COUNTER, encoding="utf-8")
    uri = open_doc(client, path)
    assert await diagnostics_when(client, uri, lambda ds: True) == []

    text = await hover_text(client, uri, position_of(COUNTER, "return served", 8))
    assert "var served: u64 = 0" in text and "Datagrams answered since boot." in text

    found = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(uri), position=position_of(COUNTER, "{served}", 2)))
    assert isinstance(found, list) and isinstance(found[0], lsp.Location)
    assert found[0].range.start == position_of(COUNTER, "served: u64")

    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=doc(uri), position=position_of(COUNTER, "served += 1", 1),
        new_name="answered"))
    assert edit is not None and edit.changes is not None
    # the declaration, `+=`, `return`, the assignment in main and the interpolation
    assert len(edit.changes[uri]) == 5
    assert apply_edits(COUNTER, edit.changes[uri]) == COUNTER.replace("served", "answered")
    with pytest.raises(JsonRpcException, match="already declared"):
        await client.text_document_rename_async(lsp.RenameParams(
            text_document=doc(uri), position=position_of(COUNTER, "served += 1", 1),
            new_name="bump"))
    close_doc(client, uri)


async def test_code_action_for_did_you_mean(client: LanguageClient, workspace: Path) -> None:
    text = APP.replace("udp4.listen(config.port, reply)", "udp4.listen(port, rpely)")
    path = workspace / "typos.spec"
    path.write_text(text, encoding="utf-8")
    uri = open_doc(client, path)
    found = await diagnostics_when(client, uri, lambda ds: len(ds) >= 2)
    line = position_of(text, "udp4.listen(port").line
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=doc(uri),
        range=lsp.Range(start=lsp.Position(line=line, character=0),
                        end=lsp.Position(line=line, character=40)),
        context=lsp.CodeActionContext(diagnostics=list(found))))
    assert actions is not None
    edits: list[lsp.TextEdit] = []
    for action in actions:
        assert isinstance(action, lsp.CodeAction)
        assert action.edit is not None and action.edit.changes is not None
        edits.extend(action.edit.changes[uri])
    fixed = apply_edits(text, edits)
    assert "udp4.listen(config.port, reply)" in fixed
    close_doc(client, uri)


async def test_document_symbols_and_semantic_tokens(client: LanguageClient,
                                                    workspace: Path) -> None:
    uri = open_doc(client, workspace / "app.spec")
    await diagnostics_when(client, uri, lambda ds: True)
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=doc(uri)))
    assert symbols is not None
    outline = {s.name: [c.name for c in (s.children or [])] for s in symbols
               if isinstance(s, lsp.DocumentSymbol)}
    assert outline["config"] == ["port", "limit"]
    assert outline["devices"] == ["ip", "udp4", "log"]
    assert "reply" in outline and "main" in outline

    tokens = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=doc(uri)))
    assert tokens is not None and len(tokens.data) % 5 == 0 and tokens.data
    assert all(n >= 0 for n in tokens.data)


async def test_formatting_returns_specc_fmt(client: LanguageClient, workspace: Path) -> None:
    fmt = pytest.importorskip("specc.fmt")
    messy = APP.replace("  const port: u16 = 7", "  const   port :u16=7").replace(
        "  ip = host_ip()", "  ip =   host_ip( )")
    path = workspace / "messy.spec"
    path.write_text(messy, encoding="utf-8")
    uri = open_doc(client, path)
    await diagnostics_when(client, uri, lambda ds: True)
    expected = fmt.format_source(messy, str(path))
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=doc(uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert apply_edits(messy, edits or []) == (expected if expected is not None else messy)
    close_doc(client, uri)


async def test_settings_change_the_target(client: LanguageClient, workspace: Path) -> None:
    text = APP.replace("ip = host_ip()", "ip = match target {\n"
                       "    Target.hvt => static_ipv4(ethernet(virtio_net()), 10.0.0.2/24)\n"
                       "    _ => host_ip()\n  }")
    path = workspace / "target.spec"
    path.write_text(text, encoding="utf-8")
    uri = open_doc(client, path)
    assert await diagnostics_when(client, uri, lambda ds: True) == []
    at_target = position_of(text, "match target", 7)
    # `unix` came with the initialization options.
    assert "value: `Target.unix`" in await hover_text(client, uri, at_target)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"specc": {"target": "hvt", "defines": {"port": 53}}}))
    assert "value: `Target.hvt`" in await hover_text(client, uri, at_target)
    # A bad value is reported and changes nothing.
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"target": "vax"}))
    assert "value: `Target.hvt`" in await hover_text(client, uri, at_target)
    assert any("unknown target 'vax'" in m.message for m in client.log_messages)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"specc": {"target": "unix"}}))
    close_doc(client, uri)


async def test_bad_requests_are_answered(client: LanguageClient, workspace: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    missing = (workspace / "never-opened.spec").as_uri()
    assert await client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(missing), position=lsp.Position(line=0, character=0))) is None
    uri = open_doc(client, workspace / "app.spec")
    far = lsp.Position(line=10_000, character=10_000)
    assert await client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(uri), position=far)) is None
    assert await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=doc(uri), position=far)) == []
    labels = await completion_labels(client, uri, far)
    assert "main" in labels  # keywords, at least
    # Malformed and unknown requests get error responses, not a dead server.
    # (The client would refuse to send a malformed hover: make it send raw JSON.)
    typed = client.protocol.get_message_type
    monkeypatch.setattr(client.protocol, "get_message_type",
                        lambda method: None if method == lsp.TEXT_DOCUMENT_HOVER else typed(method))
    with pytest.raises(JsonRpcException):
        await client.protocol.send_request_async(  # type: ignore[no-untyped-call]
            lsp.TEXT_DOCUMENT_HOVER, {"textDocument": {"uri": uri}})
    with pytest.raises(JsonRpcException):
        await client.protocol.send_request_async(  # type: ignore[no-untyped-call]
            "specc/noSuchMethod", {})
    # Not even JSON: logged, and the next request is answered.
    writer = client.protocol.writer
    assert writer is not None
    garbage = b"{not json"
    written = writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(garbage), garbage))
    if inspect.isawaitable(written):
        await written
    # The server is still there.
    assert await hover_text(client, uri, position_of(APP, "reply)", 1))


# ---------------------------------------------------------------------------
# robustness


def random_edit(rng: random.Random, text: str, corpus: Sequence[str]) -> tuple[int, int, str]:
    """An edit of ``text``: (start, end, replacement), an insertion of a random
    span of one of the examples or a deletion of a random span."""
    start = rng.randrange(len(text) + 1)
    if rng.random() < 0.5 or len(text) < 50:
        source = rng.choice(corpus)
        a = rng.randrange(len(source))
        b = min(len(source), a + rng.choice((1, 2, 5, 20, 80)))
        return start, start, source[a:b]
    end = min(len(text), start + rng.choice((1, 3, 10, 40)))
    return start, end, ""


def lsp_position(text: str, offset: int) -> lsp.Position:
    line_start = text.rfind("\n", 0, offset) + 1
    prefix = text[line_start:offset]
    units = len(prefix) + sum(1 for ch in prefix if ord(ch) > 0xFFFF)
    return lsp.Position(line=text.count("\n", 0, offset), character=units)


@pytest_asyncio.fixture(loop_scope="module")
async def fresh_client(workspace: Path) -> AsyncIterator[LanguageClient]:
    lc = await start_client(workspace)
    yield lc
    await lc.shutdown_session()
    await lc.stop()  # type: ignore[no-untyped-call]


async def test_random_edits_never_break_the_server(fresh_client: LanguageClient,
                                                   workspace: Path) -> None:
    rng = random.Random(20261126)
    corpus = [p.read_text(encoding="utf-8") for p in EXAMPLES] + [APP, LIB]
    lc = fresh_client
    answered = 0
    for example in EXAMPLES:
        text = example.read_text(encoding="utf-8")
        path = workspace / f"random_{example.name}"
        path.write_text(text, encoding="utf-8")
        uri = open_doc(lc, path, text)
        for step in range(100):
            start, end, new = random_edit(rng, text, corpus)
            rng_range = lsp.Range(start=lsp_position(text, start), end=lsp_position(text, end))
            text = text[:start] + new + text[end:]
            _versions[uri] += 1
            lc.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri,
                                                                   version=_versions[uri]),
                content_changes=[lsp.TextDocumentContentChangePartial(range=rng_range,
                                                                      text=new)]))
            if step % 3 == 0:
                where = lsp_position(text, rng.randrange(len(text) + 1))
                request = rng.choice(("hover", "completion", "definition", "symbols", "tokens"))
                await asyncio.wait_for(_request(lc, uri, request, where), TIMEOUT)
                answered += 1
        # The server applied every incremental change as the test did: its
        # diagnostics are those of the test's text.  (A request brings the
        # check up to date, and its diagnostics are sent before its answer.)
        await asyncio.wait_for(_request(lc, uri, "symbols", lsp.Position(line=0, character=0)),
                               TIMEOUT)
        expected = check_source(text, str(path), target="unix").diagnostics
        published = lc.diagnostics.get(uri, [])
        # (The server leaves out "missing `unikernel`" for a file that looks
        # like a library, which random edits can make of an application.)
        assert [str(d.code) for d in published if d.code != "E0106"] == \
            [d.code for d in expected if d.span.file == str(path) and d.code != "E0106"]
        close_doc(lc, uri)
    assert answered >= 90
    failures = [m.message for m in lc.log_messages if m.type == lsp.MessageType.Error]
    assert not failures, failures[0]
    uri = open_doc(lc, workspace / "app.spec")
    assert await hover_text(lc, uri, position_of(APP, "reply)", 1))


async def _request(lc: LanguageClient, uri: str, request: str, where: lsp.Position) -> None:
    if request == "hover":
        await lc.text_document_hover_async(lsp.HoverParams(text_document=doc(uri),
                                                           position=where))
    elif request == "completion":
        await lc.text_document_completion_async(lsp.CompletionParams(text_document=doc(uri),
                                                                     position=where))
    elif request == "definition":
        await lc.text_document_definition_async(lsp.DefinitionParams(text_document=doc(uri),
                                                                     position=where))
    elif request == "symbols":
        await lc.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(text_document=doc(uri)))
    else:
        await lc.text_document_semantic_tokens_full_async(
            lsp.SemanticTokensParams(text_document=doc(uri)))


async def test_an_expression_past_the_depth_limit_is_e0008_where_the_cli_says(
        client: LanguageClient, workspace: Path) -> None:
    """The server checks in its own threads and stack: the same E0008, at the
    same place, as check_source from here (tests/test_expression_depth.py)."""
    from test_expression_depth import N, spec

    path = workspace / "deep.spec"
    path.write_text(spec("call", N), encoding="utf-8")
    def errors(ds: Sequence[lsp.Diagnostic]) -> list[lsp.Diagnostic]:
        return [d for d in ds if d.severity == lsp.DiagnosticSeverity.Error]

    uri = open_doc(client, path)
    assert errors(await diagnostics_when(client, uri, lambda ds: True)) == []
    past = spec("call", N + 1)
    [expected] = [d for d in check_source(past, str(path)).diagnostics if d.is_error]
    replace_all(client, uri, past)
    [found] = errors(await diagnostics_when(client, uri, lambda ds: len(errors(ds)) > 0))
    assert (found.code, found.message) == ("E0008", f"{expected.message}\nhint: {expected.hint}")
    assert found.range.start == lsp.Position(line=expected.span.line - 1,
                                             character=expected.span.column - 1)
    close_doc(client, uri)
