"""The DNS answer engine against a real NSD serving the same zones.

The test starts NSD (Debian's `nsd`, 4.6 in Debian 12; scripts/setup.sh
installs it) on 127.0.0.1 at a free port with a configuration of its own,
sends every query of tests/dns_queries.py to it over UDP and gives the same
bytes to `answer()`, and compares: rcode, the header flags (AA, TC, RD, RA
and the rest), the question as sent back (its case included), every section
as RRsets (order within a section aside), and the OPT record (present or
not, its extended rcode, DO and options) - NSD advertises its
`ipv4-edns-size`, which is set to the `max_size` given to `answer()`, so the
payload sizes are compared too.  Messages NSD drops must get None.

The same queries go to NSD over TCP too, compared with the engine's TCP
answers (`tcp=True`: never cut, the server's UDP size advertised, as NSD
does); `differences_over_tcp` does the same for a running image (unix,
python and hvt use it).  Where NSD closes the connection instead of
answering, NSD_TCP_SMALLEST says what the engine does and why.

NSD is configured to tell nothing about itself over CHAOS (hide-identity,
hide-version), as the engine does, and with response-rate limiting off.

Known differences, none of them in the query set:

* TSIG: NSD checks a TSIG record (BADKEY/NOTAUTH, with a TSIG record in
  the reply); the engine has no keys and answers FORMERR.
* DNAME: NSD synthesizes CNAMEs from a DNAME; the engine serves DNAME as
  plain data (no test zone has one).
* When an optional RRset (NS authority, additional) does not fit, NSD still
  tries the following RRsets of the same subsection; the engine stops at the
  first that does not fit, so it may leave out a small RRset NSD would add.
* NSD rate-limits error replies (FORMERR, NOTIMP...) to about 100 a second;
  the engine answers all, so the test waits and retries when NSD is silent.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.edns
import dns.message
import dns.rcode
import dns.zone
import pytest
from dns_queries import (
    SERVER_MAX_UDP,
    ZONE_FILES,
    Query,
    dropped,
    make,
    query_set,
    sizes,
)

from specc.backends.dns.precompute import build_table
from specc.backends.python.runtime.dns_answer import answer

# bench/dns_servers.py starts NSD for the benchmarks and for these tests; at
# the back of the path: bench/dns.py must not hide dnspython.
sys.path.append(str(Path(__file__).resolve().parent.parent / "bench"))
import dns_servers
from dns_servers import free_port as free_port  # re-exported: the tests import it from here

LARGE_SERVER = 4096
NSD = dns_servers.NSD if Path(dns_servers.NSD).exists() else None

# NSD's limit of TCP connections (tcp-count), as these tests have always set it.
TCP_COUNT = 10

pytestmark = pytest.mark.skipif(
    NSD is None, reason="NSD is not installed (Debian package `nsd`; scripts/setup.sh installs it)")


def ask(port: int, wire: bytes, timeout: float = 0.5) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(wire, ("127.0.0.1", port))
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return None
        return data


@contextlib.contextmanager
def running_nsd(workdir: Path, server_size: int) -> Iterator[int]:
    """NSD serving the test zones on 127.0.0.1, advertising `server_size` as
    its UDP size (the `max_size` the engine is given); yields its port."""
    assert NSD is not None
    zones = {}
    for origin, path in ZONE_FILES.items():
        shutil.copy(path, workdir / f"{origin}zone")
        zones[origin] = f"{origin}zone"
    with contextlib.ExitStack() as stack:
        try:
            port, _ = stack.enter_context(dns_servers.nsd_serving(
                workdir, zones, edns_size=server_size, tcp_count=TCP_COUNT))
        except RuntimeError as error:
            pytest.fail(f"NSD did not start: {error}")
        yield port


@pytest.fixture(scope="module")
def nsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_nsd(tmp_path_factory.mktemp("nsd"), SERVER_MAX_UDP) as port:
        yield port


@pytest.fixture(scope="module")
def nsd_large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """NSD with a 4096-byte EDNS size, where NSD's 1232-byte rule for optional
    records (its compiled-in minimal responses) shows."""
    with running_nsd(tmp_path_factory.mktemp("nsd-large"), LARGE_SERVER) as port:
        yield port


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, Any]]:
    return {origin: build_table(dns.zone.from_file(path, origin=None, relativize=False))
            for origin, path in ZONE_FILES.items()}


def summary(wire: bytes) -> object:
    """What must be equal: everything but the order of records within a section."""
    message = dns.message.from_wire(wire)
    end = 12
    if message.question:
        end = 12 + len(message.question[0].name.to_wire() or b"") + 4
    options = sorted((o.otype, o.to_wire()) for o in message.options)
    return {
        "id": message.id,
        "rcode": dns.rcode.to_text(message.rcode()),
        "flags": f"{message.flags:#06x}",
        "question": wire[12:end],  # as sent back, case included
        "answer": sorted(r.to_text() for r in message.answer),
        "authority": sorted(r.to_text() for r in message.authority),
        "additional": sorted(r.to_text() for r in message.additional),
        "opt": None if message.edns < 0 else (message.edns, message.payload,
                                               message.ednsflags, options),
    }


def compare(port: int, tables: dict[str, dict[str, Any]], queries: list[Query],
            server_size: int = SERVER_MAX_UDP) -> None:
    differences = []
    for query in queries:
        ours = answer(tables[query.zone], query.wire, server_size)
        theirs = ask(port, query.wire)
        if theirs is None and ours is not None:
            time.sleep(1.1)  # NSD limits error replies per second; ask again
            theirs = ask(port, query.wire, 1.0)
        if ours is None or theirs is None:
            if ours is not theirs and (ours is None) != (theirs is None):
                differences.append(f"{query.label}: ours {ours!r}, NSD {theirs!r}")
            continue
        mine, nsds = summary(ours), summary(theirs)
        if mine != nsds:
            differences.append(f"{query.label}:\n  ours {mine}\n  NSD  {nsds}")
    assert not differences, f"{len(differences)} of {len(queries)} differ:\n" + \
        "\n".join(differences[:15])


def differences_over_the_network(port: int, nsd_port: int, queries: list[Query]) -> list[str]:
    """Where a server on ``port`` answers the queries differently from NSD."""
    found = []
    for query in queries:
        ours, theirs = ask(port, query.wire), ask(nsd_port, query.wire)
        if theirs is None and ours is not None:
            theirs = ask(nsd_port, query.wire, 1.5)  # NSD rate-limits error replies
        if (ours is None) != (theirs is None):
            found.append(f"{query.label}: ours {ours!r}, NSD {theirs!r}")
        elif ours is not None and theirs is not None and summary(ours) != summary(theirs):
            found.append(f"{query.label}:\n  ours {summary(ours)}\n  NSD  {summary(theirs)}")
    return found


# -- over TCP ------------------------------------------------------------------------------

# NSD closes a TCP connection (a reset: it does not read the rest) on a
# message shorter than a header and the smallest question (the root name, a
# type and a class): 17 bytes.  Over UDP it answers those of 12 to 16 bytes
# with FORMERR, as the engine does on both transports (RFC 1035 4.1.1: a
# message the server cannot interpret; BIND and Knot answer a header-only
# query with FORMERR over TCP too).  NSD also closes the connection on a
# message it does not answer (a response, less than a header), which the
# engine ignores, keeping the connection.
NSD_TCP_SMALLEST = 17
CLOSED = "the connection was closed before an answer"
TCP_SENTINEL = make("www.example.org.", "A", qid=0xBEEF)  # an example.org query answered by all

TcpOutcome = bytes | None | str  # an answer, none (the connection kept), or CLOSED


def _frame(wire: bytes) -> bytes:
    return len(wire).to_bytes(2, "big") + wire


def _read_message(sock: socket.socket, pending: bytearray) -> bytes | None:
    """The next framed message on `sock`; None when the connection ends first."""
    while len(pending) < 2 or len(pending) < 2 + int.from_bytes(pending[:2], "big"):
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            return None
        pending += data
    length = int.from_bytes(pending[:2], "big")
    message = bytes(pending[2:2 + length])
    del pending[:2 + length]
    return message


def tcp_outcomes(port: int, queries: list[Query], timeout: float = 10.0) -> list[TcpOutcome]:
    """What the server on `port` does with each query sent over TCP, on one
    connection while it stays open (RFC 7766 reuse).  Each query goes out with
    TCP_SENTINEL behind it in the same send, so that a query without an answer
    costs no timeout: the sentinel's answer comes first."""
    outcomes: list[TcpOutcome] = []
    sock: socket.socket | None = None
    pending = bytearray()
    try:
        for query in queries:
            assert query.wire[:2] != TCP_SENTINEL[:2], query.label
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                pending = bytearray()
            try:
                sock.sendall(_frame(query.wire) + _frame(TCP_SENTINEL))
            except (BrokenPipeError, ConnectionResetError):
                first = None
            else:
                first = _read_message(sock, pending)
            if first is not None and first[:2] != TCP_SENTINEL[:2]:
                sentinel = _read_message(sock, pending)
                assert sentinel is not None and sentinel[:2] == TCP_SENTINEL[:2], query.label
            if first is None:
                outcomes.append(CLOSED)
                sock.close()
                sock = None
            else:
                outcomes.append(None if first[:2] == TCP_SENTINEL[:2] else first)
    finally:
        if sock is not None:
            sock.close()
    return outcomes


def differences_over_tcp(port: int, nsd_port: int, queries: list[Query]
                         ) -> tuple[list[str], list[str]]:
    """compare_over_tcp() for the server on ``port``."""
    return compare_over_tcp(queries, tcp_outcomes(port, queries), nsd_port)


def compare_over_tcp(queries: list[Query], ours: list[TcpOutcome], nsd_port: int
                     ) -> tuple[list[str], list[str]]:
    """Where `ours` (what a server did with `queries` over TCP) differs from
    what NSD does, every field compared (the OPT record's payload size
    included); and, apart, the labels of the queries NSD closes the
    connection on where ours does what NSD_TCP_SMALLEST describes: the
    FORMERR NSD itself sends over UDP for a message of 12 to 16 bytes, no
    answer for a message NSD does not answer over UDP either."""
    theirs = tcp_outcomes(nsd_port, queries)
    found: list[str] = []
    closed_by_nsd: list[str] = []
    for query, mine, nsds in zip(queries, ours, theirs, strict=True):
        if nsds == CLOSED and mine != CLOSED:
            over_udp = ask(nsd_port, query.wire)
            if over_udp is None and mine is not None:
                over_udp = ask(nsd_port, query.wire, 1.5)  # NSD rate-limits error replies
            if mine is None and over_udp is None:
                closed_by_nsd.append(query.label)
                continue
            if isinstance(mine, bytes) and over_udp is not None and \
                    len(query.wire) < NSD_TCP_SMALLEST and summary(mine) == summary(over_udp):
                closed_by_nsd.append(query.label)
                continue
        if isinstance(mine, bytes) and isinstance(nsds, bytes):
            if summary(mine) != summary(nsds):
                found.append(f"{query.label}:\n  ours {summary(mine)}\n  NSD  {summary(nsds)}")
        elif mine != nsds:
            found.append(f"{query.label}: ours {mine!r}, NSD {nsds!r}")
    return found, closed_by_nsd


def test_query_set_matches_nsd_over_tcp(nsd: int, tables: dict[str, dict[str, Any]]) -> None:
    """The engine's TCP answers (what dns_over_tcp asks for: never cut, the
    server's UDP size advertised) against NSD's over TCP, whole."""
    queries = query_set() + dropped()
    ours: list[TcpOutcome] = [answer(tables[q.zone], q.wire, SERVER_MAX_UDP, tcp=True)
                              for q in queries]
    differences, closed_by_nsd = compare_over_tcp(queries, ours, nsd)
    assert not differences, f"{len(differences)} of {len(queries)} differ:\n" + \
        "\n".join(differences[:15])
    short = {q.label for q in queries if len(q.wire) < NSD_TCP_SMALLEST}
    assert set(closed_by_nsd) == short | {q.label for q in dropped()}
    assert any(q.wire[4:6] == b"\0\0" and len(q.wire) >= NSD_TCP_SMALLEST for q in queries), \
        "no query without a question that NSD answers over TCP"


def test_query_set_matches_nsd(nsd: int, tables: dict[str, dict[str, Any]]) -> None:
    queries = query_set()
    assert len(queries) > 1500
    compare(nsd, tables, queries)


def test_sizes_match_nsd_with_a_large_server(nsd_large: int,
                                             tables: dict[str, dict[str, Any]]) -> None:
    compare(nsd_large, tables, sizes(), LARGE_SERVER)


def test_nsd_and_engine_drop_the_same_messages(nsd: int,
                                               tables: dict[str, dict[str, Any]]) -> None:
    for query in dropped():
        assert answer(tables[query.zone], query.wire, SERVER_MAX_UDP) is None, query.label
        assert ask(nsd, query.wire, 0.3) is None, query.label


def test_most_replies_are_byte_identical(nsd: int, tables: dict[str, dict[str, Any]]) -> None:
    """Not required, but a sign that compression and order follow NSD too."""
    queries = query_set()[:400]
    same = sum(answer(tables[q.zone], q.wire, SERVER_MAX_UDP) == ask(nsd, q.wire)
               for q in queries)
    assert same >= 0.95 * len(queries)


def test_nsd_config_is_valid(tmp_path: Path) -> None:
    checkconf = shutil.which("nsd-checkconf")
    if checkconf is None:
        pytest.skip("nsd-checkconf is not installed")
    for name, zones, edns_size in (("test", ZONE_FILES, SERVER_MAX_UDP),
                                   ("bench", dict(list(ZONE_FILES.items())[:1]), None)):
        config = tmp_path / f"{name}.conf"
        config.write_text(dns_servers.nsd_config("127.0.0.1", 5353, tmp_path, zones, edns_size,
                                                 TCP_COUNT if name == "test" else None))
        subprocess.run([checkconf, str(config)], check=True)
