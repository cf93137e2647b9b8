"""DNS over TCP on the unix target (socket_tcp.c and dns_over_tcp.c):
examples/dns.spec compiled with `tcp=true`, asked with dnspython and with raw
sockets that frame by hand (pipelined messages, messages split across
sends, garbage), its answers compared with the UDP answers of the same
process, with the TCP answers of the python target, and with NSD's over TCP
(every field; test_dns_vs_nsd.NSD_TCP_SMALLEST says where NSD closes the
connection instead)."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from dns_queries import Query, dropped, make, query_set
from servers import Server, compile_spec, start_server
from test_dns_vs_nsd import NSD, differences_over_tcp, free_port, summary
from test_python_dns import nsd  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
TEST_ZONE = ROOT / "tests" / "data" / "zones" / "zone.test.zone"
TIMEOUT = 5.0  # seconds: any one wait on the servers

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None,
                                reason="gcc is not installed (scripts/setup.sh)")


def compile_image(out: Path, target: str, *defines: str) -> Path:
    args = [a for d in defines for a in ("-D", d)]
    return compile_spec(ROOT / "examples" / "dns.spec", out, target, *args)


def start(image: Path) -> Server:
    """Run `image` on 127.0.0.1 until it listens on UDP and on TCP, one port."""
    server = start_server(image, ("udp", "tcp"))
    if server.ports["udp"] != server.ports["tcp"]:
        server.stop()
        pytest.fail(f"{image.name} listens on two ports: {server.ports}")
    return server


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """The unix image and the python image of examples/dns.spec with TCP."""
    c_image = compile_image(tmp_path_factory.mktemp("unix"), "unix", "tcp=true",
                            f"port={free_port()}")
    py_image = compile_image(tmp_path_factory.mktemp("python"), "python", "tcp=true",
                             f"port={free_port()}")
    c_server = start(c_image)
    try:
        py_server = start(py_image)
        try:
            yield c_server, py_server
        finally:
            py_server.stop()
    finally:
        output = c_server.stop()
        assert c_server.process.returncode == 0, output  # SIGTERM, not a trap
        assert b"integer overflow" not in output and b"out of memory" not in output


@pytest.fixture
def c_server(servers: tuple[Server, Server]) -> Iterator[Server]:
    server = servers[0]
    assert server.alive()
    yield server
    assert server.alive(), "the server stopped"


# ---- framing by hand -------------------------------------------------------


def frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


class Reader:
    """The framed messages of a connection, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.closed = False

    def next(self) -> bytes | None:
        """The next message; None when the server closed the connection."""
        while True:
            if len(self.buffer) >= 2:
                length = struct.unpack("!H", self.buffer[:2])[0]
                if len(self.buffer) >= 2 + length:
                    message = self.buffer[2:2 + length]
                    self.buffer = self.buffer[2 + length:]
                    return message
            if self.closed:
                assert not self.buffer, f"the connection closed within a message: {self.buffer!r}"
                return None
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            self.closed = not data
            self.buffer += data


def with_id(wire: bytes, ident: int) -> bytes:
    return struct.pack("!H", ident) + wire[2:]


SENTINEL_ID = 0xBEEF
SENTINEL = with_id(make("www.example.org.", "A"), SENTINEL_ID)


def is_sentinel_answer(message: bytes) -> bool:
    return message[:2] == struct.pack("!H", SENTINEL_ID) and b"\x03www\x07example" in message


def answers_over_tcp(port: int, queries: list[Query]) -> list[bytes | None]:
    """The answer to each query (None: no answer), all on one connection.
    Each query is followed by a query known to be answered (in the same
    send), so a query without an answer costs no timeout."""
    answers: list[bytes | None] = []
    with connect(port) as sock:
        reader = Reader(sock)
        for query in queries:
            assert query.wire[:2] != SENTINEL[:2]
            sock.sendall(frame(query.wire) + frame(SENTINEL))
            first = reader.next()
            assert first is not None, f"{query.label}: the connection closed"
            if is_sentinel_answer(first):
                answers.append(None)
                continue
            answers.append(first)
            sentinel = reader.next()
            assert sentinel is not None and is_sentinel_answer(sentinel), query.label
    return answers


def answers_over_udp(port: int, queries: list[Query]) -> list[bytes | None]:
    """The same over UDP.  The unix image may send the replies of one batch
    to a socket in another order than the queries came (socket_udp.c groups
    them by size for GSO), but it sends every reply of a batch before it
    reads the next: a query's answer, when it has one, has come before the
    answer to a sentinel sent behind it, or else before the answer to a
    second sentinel sent only once the first was answered."""
    answers: list[bytes | None] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", port))
        for query in queries:
            sock.send(query.wire)
            answer = None
            for _ in range(2):
                sock.send(SENTINEL)
                while not is_sentinel_answer(message := sock.recv(65535)):
                    assert answer is None, f"{query.label}: two answers"
                    answer = message
                if answer is not None:
                    break
            answers.append(answer)
    return answers


def views(tcp: bytes, udp: bytes) -> tuple[dict[str, object], dict[str, object]]:
    """What must be equal in a TCP answer and a UDP answer (not truncated)."""
    tcp_view, udp_view = summary(tcp), summary(udp)
    assert isinstance(tcp_view, dict) and isinstance(udp_view, dict)
    # The OPT records are compared whole: over TCP the server advertises its
    # UDP size (1232) too, as NSD does.
    # Records one by one: dnspython may reorder those of an RRset it renders again.
    for section in ("answer", "authority", "additional"):
        rrsets = tcp_view[section], udp_view[section]
        assert isinstance(rrsets[0], list) and isinstance(rrsets[1], list)
        tcp_view[section], udp_view[section] = (sorted(line for r in rs for line in r.split("\n"))
                                                for rs in rrsets)
    # UDP answers may leave out additional records; TCP answers need not.
    if set(udp_view["additional"]) <= set(tcp_view["additional"]):
        udp_view["additional"] = tcp_view["additional"]
    return tcp_view, udp_view


def is_axfr(query: Query) -> bool:
    return "xfr 252" in query.label


# ---- the answers -------------------------------------------------------------


def test_dnspython_over_tcp(c_server: Server) -> None:
    port = c_server.port
    reply = dns.query.tcp(dns.message.make_query("www.example.org", "A"), "127.0.0.1",
                          port=port, timeout=TIMEOUT)
    assert reply.rcode() == dns.rcode.NOERROR and "192.0.2.80" in reply.to_text()
    assert reply.flags & dns.flags.AA and not reply.flags & dns.flags.TC
    missing = dns.query.tcp(dns.message.make_query("nope.example.org", "A"), "127.0.0.1",
                            port=port, timeout=TIMEOUT)
    assert missing.rcode() == dns.rcode.NXDOMAIN
    # Several queries on one connection, each answered as over UDP.
    with connect(port) as sock:
        for name, rdtype in [("example.org", "SOA"), ("mail.example.org", "MX"),
                             ("MAIL.Example.ORG", "A"), ("nope.example.org", "TXT")]:
            query = dns.message.make_query(name, rdtype, use_edns=0)
            over_tcp = dns.query.tcp(query, "127.0.0.1", port=port, timeout=TIMEOUT, sock=sock)
            over_udp = dns.query.udp(query, "127.0.0.1", port=port, timeout=TIMEOUT)
            assert over_tcp.id == query.id
            assert over_tcp.question[0].name.to_text() == name + "."  # the case is echoed
            tcp_view, udp_view = views(over_tcp.to_wire(), over_udp.to_wire())
            assert tcp_view == udp_view


def test_answers_match_udp_and_the_python_target(servers: tuple[Server, Server]) -> None:
    c_server, py_server = servers
    queries = [q for q in query_set() if q.zone == "example.org."]
    assert len(queries) > 500
    c_tcp = answers_over_tcp(c_server.port, queries)
    py_tcp = answers_over_tcp(py_server.port, queries)
    c_udp = answers_over_udp(c_server.port, queries)
    assert sum(a is not None for a in c_tcp) > 500
    differences = []
    for query, ours, python, udp in zip(queries, c_tcp, py_tcp, c_udp, strict=True):
        if is_axfr(query):
            continue  # see test_answers_match_the_python_target_on_a_larger_zone
        if ours != python:
            differences.append(f"{query.label}: python {python!r}, unix {ours!r}")
        if (ours is None) != (udp is None):
            differences.append(f"{query.label}: over UDP {udp!r}, over TCP {ours!r}")
        if ours is None or udp is None or dns.message.from_wire(udp).flags & dns.flags.TC:
            continue
        tcp_view, udp_view = views(ours, udp)
        if tcp_view != udp_view:
            differences.append(f"{query.label}: over UDP {udp_view}, over TCP {tcp_view}")
    assert not differences, "\n".join(differences[:10])


@pytest.mark.skipif(NSD is None, reason="NSD is not installed (scripts/setup.sh)")
@pytest.mark.parametrize("target", ["unix", "python"])
def test_answers_match_nsd_over_tcp(servers: tuple[Server, Server], nsd: int,  # noqa: F811
                                    target: str) -> None:
    """Every example.org query of the shared set, malformed and QDCOUNT 0 ones
    included, over TCP to the image and to NSD: the same answers, field for
    field, OPT record included."""
    server = servers[0] if target == "unix" else servers[1]
    queries = [q for q in query_set() + dropped() if q.zone == "example.org."]
    differences, closed_by_nsd = differences_over_tcp(server.port, nsd, queries)
    assert not differences, f"{len(differences)} of {len(queries)} differ:\n" + \
        "\n".join(differences[:10])
    assert len(closed_by_nsd) <= 10, closed_by_nsd  # the few of NSD_TCP_SMALLEST


def test_answers_match_the_python_target_on_a_larger_zone(tmp_path: Path) -> None:
    zone = f'zone=zonefile("{TEST_ZONE}")'
    c_server = start(compile_image(tmp_path / "unix", "unix", "tcp=true", zone,
                                   f"port={free_port()}"))
    try:
        py_server = start(compile_image(tmp_path / "python", "python", "tcp=true", zone,
                                        f"port={free_port()}"))
        try:
            queries = [q for q in query_set() if q.zone == "zone.test."]
            c_tcp = answers_over_tcp(c_server.port, queries)
            py_tcp = answers_over_tcp(py_server.port, queries)
        finally:
            py_server.stop()
    finally:
        c_server.stop()
    differences = [f"{q.label}: python {p!r}, unix {c!r}"
                   for q, c, p in zip(queries, c_tcp, py_tcp, strict=True) if c != p]
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences[:10])


# ---- framing -----------------------------------------------------------------


def expected(port: int, *wires: bytes) -> list[bytes]:
    """The answers to `wires`, each asked on its own."""
    answers = answers_over_tcp(port, [Query(f"query {i}", "", w) for i, w in enumerate(wires)])
    assert all(answers)
    return [a for a in answers if a is not None]


def test_pipelined_and_split_messages(c_server: Server) -> None:
    port = c_server.port
    a = with_id(make("www.example.org.", "A"), 1)
    b = with_id(make("mail.example.org.", "MX", edns=1232), 2)
    c = with_id(make("nope.example.org.", "AAAA"), 3)
    answer_a, answer_b, answer_c = expected(port, a, b, c)
    with connect(port) as sock:
        reader = Reader(sock)
        # Two messages in one send.
        sock.sendall(frame(a) + frame(b))
        assert (reader.next(), reader.next()) == (answer_a, answer_b)
        # One message in three sends: half its length, the rest of the length
        # and part of the message, then the end of the message and a whole one.
        data = frame(c)
        for part in (data[:1], data[1:9], data[9:] + frame(a)):
            sock.sendall(part)
            time.sleep(0.2)
        assert (reader.next(), reader.next()) == (answer_c, answer_a)
        # One byte at a time.
        for byte in frame(b):
            sock.sendall(bytes([byte]))
            time.sleep(0.002)
        assert reader.next() == answer_b
        # The end of a message and the start of the next in one send.
        both = frame(a) + frame(c)
        sock.sendall(both[:len(both) // 2])
        time.sleep(0.2)
        sock.sendall(both[len(both) // 2:])
        assert (reader.next(), reader.next()) == (answer_a, answer_c)


def test_many_queries_in_one_send(c_server: Server) -> None:
    """3,000 queries in one send: a chunk's answers are more than one event's
    arena holds and may be more than the server gathers for one reply.  It
    answers them in order: all of them, or as many as fit, then it closes
    the connection (RFC 7766 clients ask the rest again)."""
    port = c_server.port
    kinds = [make("www.example.org.", "A"), make("mail.example.org.", "MX"),
             make("example.org.", "TXT", edns=1232), make("nope.example.org.", "A")]
    answers = expected(port, *kinds)
    count = 3000
    with connect(port) as sock:
        sock.sendall(b"".join(frame(with_id(kinds[i % 4], i)) for i in range(count)))
        reader = Reader(sock)
        got = 0
        while got < count:
            message = reader.next()
            if message is None:
                break
            assert message == with_id(answers[got % 4], got)
            got += 1
    assert got > 100, "hardly any answers before the connection closed"
    assert expected(port, kinds[0]) == answers[:1]


def test_garbage_then_disconnect(c_server: Server) -> None:
    port = c_server.port
    rng = random.Random(7)
    garbage = [
        bytes(rng.randrange(256) for _ in range(300)),
        b"\xff\xff" + b"x" * 100,                     # a long message, cut short
        b"\x00",                                      # half a length
        b"\x00\x00" * 50,                             # empty messages
        frame(b"not dns at all"),
        frame(b"\x00" * 12) + b"\x00\x30" + b"\x01" * 20,
        frame(make("www.example.org.", "A")[:20]),    # a query cut short, framed
    ]
    for data in garbage * 3:
        with connect(port) as sock:
            sock.sendall(data)
    # The same, but the connection is reset rather than closed.
    for data in garbage:
        sock = connect(port)
        sock.sendall(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    # A client that does not wait for its answers.
    with connect(port) as sock:
        sock.sendall(frame(make("www.example.org.", "A")) * 50)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reply = dns.query.tcp(dns.message.make_query("www.example.org", "A"), "127.0.0.1",
                          port=port, timeout=TIMEOUT)
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer


def test_two_hundred_connections(c_server: Server) -> None:
    """200 connections at once (more than the server's table: some are
    refused), half with a message left unfinished, all closed; then
    the server answers as before."""
    port = c_server.port
    query = make("www.example.org.", "A")
    socks = []
    try:
        for i in range(200):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.settimeout(TIMEOUT)
            sock.connect(("127.0.0.1", port))
            with contextlib.suppress(OSError):  # refused: the server closed it already
                sock.sendall(frame(query)[:10] if i % 2 else frame(query))
    finally:
        for sock in socks:
            sock.close()
    deadline = time.monotonic() + TIMEOUT
    reply = None
    while reply is None:
        try:
            reply = dns.query.tcp(dns.message.make_query("www.example.org", "A"), "127.0.0.1",
                                  port=port, timeout=TIMEOUT)
        except (OSError, EOFError):
            # The server may not have seen every close yet: its table may be full.
            assert time.monotonic() < deadline, "the server stopped taking connections"
            time.sleep(0.05)
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer
    # And 200 connections one after the other, each asked once.
    for _ in range(200):
        with connect(port) as sock:
            sock.sendall(frame(query))
            assert Reader(sock).next() is not None
