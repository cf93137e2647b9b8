"""TCP on hvt end to end: direct_tcp.c over net/tcp.c, booted by `specc run
-t hvt` behind QEMU's user networking (the TCP port forwarded from
127.0.0.1), asked by real clients.

- examples/http.spec, serving examples/site plus a 1 MiB file: curl and
  http.client get every file byte-exact over keep-alive connections; raw
  requests (304, 404, 400, 405, pipelines, HTTP/1.0) are answered byte for
  byte as the unix image of the same spec answers them.
- examples/dns.spec -D tcp=true: `dig +tcp`, dnspython and raw framed
  queries over TCP get the answers NSD gives over TCP for the same zone,
  every field, the OPT record's payload size included (both advertise their
  UDP size, 1232: dns_over_tcp asks the zone with answer_tcp).  The raw
  queries include malformed ones and those without a question; where NSD
  closes the connection instead of answering, test_dns_vs_nsd.NSD_TCP_SMALLEST
  says what the image does instead, and the comparison checks it.

One image boot per spec, shared by every case (module fixtures).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dns.message
import dns.query
import pytest
from dns_queries import dropped, make, matrix, query_set
from servers import Server, compile_spec, exchange_with, start_server
from test_c_targets import needs_qemu
from test_dns_vs_nsd import NSD_TCP_SMALLEST, differences_over_tcp, free_port, running_nsd, summary
from test_hvt_dhcp import read_until

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
SITE = ROOT / "examples" / "site"
BIG = "big.bin"
BIG_SIZE = 1 << 20
TIMEOUT = 20.0  # seconds: any one wait on a server (TCG is slow)

needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("curl", "dig", "nsd")),
    reason="curl, dig or nsd missing (scripts/setup.sh)")
pytestmark = [needs_qemu, needs_tools]


@dataclass
class Booted:
    """An image under `specc run`, and the port forwarded to it."""

    process: subprocess.Popen[bytes]
    port: int
    output: str

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()  # specc run forwards it to QEMU
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate(timeout=20)
        return self.output + out.decode(errors="replace")


def boot(spec: Path, out: Path, *defines: str, ready: str = "tcp") -> Booted:
    """`specc run SPEC -t hvt -D port=P ...` until the image listens on P."""
    port = free_port()
    args = [a for d in (f"port={port}", *defines) for a in ("-D", d)]
    process = subprocess.Popen([*SPECC, "run", str(spec), "-t", "hvt", "-o", str(out), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    output = read_until(process, rf"listening: {ready} [\d.]+:{port}\n", 180)
    booted = Booted(process, port, output)
    if not re.search(rf"listening: {ready} [\d.]+:{port}\n", output):
        pytest.fail(f"the image did not start:\n{booted.stop()}")
    return booted


def make_site(into: Path) -> Path:
    """examples/site plus a 1 MiB file of seeded random bytes."""
    site = into / "site"
    shutil.copytree(SITE, site)
    (site / BIG).write_bytes(random.Random(11).randbytes(BIG_SIZE))
    return site


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes()
            for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def hvt_http(tmp_path_factory: pytest.TempPathFactory, site: Path) -> Iterator[Booted]:
    booted = boot(ROOT / "examples" / "http.spec", tmp_path_factory.mktemp("hvt-http"),
                  f"site={site}")
    try:
        yield booted
    finally:
        output = booted.stop()
        assert "serving 9 files on port" in output, output
        assert "direct_tcp" not in output, output  # no trap


@pytest.fixture(scope="module")
def unix_http(tmp_path_factory: pytest.TempPathFactory, site: Path) -> Iterator[Server]:
    image = compile_spec(ROOT / "examples" / "http.spec", tmp_path_factory.mktemp("unix-http"),
                         "unix", "-D", f"port={free_port()}", "-D", f"site={site}")
    server = start_server(image, ("tcp",))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_port(hvt_http: Booted) -> Iterator[int]:
    assert hvt_http.alive()
    yield hvt_http.port
    assert hvt_http.alive(), "the image stopped"


# One connection: send, end the input, read until the server closes (tests/servers.py).
exchange = partial(exchange_with, timeout=TIMEOUT)


def get(path: bytes, *headers: bytes, method: bytes = b"GET", version: bytes = b"1.1") -> bytes:
    lines = [method + b" " + path + b" HTTP/" + version, b"Host: localhost", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


# ---- HTTP ----------------------------------------------------------------------


def test_curl_gets_every_file_byte_exact(http_port: int, site: Path) -> None:
    files = site_files(site)
    assert BIG in files and len(files) == 9
    base = f"http://127.0.0.1:{http_port}"
    # One curl, one keep-alive connection, every file in turn.
    command = ["curl", "-s", "--fail", "--max-time", "120"]
    for i, name in enumerate(files):
        command += ["-o", f"{i}.out", f"{base}/{name}"]
    with contextlib.chdir(site.parent):
        result = subprocess.run(command, capture_output=True, timeout=150)
        assert result.returncode == 0, result.stderr
        for i, (name, content) in enumerate(files.items()):
            got = Path(f"{i}.out").read_bytes()
            os.unlink(f"{i}.out")
            assert got == content, name
    redirect = subprocess.run(["curl", "-s", "-L", f"{base}/about"], capture_output=True,
                              timeout=30)
    assert redirect.stdout == files["about/index.html"]


def test_http_client_keep_alive(http_port: int, site: Path) -> None:
    files = site_files(site)
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=TIMEOUT)
    try:
        sock = None
        for name, content in files.items():
            connection.request("GET", "/" + name)
            response = connection.getresponse()
            assert response.status == 200, name
            assert response.read() == content, name
            sock = sock or connection.sock
            assert connection.sock is sock, "the connection was not kept alive"
        connection.request("GET", "/style.css")
        first = connection.getresponse()
        first.read()
        connection.request("GET", "/style.css", headers={"If-None-Match": first.headers["ETag"]})
        second = connection.getresponse()
        assert second.status == 304 and second.read() == b""
        connection.request("HEAD", "/" + BIG)
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        assert int(head.headers["Content-Length"]) == BIG_SIZE
        connection.request("GET", "/no/such/file")
        missing = connection.getresponse()
        assert missing.status == 404 and missing.read() == files["404.html"]
        connection.request("GET", "/about")
        moved = connection.getresponse()
        assert moved.status == 301 and moved.headers["Location"] == "/about/"
        moved.read()
        assert connection.sock is sock
    finally:
        connection.close()


def test_big_file_three_times(http_port: int, site: Path) -> None:
    content = (site / BIG).read_bytes()
    for _ in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=TIMEOUT)
        try:
            connection.request("GET", "/" + BIG)
            response = connection.getresponse()
            assert response.status == 200
            assert response.read() == content
        finally:
            connection.close()


RAW: dict[str, tuple[bytes, ...]] = {
    "404": (get(b"/no/such/file"),),
    "head 404": (get(b"/nope", method=b"HEAD"),),
    "405": (get(b"/", method=b"POST"),),
    "405 with body": (get(b"/", b"Content-Length: 3", method=b"PUT") + b"abc",),
    "400 two hosts": (get(b"/", b"Host: b"),),
    "400 no host": (b"GET / HTTP/1.1\r\n\r\n",),
    "400 bad escape": (get(b"/%zz"),),
    "400 bare cr": (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",),
    "400 garbage": (b"\x16\x03\x01 not http at all\r\n\r\n",),
    "414": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",),
    "431": (get(b"/", *[b"X-A: " + b"b" * 200] * 90),),
    "505": (get(b"/", version=b"2.0"),),
    "304 star": (get(b"/", b"If-None-Match: *"),),
    "redirect": (get(b"/about"),),
    "pipelined": (get(b"/") + get(b"/style.css") + get(b"/about") + get(b"/nope"),),
    "pipelined then close": (get(b"/hello.txt") + get(b"/", b"Connection: close") + get(b"/"),),
    "pipelined big": (get(b"/" + BIG.encode()) + get(b"/hello.txt"),),
    "split": (b"GET /style.css HT", b"TP/1.1\r\nHo", b"st: a\r\n", b"\r\n"),
    "split pipelined": (get(b"/")[:30], get(b"/")[30:] + get(b"/data.json")[:5],
                        get(b"/data.json")[5:]),
    "http/1.0": (get(b"/", version=b"1.0"),),
    "http/1.0 keep-alive": (get(b"/", b"Connection: keep-alive", version=b"1.0") + get(b"/"),),
    "many pipelined": (b"".join(get(p) for p in (b"/", b"/images/dot.png", b"/nope",
                                                 b"/about")) * 50,),
}


@pytest.mark.parametrize("name", sorted(RAW))
def test_raw_requests_answered_as_on_unix(http_port: int, unix_http: Server, name: str) -> None:
    expected = exchange(unix_http.port, *RAW[name])
    assert expected, "the unix server said nothing"
    assert exchange(http_port, *RAW[name]) == expected


def test_if_none_match_as_on_unix(http_port: int, unix_http: Server) -> None:
    reply = exchange(unix_http.port, get(b"/index.html"))
    found = re.search(rb"\r\nETag: (\"[0-9a-f]+\")\r\n", reply)
    assert found is not None, reply
    for value in (found[1], b"W/" + found[1], b'"x", ' + found[1]):
        request = get(b"/index.html", b"If-None-Match: " + value)
        expected = exchange(unix_http.port, request)
        assert expected.startswith(b"HTTP/1.1 304 Not Modified\r\n")
        assert exchange(http_port, request) == expected


# ---- DNS over TCP ----------------------------------------------------------------


@pytest.fixture(scope="module")
def hvt_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    booted = boot(ROOT / "examples" / "dns.spec", tmp_path_factory.mktemp("hvt-dns"),
                  "tcp=true")
    try:
        yield booted
    finally:
        output = booted.stop()
        assert "direct_tcp" not in output, output  # no trap


@pytest.fixture(scope="module")
def nsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_nsd(tmp_path_factory.mktemp("nsd"), 1232) as port:
        yield port


@pytest.fixture
def dns_port(hvt_dns: Booted) -> Iterator[int]:
    assert hvt_dns.alive()
    yield hvt_dns.port
    assert hvt_dns.alive(), "the image stopped"


DIG_QUERIES = [("www.example.org", "A"), ("example.org", "SOA"), ("example.org", "NS"),
               ("mail.example.org", "MX"), ("alias.example.org", "A"),
               ("anything.wild.example.org", "A"), ("nope.example.org", "A"),
               ("www.example.org", "AAAA"), ("example.org", "TXT"), ("example.org", "ANY"),
               ("x.sub.example.org", "A"), ("_sip._udp.example.org", "SRV")]


def dig_tcp(port: int, name: str, rdtype: str) -> str:
    """dig +tcp's answer, without the id."""
    result = subprocess.run(["dig", "+tcp", "@127.0.0.1", "-p", str(port), name, rdtype,
                             "+time=5", "+tries=1", "+nocmd", "+nostats"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    text = re.sub(r"id: \d+", "id: N", result.stdout)
    # NSD varies the order of the records of an RRset: sort within each section.
    return "\n\n".join("\n".join(sorted(block.splitlines())) for block in text.split("\n\n"))


def compared(wire: bytes) -> object:
    """summary() of an answer with the records of each section sorted one by
    one (NSD varies their order within an RRset)."""
    found = summary(wire)
    assert isinstance(found, dict)
    message = dns.message.from_wire(wire)
    for section, rrsets in (("answer", message.answer), ("authority", message.authority),
                            ("additional", message.additional)):
        found[section] = sorted(line for rrset in rrsets for line in rrset.to_text().splitlines())
    return found


@pytest.mark.parametrize(("name", "rdtype"), DIG_QUERIES)
def test_dig_tcp_matches_nsd(dns_port: int, nsd: int, name: str, rdtype: str) -> None:
    ours, theirs = dig_tcp(dns_port, name, rdtype), dig_tcp(nsd, name, rdtype)
    assert "status: " in ours
    assert ours == theirs


def test_dnspython_tcp_matches_nsd(dns_port: int, nsd: int) -> None:
    """The example.org queries of the shared set that dnspython can read,
    QDCOUNT 0 ones included, sent as they are (their case, their flags) with
    dnspython's TCP framing, each server asked on one long-lived connection
    (RFC 7766 reuse).  test_raw_tcp_matches_nsd has the rest."""
    queries = []
    for query in (*matrix(), *query_set()):
        # NSD closes the connection on these (NSD_TCP_SMALLEST).
        if query.zone != "example.org." or len(query.wire) < NSD_TCP_SMALLEST:
            continue
        with contextlib.suppress(Exception):  # malformed on purpose: not for dnspython
            dns.message.from_wire(query.wire)
            queries.append(query)
    assert len(queries) > 300
    differences = []
    with socket.create_connection(("127.0.0.1", dns_port), timeout=TIMEOUT) as ours, \
            socket.create_connection(("127.0.0.1", nsd), timeout=TIMEOUT) as theirs:
        for query in queries:
            answers = []
            for sock in (ours, theirs):
                dns.query.send_tcp(sock, query.wire, time.time() + TIMEOUT)
                message, _ = dns.query.receive_tcp(sock, time.time() + TIMEOUT)
                answers.append(compared(message.to_wire()))
            if answers[0] != answers[1]:
                differences.append(f"{query.label}:\n  ours {answers[0]}\n  NSD  {answers[1]}")
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(differences[:10])


def test_raw_tcp_matches_nsd(dns_port: int, nsd: int) -> None:
    """Every example.org query of the shared set, malformed ones included,
    framed by hand: the same answers as NSD's, field for field."""
    queries = [q for q in query_set() + dropped() if q.zone == "example.org."]
    differences, closed_by_nsd = differences_over_tcp(dns_port, nsd, queries)
    assert not differences, f"{len(differences)} of {len(queries)} differ:\n" + \
        "\n".join(differences[:10])
    assert len(closed_by_nsd) <= 10, closed_by_nsd  # the few of NSD_TCP_SMALLEST


def test_pipelined_queries_in_one_write(dns_port: int, nsd: int) -> None:
    """Twenty framed queries sent at once, answered in order as NSD answers them."""
    wires = [make(name + ".", rdtype) for name, rdtype in DIG_QUERIES] * 2
    wires = [struct.pack(">H", i) + w[2:] for i, w in enumerate(wires[:20])]  # distinct ids
    framed = b"".join(struct.pack(">H", len(w)) + w for w in wires)

    def answers(port: int) -> list[object]:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(framed)
            found = []
            for _ in wires:
                length = struct.unpack(">H", recv_exactly(s, 2))[0]
                found.append(compared(recv_exactly(s, length)))
            return found

    assert answers(dns_port) == answers(nsd)


def recv_exactly(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "the server closed early"
        data += chunk
    return data


# ---- linking ---------------------------------------------------------------------


def test_tcp_is_linked_only_into_images_that_use_it(tmp_path: Path) -> None:
    """direct_tcp starts TCP in its first listen, so an image that never
    listens on TCP has no tcp_init to keep net/tcp.c alive (--gc-sections).
    tcp_init itself may be inlined into its one caller (-flto); tcp_input,
    reached through the protocol table net_set_protocol gets, stays."""
    symbols = {}
    for tcp in ("false", "true"):
        image = compile_spec(ROOT / "examples" / "dns.spec", tmp_path / tcp, "hvt",
                             "-D", f"tcp={tcp}")
        symbols[tcp] = subprocess.run(["nm", str(image)], capture_output=True, text=True,
                                      check=True).stdout.split()
    assert "tcp_init" not in symbols["false"] and "tcp_input" not in symbols["false"]
    assert "tcp_input" in symbols["true"]
