"""The language server reads compile-time data (issue 12, item 3): a missing
or broken zone file shows at the ``zonefile(...)`` call in the editor, and a
change of the file on disk (``workspace/didChangeWatchedFiles``, for which
the server registers a watcher) checks the spec again without an edit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parent.parent
ZONE = (ROOT / "examples" / "zones" / "example.org.zone").read_text()
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "specc", "lsp"])
TIMEOUT = 10.0
SPEC = """unikernel z

config {
  const zone: Zone = zonefile("zones/z.zone")
}

devices {
  db = dns_zone(config.zone)
}

main {}
"""
CALL = (3, 21, 3, 45)  # zonefile("zones/z.zone"), 0-based LSP positions


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp_data")
    (root / "zones").mkdir()
    (root / "z.spec").write_text(SPEC)
    return root


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(workspace: Path) -> AsyncIterator[LanguageClient]:
    lc = await SERVER.start()
    assert isinstance(lc, LanguageClient)
    registrations: list[lsp.Registration] = []

    @lc.feature(lsp.CLIENT_REGISTER_CAPABILITY)  # type: ignore[untyped-decorator]
    def register(params: lsp.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    lc.registrations = registrations  # type: ignore[attr-defined]
    await lc.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=workspace.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=workspace.as_uri(), name="data")]))
    yield lc
    await lc.shutdown_session()
    await lc.stop()  # type: ignore[no-untyped-call]


async def diagnostics_when(lc: LanguageClient, uri: str,
                           ready: Callable[[Sequence[lsp.Diagnostic]], bool]) -> list[lsp.Diagnostic]:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        current = lc.diagnostics.get(uri)
        if current is not None and ready(current):
            return list(current)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"diagnostics for {uri} never became ready; last: {current}")
        await asyncio.sleep(0.01)


def span(r: lsp.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def changed(lc: LanguageClient, path: Path, kind: lsp.FileChangeType) -> None:
    lc.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=path.as_uri(), type=kind)]))


async def test_the_server_watches_files(client: LanguageClient) -> None:
    registrations: list[Any] = client.registrations  # type: ignore[attr-defined]
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not registrations and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    [registration] = registrations
    assert registration.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
    watchers = registration.register_options["watchers"]
    assert [w["globPattern"] for w in watchers] == ["**/*"]


async def test_zone_file_problems_show_at_the_call_and_follow_the_disk(
        client: LanguageClient, workspace: Path) -> None:
    spec = workspace / "z.spec"
    zone = workspace / "zones" / "z.zone"
    uri = spec.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="spec", version=1, text=SPEC)))

    # No zone file yet: E0501 at the call.
    [missing] = await diagnostics_when(client, uri, lambda ds: len(ds) > 0)
    assert missing.code == "E0501" and span(missing.range) == CALL
    assert "cannot read zone file `zones/z.zone`" in missing.message

    # The file appears on disk: checked again with no edit, and clean.
    zone.write_text(ZONE)
    changed(client, zone, lsp.FileChangeType.Created)
    assert await diagnostics_when(client, uri, lambda ds: len(ds) == 0) == []

    # A broken record: shown at the call, naming the zone's line, which is
    # related information (and the zone file gets the diagnostic itself).
    bad_line = ZONE.split("\n").index("www             IN  A     192.0.2.80")
    zone.write_text(ZONE.replace("192.0.2.80", "192.0.2.800"))
    changed(client, zone, lsp.FileChangeType.Changed)
    [broken] = await diagnostics_when(client, uri, lambda ds: len(ds) > 0)
    assert broken.code == "E0501" and span(broken.range) == CALL
    assert f"zones/z.zone:{bad_line + 1}:27: zone file `zones/z.zone`" in broken.message
    assert "hint: the data of an A record is an IPv4 address" in broken.message
    related = broken.related_information or []
    assert related[0].location.uri == zone.as_uri()
    assert span(related[0].location.range) == (bad_line, 26, bad_line, 37)
    [in_zone] = await diagnostics_when(client, zone.as_uri(), lambda ds: len(ds) > 0)
    assert span(in_zone.range) == (bad_line, 26, bad_line, 37)

    # Deleted: E0501 again.
    zone.unlink()
    changed(client, zone, lsp.FileChangeType.Deleted)
    [gone] = await diagnostics_when(client, uri, lambda ds: len(ds) == 1 and "cannot read" in
                                    ds[0].message)
    assert span(gone.range) == CALL
