"""HTTP on the unix target (http_server.c, kv_ro.c and runtime/http/): the
unix and python images of examples/http.spec get the same raw requests over
raw sockets and must answer byte for byte alike; then curl and http.client
talk keep-alive HTTP to the C server."""

from __future__ import annotations

import http.client
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from servers import Server, compile_spec, exchange_with, start_server
from test_dns_vs_nsd import free_port

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
SITE = ROOT / "examples" / "site"
TIMEOUT = 5.0  # seconds: any one wait on the servers

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None,
                                reason="gcc is not installed (scripts/setup.sh)")


def compile_image(out: Path, target: str, port: int) -> Path:
    return compile_spec(ROOT / "examples" / "http.spec", out, target, "-D", f"port={port}")


def start(image: Path) -> Server:
    """Run `image` on 127.0.0.1 until it says it listens on TCP."""
    return start_server(image, ("tcp",))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """The unix image and the python image of examples/http.spec."""
    c_image = compile_image(tmp_path_factory.mktemp("unix"), "unix", free_port())
    py_image = compile_image(tmp_path_factory.mktemp("python"), "python", free_port())
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
        assert b"serving 8 files on port" in output


@pytest.fixture
def c_server(servers: tuple[Server, Server]) -> Iterator[Server]:
    server = servers[0]
    assert server.alive()
    yield server
    assert server.alive(), "the server stopped"


# One connection: send, end the input, read until the server closes (tests/servers.py).
exchange = partial(exchange_with, timeout=TIMEOUT)


def etag(servers: tuple[Server, Server]) -> bytes:
    reply = exchange(servers[1].port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    found = re.search(rb"\r\nETag: (\"[0-9a-f]+\")\r\n", reply)
    assert found is not None, reply
    return found.group(1)


def get(path: bytes, *headers: bytes, method: bytes = b"GET", version: bytes = b"1.1") -> bytes:
    lines = [method + b" " + path + b" HTTP/" + version, b"Host: localhost", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


CASES: dict[str, tuple[bytes, ...]] = {
    "root": (get(b"/"),),
    "index": (get(b"/index.html"),),
    "about dir": (get(b"/about/"),),
    "about redirect": (get(b"/about"),),
    "style": (get(b"/style.css"),),
    "png": (get(b"/images/dot.png"),),
    "svg": (get(b"/images/logo.svg"),),
    "query": (get(b"/hello.txt?x=1&y=2"),),
    "percent": (get(b"/hello%2Etxt"),),
    "absolute form": (get(b"http://example.com/data.json"),),
    "absolute no path": (get(b"HTTPS://example.com?q"),),
    "head": (get(b"/", method=b"HEAD"),),
    "head 404": (get(b"/nope", method=b"HEAD"),),
    "404": (get(b"/no/such/file"),),
    "405": (get(b"/", method=b"POST"),),
    "405 with body": (get(b"/", b"Content-Length: 3", method=b"PUT") + b"abc",),
    "get with body": (get(b"/", b"Content-Length: 3") + b"abc",),
    "chunked": (get(b"/", b"Transfer-Encoding: chunked") + b"0\r\n\r\n",),
    "content-length 0": (get(b"/", b"Content-Length: 0, 0"),),
    "bad content-length": (get(b"/", b"Content-Length: 1, 2"),),
    "dotdot": (get(b"/about/../index.html"),),
    "bad escape": (get(b"/%zz"),),
    "nul escape": (get(b"/%00"),),
    "bad utf8": (get(b"/%c3%28"),),
    "surrogate": (get(b"/%ed%a0%80"),),
    "fragment": (get(b"/#x"),),
    "pipelined": (get(b"/") + get(b"/style.css") + get(b"/about"),),
    "pipelined then close": (get(b"/hello.txt") + get(b"/", b"Connection: close") + get(b"/"),),
    "split": (b"GET /style.css HT", b"TP/1.1\r\nHo", b"st: a\r\n", b"\r\n"),
    "split pipelined": (get(b"/")[:30], get(b"/")[30:] + get(b"/data.json")[:5],
                        get(b"/data.json")[5:]),
    "garbage": (b"\x16\x03\x01 not http at all\r\n\r\n",),
    "binary": (bytes(range(256)),),
    "connection close": (get(b"/", b"Connection: close"),),
    "connection list": (get(b"/", b"Connection: foo, CLOSE"),),
    "http/1.0": (get(b"/", version=b"1.0"),),
    "http/1.0 keep-alive": (get(b"/", b"Connection: keep-alive", version=b"1.0") + get(b"/"),),
    "http/1.0 no host": (b"GET / HTTP/1.0\r\n\r\n",),
    "http/1.1 no host": (b"GET / HTTP/1.1\r\n\r\n",),
    "two hosts": (get(b"/", b"Host: b"),),
    "http/2": (get(b"/", version=b"2.0"),),
    "http/1.9": (get(b"/", version=b"1.9"),),
    "bare lf": (b"GET / HTTP/1.1\nHost: a\n\n",),
    "blank lines first": (b"\r\n\n\r\n" + get(b"/hello.txt"),),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",),
    "bare cr": (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",),
    "bad header name": (b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n",),
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",),
    "request line too long, unfinished": (b"GET /" + b"a" * 9000,),
    "headers too large": (get(b"/", *[b"X-A: " + b"b" * 200] * 90),),
    "too many headers": (get(b"/", *[b"X-A: b"] * 101),),
    "100 headers": (get(b"/", *[b"X-A: b"] * 99),),
    "weak etag star": (get(b"/", b"If-None-Match: *"),),
    "etag miss": (get(b"/", b'If-None-Match: "abc", W/"def"'),),
    "etag malformed": (get(b"/", b"If-None-Match: abc"),),
    "unfinished": (b"GET / HTTP/1.1\r\nHost: a\r\n",),
    "extra spaces": (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_bytes_as_python(servers: tuple[Server, Server], name: str) -> None:
    c, py = servers
    pieces = CASES[name]
    expected = exchange(py.port, *pieces)
    assert expected or name == "unfinished", "the python server said nothing"
    assert exchange(c.port, *pieces) == expected
    assert c.alive()


def test_if_none_match(servers: tuple[Server, Server]) -> None:
    c, py = servers
    tag = etag(servers)
    for value in (tag, b"W/" + tag, b'"x", ' + tag, b"W/\"x\"," + tag):
        request = get(b"/", b"If-None-Match: " + value)
        expected = exchange(py.port, request)
        assert expected.startswith(b"HTTP/1.1 304 Not Modified\r\n")
        assert exchange(c.port, request) == expected
        head = get(b"/index.html", b"If-None-Match: " + value, method=b"HEAD")
        assert exchange(c.port, head) == exchange(py.port, head)


def test_mutated_requests(servers: tuple[Server, Server]) -> None:
    """Random damage to valid requests: both servers answer alike, neither crashes."""
    c, py = servers
    rng = random.Random(1234)
    base = [get(b"/"), get(b"/about/", b"If-None-Match: *"), get(b"/style.css", method=b"HEAD"),
            get(b"/hello.txt", b"Connection: keep-alive", version=b"1.0")]
    for _ in range(150):
        data = bytearray(rng.choice(base) + rng.choice(base))
        for _ in range(rng.randint(1, 4)):
            what = rng.randrange(3)
            at = rng.randrange(len(data))
            if what == 0:
                data[at] = rng.randrange(256)
            elif what == 1:
                del data[at:at + rng.randint(1, 8)]
            else:
                data[at:at] = bytes(rng.choice(b" \r\n:%/.aZ\t\x00\x80"))
        cut = rng.randrange(len(data) + 1)
        pieces = (bytes(data[:cut]), bytes(data[cut:])) if 0 < cut < len(data) else (bytes(data),)
        assert exchange(c.port, *pieces) == exchange(py.port, *pieces), bytes(data)
    assert c.alive()


def test_many_pipelined(servers: tuple[Server, Server]) -> None:
    c, py = servers
    request = b"".join(get(p) for p in (b"/", b"/images/dot.png", b"/nope", b"/about")) * 50
    expected = exchange(py.port, request)
    assert exchange(c.port, request) == expected


def test_http_client_keep_alive(c_server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", c_server.port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/style.css")
        first = connection.getresponse()
        assert first.status == 200 and first.read() == (SITE / "style.css").read_bytes()
        tag = first.headers["ETag"]
        connection.request("GET", "/style.css", headers={"If-None-Match": tag})
        second = connection.getresponse()
        assert second.status == 304 and second.read() == b""
        connection.request("HEAD", "/about/")
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        assert int(head.headers["Content-Length"]) == \
            len((SITE / "about" / "index.html").read_bytes())
        connection.request("GET", "/no/such/file")
        missing = connection.getresponse()
        assert missing.status == 404 and missing.read() == (SITE / "404.html").read_bytes()
        connection.request("GET", "/about")
        moved = connection.getresponse()
        assert moved.status == 301 and moved.headers["Location"] == "/about/"
        moved.read()
    finally:
        connection.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(c_server: Server) -> None:
    base = f"http://127.0.0.1:{c_server.port}"
    names = ["index.html", "data.json", "hello.txt", "images/dot.png"]
    result = subprocess.run(["curl", "-s", "--fail", *[f"{base}/{n}" for n in names]],
                            capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"".join((SITE / n).read_bytes() for n in names)
    redirect = subprocess.run(["curl", "-s", "-L", f"{base}/about"], capture_output=True,
                              timeout=30)
    assert redirect.stdout == (SITE / "about" / "index.html").read_bytes()


def test_answers_over_the_output_buffer(servers: tuple[Server, Server]) -> None:
    """More pipelined answers than one reply holds: the C server sends those that
    fit, then closes (the python twin sends them all); it keeps serving."""
    c, py = servers
    request = get(b"/") * 2000
    expected = exchange(py.port, request)
    got = exchange(c.port, request)
    assert got and expected.startswith(got)
    assert exchange(c.port, get(b"/")) == exchange(py.port, get(b"/"))
    assert c.alive()
