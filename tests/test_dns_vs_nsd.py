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
