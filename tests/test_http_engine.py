"""The HTTP server's two halves: the compile-time response table
(`backends/http/precompute.py`) and the run-time engine
(`backends/python/runtime/http_engine.py`), tested against `examples/site/`,
with fuzzing, and served over a real socket to `http.client` and `curl`."""

from __future__ import annotations

import ast
import hashlib
import http.client
import os
import shutil
import socket
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specc.backends.http.precompute import build_site, content_type, entity_tag
from specc.backends.python.runtime import http_engine
from specc.backends.python.runtime.http_engine import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_REQUEST_LINE,
    handle,
    handle_requests,
)

SITE_DIR = Path(__file__).resolve().parent.parent / "examples" / "site"


def read_site(root: Path) -> tuple[tuple[str, bytes], ...]:
    """What `dir(...)` bakes: (relative `/`-separated path, contents), sorted."""
    files: list[tuple[str, bytes]] = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            files.append((path.relative_to(root).as_posix(), path.read_bytes()))
    return tuple(sorted(files))


FILES = read_site(SITE_DIR)
CONTENTS = dict(FILES)
SITE = build_site(FILES)


# --- parsing responses ------------------------------------------------------


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case name -> value
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_responses(data: bytes, head_only: list[bool] | None = None) -> list[Response]:
    """Split a byte stream into HTTP/1.1 responses; AssertionError when it is not one.

    `head_only[i]` says whether response i answers a HEAD (no body despite
    Content-Length); without it, a body is assumed present when the bytes
    after it are empty or start another response.
    """
    out: list[Response] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        assert end >= 0, f"unterminated head: {data[pos:pos + 200]!r}"
        lines = data[pos:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        assert version == "HTTP/1.1", lines[0]
        code, _, reason = rest.partition(" ")
        assert len(code) == 3 and code.isdigit() and reason, lines[0]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(": ")
            assert colon and name and name.lower() not in headers, line
            headers[name.lower()] = value
        pos = end + 4
        status = int(code)
        if status == 304:
            assert "content-length" not in headers
            length = 0
        else:
            assert headers["content-length"].isdigit()
            length = int(headers["content-length"])
            index = len(out)
            if head_only is not None:
                if head_only[index]:
                    length = 0
            else:
                after = data[pos + length:]
                if not (len(data) >= pos + length and (not after or after.startswith(b"HTTP/1.1 "))):
                    length = 0
        body = data[pos:pos + length]
        assert len(body) == length
        pos += length
        out.append(Response(status, reason, headers, body))
    return out


def request(target: str = "/", method: str = "GET", version: str = "HTTP/1.1",
            headers: tuple[str, ...] = ("Host: example.org",)) -> bytes:
    return "".join([f"{method} {target} {version}\r\n", *(h + "\r\n" for h in headers),
                    "\r\n"]).encode("latin-1")


def ask(data: bytes, head_only: list[bool] | None = None,
        site: dict[str, Any] | None = None) -> tuple[int, list[Response], bool]:
    consumed, response, close = handle(SITE if site is None else site, data)
    return consumed, parse_responses(response, head_only), close


def one(data: bytes, head_only: bool = False) -> tuple[Response, bool]:
    consumed, responses, close = ask(data, [head_only])
    assert consumed == len(data)
    assert len(responses) == 1
    return responses[0], close


# --- the compile-time table ---------------------------------------------------


def test_routes_of_the_example_site() -> None:
    assert list(SITE["routes"]) == sorted(SITE["routes"])
    assert set(SITE["routes"]) == {
        "/", "/index.html", "/about", "/about/", "/about/index.html", "/style.css",
        "/hello.txt", "/data.json", "/images/dot.png", "/images/logo.svg", "/404.html",
    }
    routes = SITE["routes"]
    assert routes["/"] == routes["/index.html"]
    assert routes["/about/"] == routes["/about/index.html"]
    assert SITE["responses"][routes["/about"]][0] == 301
    assert set(SITE["errors"]) == {400, 404, 405, 414, 431, 505}


def test_table_is_plain_deterministic_data() -> None:
    again = build_site(tuple(reversed(FILES)))
    assert repr(again) == repr(SITE)
    assert ast.literal_eval(repr(SITE)) == SITE
    assert SITE["format"] == 1
    for row in SITE["responses"]:
        status, head, body, etag, not_modified = row
        assert isinstance(status, int) and isinstance(body, int)
        assert head.startswith(b"HTTP/1.1 %d " % status) and head.endswith(b"\r\n")
        assert not head.endswith(b"\r\n\r\n")
        assert b"date:" not in head.lower() and b"connection:" not in head.lower()
        assert b"content-length: %d\r\n" % len(SITE["bodies"][body]) in head.lower()
        assert (etag == b"") == (not_modified == b"")
    assert len(set(SITE["bodies"])) == len(SITE["bodies"])


def test_200_heads() -> None:
    for name, data in FILES:
        _, head, body, etag, not_modified = SITE["responses"][SITE["routes"]["/" + name]]
        assert SITE["bodies"][body] == data
        assert etag == b'"' + hashlib.sha256(data).hexdigest()[:32].encode() + b'"'
        assert etag == entity_tag(data)
        assert head == (
            b"HTTP/1.1 200 OK\r\n"
            + f"Content-Type: {content_type(name)}\r\n".encode()
            + f"Content-Length: {len(data)}\r\n".encode()
            + b"ETag: " + etag + b"\r\n"
            + b"Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n")
        assert not_modified == (b"HTTP/1.1 304 Not Modified\r\nETag: " + etag
                                + b"\r\nCache-Control: no-cache\r\n")


@pytest.mark.parametrize(("name", "expected"), [
    ("index.html", "text/html; charset=utf-8"),
    ("a/b.HTM", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("data.json", "application/json"),
    ("notes.txt", "text/plain; charset=utf-8"),
    ("logo.svg", "image/svg+xml"),
    ("dot.PNG", "image/png"),
    ("photo.jpg", "image/jpeg"),
    ("photo.jpeg", "image/jpeg"),
    ("anim.gif", "image/gif"),
    ("favicon.ico", "image/vnd.microsoft.icon"),
    ("mod.wasm", "application/wasm"),
    ("feed.xml", "application/xml"),
    ("paper.pdf", "application/pdf"),
    ("font.woff2", "font/woff2"),
    ("archive.tar.gz", "application/octet-stream"),
    ("Makefile", "application/octet-stream"),
    (".htaccess", "application/octet-stream"),
    ("dir.d/README", "application/octet-stream"),
])
def test_content_types(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_mapping_rules() -> None:
    site = build_site((
        ("a/b/index.html", b"deep"),
        ("docs/guide.txt", b"no index here"),
        ("x", b"a file named x"),
        ("x.d/index.html", b"dir"),
    ))
    routes = site["routes"]
    assert set(routes) == {"/a/b", "/a/b/", "/a/b/index.html", "/docs/guide.txt", "/x",
                           "/x.d", "/x.d/", "/x.d/index.html"}
    assert "/" not in routes and "/docs/" not in routes and "/a/" not in routes
    status, head, _, _, _ = site["responses"][routes["/a/b"]]
    assert status == 301 and b"\r\nLocation: /a/b/\r\n" in head
    # A file wins over a directory redirect (impossible on disk, possible as data).
    site = build_site((("about", b"file"), ("about/index.html", b"page")))
    assert site["responses"][site["routes"]["/about"]][0] == 200
    # Names needing escapes: routes are decoded, Location is encoded.
    site = build_site((("my dir/index.html", b"spaced"),))
    assert "/my dir/" in site["routes"]
    assert b"Location: /my%20dir/\r\n" in site["responses"][site["routes"]["/my dir"]][1]


def test_404_page() -> None:
    _, head, body, _, _ = SITE["responses"][SITE["errors"][404]]
    assert SITE["bodies"][body] == CONTENTS["404.html"]
    assert b"Content-Type: text/html; charset=utf-8\r\n" in head
    plain = build_site((("index.html", b"hi"),))
    _, head, body, _, _ = plain["responses"][plain["errors"][404]]
    assert plain["bodies"][body] == b"404 Not Found\n"
    assert b"Content-Type: text/plain; charset=utf-8\r\n" in head
    _, head, _, _, _ = plain["responses"][plain["errors"][405]]
    assert b"\r\nAllow: GET, HEAD\r\n" in head


@pytest.mark.parametrize("files", [
    (("/abs", b""),),
    (("a/../b", b""),),
    (("./a", b""),),
    (("a//b", b""),),
    (("dir/", b""),),
    (("", b""),),
    (("a\0b", b""),),
    (("bad\udcff", b""),),
    (("same", b"1"), ("same", b"2")),
])
def test_bad_file_names(files: tuple[tuple[str, bytes], ...]) -> None:
    with pytest.raises(ValueError):
        build_site(files)


def test_empty_site() -> None:
    site = build_site(())
    consumed, response, close = handle(site, request("/"))
    assert consumed == len(request("/")) and not close
    assert parse_responses(response)[0].status == 404


# --- the engine: serving ------------------------------------------------------


@pytest.mark.parametrize(("target", "name"), [
    ("/", "index.html"),
    ("/index.html", "index.html"),
    ("/about/", "about/index.html"),
    ("/about/index.html", "about/index.html"),
    ("/style.css", "style.css"),
    ("/hello.txt", "hello.txt"),
    ("/data.json", "data.json"),
    ("/images/dot.png", "images/dot.png"),
    ("/images/logo.svg", "images/logo.svg"),
])
def test_get_serves_files(target: str, name: str) -> None:
    response, close = one(request(target))
    assert not close
    assert response.status == 200 and response.reason == "OK"
    assert response.body == CONTENTS[name]
    assert response.header("Content-Type") == content_type(name)
    assert response.header("Content-Length") == str(len(CONTENTS[name]))
    assert response.header("ETag") == entity_tag(CONTENTS[name]).decode()
    assert response.header("Connection") is None  # HTTP/1.1 keeps it by default
    assert response.header("Date") is None


def test_head_is_get_without_body() -> None:
    get, _ = one(request("/style.css"))
    head, close = one(request("/style.css", "HEAD"), head_only=True)
    assert not close
    assert head.status == 200 and head.body == b""
    assert head.headers == get.headers
    missing, _ = one(request("/nope", "HEAD"), head_only=True)
    assert missing.status == 404 and missing.body == b""


def test_directory_without_slash_redirects() -> None:
    response, close = one(request("/about"))
    assert response.status == 301 and not close
    assert response.header("Location") == "/about/"
    response, _ = one(request("/about?x=1"))
    assert response.status == 301


@pytest.mark.parametrize("target", [
    "/nope", "/images", "/images/", "/INDEX.HTML", "//", "/index.html/", "/./index.html",
    "/about/index.htm",
])
def test_not_found(target: str) -> None:
    response, close = one(request(target))
    assert response.status == 404 and not close
    assert response.body == CONTENTS["404.html"]


@pytest.mark.parametrize(("target", "name"), [
    ("/hello%2Etxt", "hello.txt"),
    ("/hello%2etxt", "hello.txt"),
    ("/%68ello.txt", "hello.txt"),
    ("/images%2Fdot.png", "images/dot.png"),
    ("/hello.txt?download=1&x=%zz", "hello.txt"),
    ("/?", "index.html"),
    ("http://example.org/hello.txt", "hello.txt"),
    ("HTTP://example.org:8080/hello.txt?q", "hello.txt"),
    ("http://example.org", "index.html"),
    ("http://example.org?q=1", "index.html"),
])
def test_targets(target: str, name: str) -> None:
    response, _ = one(request(target))
    assert response.status == 200
    assert response.body == CONTENTS[name]


def test_percent_decoded_names() -> None:
    site = build_site((("my file.txt", b"spaced"), ("caf\u00e9.txt", b"utf8")))
    for target, body in (("/my%20file.txt", b"spaced"), ("/caf%C3%A9.txt", b"utf8")):
        _, responses, _ = ask(request(target), site=site)
        assert responses[0].status == 200 and responses[0].body == body


@pytest.mark.parametrize("target", [
    "/../etc/passwd", "/about/../index.html", "/..", "/%2e%2e/etc/passwd", "/%2E%2E",
    "/a/%2e%2e/index.html", "/index.html%00", "/%00", "/%zz", "/%4", "/%", "/abc%",
    "/%ff", "/%C3", "*", "index.html", "http:///x", "/a#frag", "ftp://host/x",
])
def test_bad_targets(target: str) -> None:
    data = request(target) + request("/")
    consumed, responses, close = ask(data)
    assert consumed == len(data) and close
    assert [r.status for r in responses] == [400]
    assert responses[0].header("Connection") == "close"


# --- conditional requests ----------------------------------------------------

ETAG = entity_tag(CONTENTS["style.css"]).decode()


@pytest.mark.parametrize("value", [
    ETAG, "*", f'"x", {ETAG}', f'"x",{ETAG} , "y"', f"W/{ETAG}", f' {ETAG} ', f'"a,b", {ETAG}',
])
def test_if_none_match_hits(value: str) -> None:
    for method in ("GET", "HEAD"):
        response, close = one(request("/style.css", method,
                                      headers=("Host: h", f"If-None-Match: {value}")))
        assert response.status == 304 and not close
        assert response.reason == "Not Modified"
        assert response.body == b""
        assert response.header("ETag") == ETAG
        assert response.header("Content-Length") is None


def test_if_none_match_in_several_fields() -> None:
    response, _ = one(request("/style.css", headers=(
        "Host: h", 'If-None-Match: "other"', f"if-none-match: {ETAG}")))
    assert response.status == 304


@pytest.mark.parametrize("value", [
    '"other"', ETAG[:-2] + '"', ETAG[1:-1], f"{ETAG[:-1]}", "", "**", 'W/"x", junk ' + ETAG,
    entity_tag(CONTENTS["hello.txt"]).decode(),
])
def test_if_none_match_misses(value: str) -> None:
    response, _ = one(request("/style.css", headers=("Host: h", f"If-None-Match: {value}")))
    assert response.status == 200
    assert response.body == CONTENTS["style.css"]


def test_if_none_match_on_redirects_and_404() -> None:
    for target, status in (("/about", 301), ("/nope", 404)):
        response, _ = one(request(target, headers=("Host: h", "If-None-Match: *")))
        assert response.status == status


# --- connections, pipelining, incremental input --------------------------------


def test_keep_alive_rules() -> None:
    cases: list[tuple[str, tuple[str, ...], bool, str | None]] = [
        ("HTTP/1.1", ("Host: h",), False, None),
        ("HTTP/1.1", ("Host: h", "Connection: close"), True, "close"),
        ("HTTP/1.1", ("Host: h", "Connection: Upgrade, CLOSE"), True, "close"),
        ("HTTP/1.1", ("Host: h", "Connection: keep-alive"), False, None),
        ("HTTP/1.0", (), True, "close"),
        ("HTTP/1.0", ("Connection: keep-alive",), False, "keep-alive"),
        ("HTTP/1.0", ("Connection: Keep-Alive",), False, "keep-alive"),
        ("HTTP/1.0", ("Connection: keep-alive, close",), True, "close"),
        ("HTTP/1.9", ("Host: h",), False, None),  # a later 1.x minor: 1.1 semantics
    ]
    for version, headers, close_expected, header in cases:
        for target in ("/", "/nope"):
            data = request(target, version=version, headers=headers) + request("/")
            consumed, responses, close = ask(data)
            assert close == close_expected, (version, headers)
            assert responses[0].header("Connection") == header, (version, headers)
            if close:
                assert consumed == len(data) and len(responses) == 1
            else:
                assert consumed == len(data) and len(responses) == 2


def test_pipelined_requests() -> None:
    data = (request("/") + request("/style.css", "HEAD") + request("/nope")
            + request("/about") + request("/hello.txt", headers=("Host: h", f"If-None-Match: {ETAG}"))
            + request("/data.json"))
    consumed, responses, close = ask(data, [False, True, False, False, False, False])
    assert consumed == len(data) and not close
    assert [r.status for r in responses] == [200, 200, 404, 301, 200, 200]
    assert responses[1].body == b""
    assert responses[5].body == CONTENTS["data.json"]


def test_pipeline_stops_at_close() -> None:
    data = request("/", headers=("Host: h", "Connection: close")) + request("/style.css")
    consumed, responses, close = ask(data)
    assert consumed == len(data) and close
    assert [r.status for r in responses] == [200]


def test_incomplete_requests_consume_nothing() -> None:
    full = request("/hello.txt")
    for cut in range(len(full)):
        assert handle(SITE, full[:cut]) == (0, b"", False), full[:cut]
    first = request("/")
    consumed, response, close = handle(SITE, first + full[:-1])
    assert consumed == len(first) and not close
    assert [r.status for r in parse_responses(response)] == [200]


def test_blank_lines_before_a_request() -> None:
    assert handle(SITE, b"\r\n\n\r\n") == (5, b"", False)
    assert handle(SITE, b"\r\n\r") == (2, b"", False)
    response, _ = one(b"\r\n\r\n" + request("/"))
    assert response.status == 200


def test_bare_lf_line_endings() -> None:
    response, close = one(b"GET /hello.txt HTTP/1.1\nHost: h\n\n")
    assert response.status == 200 and not close


def test_byte_by_byte_equals_all_at_once() -> None:
    stream = (request("/") + request("/about", "HEAD") + request("/x%20y")
              + request("/style.css", headers=("Host: h", f"If-None-Match: {ETAG}")))
    _, whole, _ = handle(SITE, stream)
    assert feed(stream, [1] * len(stream)) == (whole, False)


def feed(stream: bytes, chunks: list[int]) -> tuple[bytes, bool]:
    """Deliver `stream` in chunks of the given sizes (then the rest), as a server would."""
    out = b""
    buffer = b""
    pos = 0
    sizes = [*chunks, len(stream)]
    for size in sizes:
        if pos >= len(stream):
            break
        buffer += stream[pos:pos + size]
        pos += size
        consumed, response, close = handle(SITE, buffer)
        out += response
        if close:
            return out, True
        buffer = buffer[consumed:]
    return out, False


# --- limits -------------------------------------------------------------------------


def test_request_line_limit() -> None:
    pad = MAX_REQUEST_LINE - len("GET / HTTP/1.1")
    at_limit = request("/" + "a" * pad)
    assert at_limit.index(b"\r\n") == MAX_REQUEST_LINE
    response, close = one(at_limit)
    assert response.status == 404 and not close
    response, close = one(request("/" + "a" * (pad + 1)))
    assert response.status == 414 and close
    assert response.reason == "URI Too Long"
    # No line end yet, but already too long: no need to wait for the rest.
    partial = b"GET /" + b"a" * MAX_REQUEST_LINE
    consumed, responses, close = ask(partial)
    assert consumed == len(partial) and close and responses[0].status == 414
    assert handle(SITE, partial[:MAX_REQUEST_LINE]) == (0, b"", False)


def test_header_section_limit() -> None:
    fixed = len("Host: h\r\nX-Pad: \r\n\r\n")
    at_limit = request("/", headers=("Host: h", "X-Pad: " + "p" * (MAX_HEADER_BYTES - fixed)))
    assert len(at_limit) - at_limit.index(b"\r\n") - 2 == MAX_HEADER_BYTES
    response, close = one(at_limit)
    assert response.status == 200 and not close
    over = request("/", headers=("Host: h", "X-Pad: " + "p" * (MAX_HEADER_BYTES - fixed + 1)))
    response, close = one(over)
    assert response.status == 431 and close
    partial = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-Pad: p\r\n" * (MAX_HEADER_BYTES // 10)
    consumed, responses, close = ask(partial)
    assert consumed == len(partial) and close and responses[0].status == 431


def test_header_count_limit() -> None:
    headers = ("Host: h", *(f"X-{i}: {i}" for i in range(MAX_HEADERS - 1)))
    response, _ = one(request("/", headers=headers))
    assert response.status == 200
    response, close = one(request("/", headers=(*headers, "X-Last: 1")))
    assert response.status == 431 and close
    assert response.reason == "Request Header Fields Too Large"


# --- methods and bodies ------------------------------------------------------


def test_other_methods_get_405() -> None:
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW", "get", "CONNECT"):
        data = request("/", method) + request("/")
        consumed, responses, close = ask(data)
        assert consumed == len(data) and not close
        assert [r.status for r in responses] == [405, 200]
        assert responses[0].header("Allow") == "GET, HEAD"
    data = request("/", "POST", headers=("Host: h", "Content-Length: 3")) + b"a=1" + request("/")
    consumed, responses, close = ask(data)
    assert consumed == len(data) and close and [r.status for r in responses] == [405]
    _, responses, close = ask(request("*", "OPTIONS"))
    assert responses[0].status == 405 and not close


@pytest.mark.parametrize("headers", [
    ("Content-Length: 0",), ("Content-Length: 000",), ("Content-Length: 0, 0",),
    ("Content-Length: 0", "Content-Length: 0"),
])
def test_empty_bodies_are_fine(headers: tuple[str, ...]) -> None:
    response, close = one(request("/", headers=("Host: h", *headers)))
    assert response.status == 200 and not close


@pytest.mark.parametrize("headers", [
    ("Content-Length: 5",),
    ("Transfer-Encoding: chunked",),
    ("Content-Length: abc",),
    ("Content-Length: -1",),
    ("Content-Length: +0",),
    ("Content-Length:",),
    ("Content-Length: 1 2",),
    ("Content-Length: 0, 1",),
    ("Content-Length: 0", "Content-Length: 1"),
    ("Content-Length: " + "9" * 5000,),
])
def test_request_bodies_are_rejected(headers: tuple[str, ...]) -> None:
    for method in ("GET", "HEAD"):
        data = request("/", method, headers=("Host: h", *headers)) + b"hello"
        consumed, responses, close = ask(data, [method == "HEAD"])
        assert consumed == len(data) and close
        assert [r.status for r in responses] == [400]


# --- malformed requests ----------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\n\r\n",  # no Host
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
    b"GET / HTTP/1.1\r\n Host: h\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\x7f\r\n\r\n",
    b"GET / HTTP/1.1\r\nX\x80: y\r\nHost: h\r\n\r\n",
    b"GET /\r\n\r\n",  # HTTP/0.9
    b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
    b" GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET / http/1.1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.10\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/a.1\r\nHost: h\r\n\r\n",
    b"GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n",
    b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1\r\r\nHost: h\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello: no need to wait
    b"\x00\x00\x00\x00",
    b"GET /\x00",
    b"GET  /",
])
def test_malformed_requests_get_400_and_close(data: bytes) -> None:
    consumed, responses, close = ask(data + request("/"))
    assert consumed == len(data) + len(request("/")) and close
    assert [r.status for r in responses] == [400]
    assert responses[0].header("Connection") == "close"


def test_http_1_0_needs_no_host() -> None:
    response, close = one(b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert response.status == 200 and close


def test_other_major_versions_get_505() -> None:
    for data in (request("/", version="HTTP/2.0"), request("/", version="HTTP/0.9"),
                 b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
        consumed, responses, close = ask(data)
        assert consumed == len(data) and close
        assert [r.status for r in responses] == [505]


def test_safety_net_answers_400_on_a_broken_table() -> None:
    broken = dict(SITE)
    broken["routes"] = None
    consumed, response, close = handle(broken, request("/"))
    assert consumed == len(request("/")) and close
    assert parse_responses(response)[0].status == 400
    with pytest.raises(AttributeError):
        handle_requests(broken, request("/"))


# --- fuzzing ------------------------------------------------------------------------

VALID = [
    request("/"),
    request("/about", "HEAD"),
    request("/style.css", headers=("Host: h", f"If-None-Match: W/{ETAG}, *", "Connection: close")),
    request("/hello%2Etxt?x=1", version="HTTP/1.0", headers=("Connection: keep-alive",)),
    request("/", "POST", headers=("Host: h", "Content-Length: 4")) + b"body",
    request("http://h/data.json", headers=("Host: h", "Content-Length: 0")),
    b"\r\nGET /images/dot.png HTTP/1.1\nHost: h\n\n",
]
TOKENS = [b"\r", b"\n", b"\r\n", b"\r\n\r\n", b" ", b"%", b"%2e", b"%00", b"..", b"/", b":",
          b"\x00", b"\xff", b"HTTP/1.0", b"HTTP/2.0", b"HEAD", b"Content-Length: 9\r\n",
          b"Transfer-Encoding: chunked\r\n", b"Connection: close\r\n", b"If-None-Match: *\r\n",
          b"Host: x\r\n", b"\t", b",", b'"', b"W/"]
piece = st.one_of(st.binary(max_size=6), st.sampled_from(TOKENS))
mutation = st.tuples(st.integers(0, 4096), st.sampled_from(["insert", "delete", "replace"]),
                     piece)


def mutate(data: bytes, mutations: list[tuple[int, str, bytes]]) -> bytes:
    for at, kind, what in mutations:
        at = at % (len(data) + 1)
        if kind == "insert":
            data = data[:at] + what + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + len(what) + 1:]
        else:
            data = data[:at] + what + data[at + len(what):]
    return data


def check_invariants(data: bytes) -> None:
    consumed, response, close = handle_requests(SITE, data)
    assert 0 <= consumed <= len(data)
    if close:
        assert consumed == len(data) and response
    if consumed == 0:
        assert response == b"" and not close
    responses = parse_responses(response)
    for index, answer in enumerate(responses):
        assert answer.status in (200, 301, 304, 400, 404, 405, 414, 431, 505)
        closing = answer.header("Connection") == "close"
        assert closing == (close and index == len(responses) - 1)
    if not close:
        assert handle_requests(SITE, data[consumed:]) == (0, b"", False)
    assert handle(SITE, data) == (consumed, response, close)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(data: bytes) -> None:
    check_invariants(data)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=4), st.lists(mutation, max_size=6))
def test_fuzz_mutated_requests(requests: list[bytes], mutations: list[tuple[int, str, bytes]]) -> None:
    check_invariants(mutate(b"".join(requests), mutations))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(VALID[:4] + VALID[5:]), min_size=1, max_size=5),
       st.lists(st.integers(1, 64), max_size=40))
def test_fuzz_chunking_does_not_matter(requests: list[bytes], chunks: list[int]) -> None:
    stream = b"".join(requests)
    _, whole, close = handle(SITE, stream)
    assert feed(stream, chunks) == (whole, close)


# --- over a real socket ----------------------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Connection)
        self.connections = 0
        self.lock = threading.Lock()


class _Connection(socketserver.BaseRequestHandler):
    """What `http_server` does on each connection, with a blocking socket."""

    server: _Server

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        sock: socket.socket = self.request
        sock.settimeout(10)
        buffer = b""
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            consumed, response, close = http_engine.handle(SITE, buffer)
            if response:
                sock.sendall(response)
            if close:
                return
            buffer = buffer[consumed:]


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def port_of(srv: _Server) -> int:
    port: int = srv.server_address[1]
    return port


def test_http_client(server: _Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=10)
    try:
        conn.request("GET", "/")
        first = conn.getresponse()
        assert first.status == 200
        assert first.read() == CONTENTS["index.html"]
        assert first.getheader("Content-Type") == "text/html; charset=utf-8"
        sock = conn.sock

        conn.request("GET", "/about/")  # the same connection: keep-alive
        second = conn.getresponse()
        assert second.status == 200 and second.read() == CONTENTS["about/index.html"]
        assert conn.sock is sock

        conn.request("HEAD", "/images/dot.png")
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b""
        assert head.getheader("Content-Length") == str(len(CONTENTS["images/dot.png"]))
        assert head.getheader("Content-Type") == "image/png"
        etag = head.getheader("ETag")
        assert etag is not None

        conn.request("GET", "/images/dot.png", headers={"If-None-Match": etag})
        cached = conn.getresponse()
        assert cached.status == 304 and cached.read() == b""

        conn.request("GET", "/missing.html")
        missing = conn.getresponse()
        assert missing.status == 404 and missing.read() == CONTENTS["404.html"]

        conn.request("POST", "/", body=b"")
        post = conn.getresponse()
        assert post.status == 405 and post.getheader("Allow") == "GET, HEAD"
        post.read()
        assert conn.sock is sock
    finally:
        conn.close()
    assert server.connections == 1


def test_http_client_connection_close(server: _Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=10)
    try:
        conn.request("GET", "/hello.txt", headers={"Connection": "close"})
        response = conn.getresponse()
        assert response.status == 200 and response.read() == CONTENTS["hello.txt"]
        assert response.will_close
    finally:
        conn.close()


def test_raw_socket_pipelining_and_garbage(server: _Server) -> None:
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(request("/") + request("/style.css", "HEAD") + request("/about"))
        sock.sendall(b"GET /data.json HT")
        sock.sendall(b"TP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    responses = parse_responses(data, [False, True, False, False])
    assert [r.status for r in responses] == [200, 200, 301, 200]
    assert responses[3].body == CONTENTS["data.json"]
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert [r.status for r in parse_responses(data)] == [400]


CURL = shutil.which("curl")


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert CURL is not None
    return subprocess.run([CURL, "-sS", "--max-time", "10", *args], capture_output=True,
                          timeout=30, check=False)


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl(server: _Server) -> None:
    base = f"http://127.0.0.1:{port_of(server)}"
    done = curl(f"{base}/", f"{base}/style.css")  # two transfers, one connection
    assert done.returncode == 0, done.stderr
    assert done.stdout == CONTENTS["index.html"] + CONTENTS["style.css"]
    assert server.connections == 1

    done = curl("-I", f"{base}/images/logo.svg")
    assert done.returncode == 0, done.stderr
    head = parse_responses(done.stdout, [True])[0]
    assert head.status == 200 and head.header("Content-Type") == "image/svg+xml"
    etag = head.header("ETag")
    assert etag is not None

    done = curl("-i", "-H", f"If-None-Match: {etag}", f"{base}/images/logo.svg")
    assert parse_responses(done.stdout)[0].status == 304

    done = curl("-o", os.devnull, "-w", "%{http_code}", f"{base}/nope")
    assert done.stdout == b"404"

    done = curl("-L", f"{base}/about")
    assert done.returncode == 0 and done.stdout == CONTENTS["about/index.html"]

    done = curl("--http1.0", "-i", f"{base}/hello.txt")
    response = parse_responses(done.stdout)[0]
    assert response.status == 200 and response.body == CONTENTS["hello.txt"]
    assert response.header("Connection") == "close"

    done = curl("--path-as-is", "-o", os.devnull, "-w", "%{http_code}",
                f"{base}/about/../index.html")
    assert done.stdout == b"400"

    done = curl("-X", "DELETE", "-i", f"{base}/")
    response = parse_responses(done.stdout)[0]
    assert response.status == 405 and response.header("Allow") == "GET, HEAD"
