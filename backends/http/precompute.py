"""Compile-time responses of `http_server` over a `kv_ro` directory.

`build_site(files)` takes the baked directory -- ``(relative path, contents)``
pairs, `/`-separated, no leading `/` (``FilesV.files``) -- and returns every
response the server can ever send, complete but for the ``Connection`` header,
so the run-time engine only parses requests and copies bytes.  Nothing in it
depends on the time or on dictionary order: the same files give a byte-identical
table (and so a byte-identical image).

The table
---------
Plain data -- a dict of str/int keys, tuples, bytes and ints -- so that
``repr()`` embeds it in a generated Python file and a C backend can emit it
as arrays::

    {
      "format": 1,
      "bodies": (b"<!doctype html>...", b"body{...}", ...),
      "responses": (
          # (status, head, body, etag, not_modified)
          (200, b"HTTP/1.1 200 OK\\r\\nContent-Type: text/html; charset=utf-8\\r\\n...",
           0, b'"3f2a..."', b"HTTP/1.1 304 Not Modified\\r\\nETag: ...\\r\\n..."),
          (301, b"HTTP/1.1 301 Moved Permanently\\r\\nLocation: /about/\\r\\n...",
           4, b"", b""),
          ...
      ),
      "routes": {"/": 0, "/about": 1, "/about/": 2, "/about/index.html": 2, ...},
      "errors": {400: 7, 404: 8, 405: 9, 414: 10, 431: 11, 505: 12},
    }

* ``bodies``: every distinct response body once (an `index.html` served at
  ``/`` and ``/index.html`` is stored once).  Sorted by first use.
* ``responses``: distinct responses; a row is

  - ``status`` (int): 200, 301, or the error's status;
  - ``head`` (bytes): the status line and header lines, each ending in CRLF,
    *without* the final empty line: the engine appends ``Connection: close``
    or ``Connection: keep-alive`` when it must, then ``\\r\\n``;
  - ``body`` (int): index into ``bodies``; sent after the head except for
    HEAD requests (the head's ``Content-Length`` is the body's length either
    way);
  - ``etag`` (bytes): the strong entity tag with its quotes, as in the
    ``ETag`` header, or ``b""`` when the response has none (redirects, errors);
  - ``not_modified`` (bytes): the head of the 304 answer to an
    ``If-None-Match`` that matches ``etag`` (same convention as ``head``; a 304
    has no body), or ``b""``.

* ``routes``: URL path, percent-decoded, starting with ``/`` (query string
  removed) -> index into ``responses``.  Keys are sorted.
* ``errors``: status -> index into ``responses`` for 400 (bad request),
  404 (no such path), 405 (method other than GET/HEAD; carries
  ``Allow: GET, HEAD``), 414 (request line over the limit), 431 (header section
  over the limit or too many headers), 505 (HTTP major version other than 1).

URL mapping
-----------
* a file ``a/b.css`` is served at ``/a/b.css``;
* ``index.html`` is also served at ``/``, ``dir/index.html`` at ``/dir/``;
* ``/dir`` (no slash) for a directory with an ``index.html`` answers
  ``301 Moved Permanently`` with ``Location: /dir/``, as nginx and Apache do:
  relative links in the page resolve against the URL with the slash, so
  serving the page at ``/dir`` itself would break them;
* a directory without ``index.html`` is not listed: 404;
* a top-level ``404.html``, when there is one, is the body of the 404 response
  (``text/html``); otherwise a short plain-text body.

Headers
-------
200 responses carry ``Content-Type`` (by extension, see ``CONTENT_TYPES``;
``; charset=utf-8`` on ``text/*`` types), ``Content-Length``, a strong
``ETag`` (the quoted first 128 bits, in hex, of the SHA-256 of the contents),
``Cache-Control: no-cache`` (caches may keep the file but must revalidate with
``If-None-Match``, which costs a 304: a rebuilt image may change any file at
the same URL) and ``X-Content-Type-Options: nosniff``.

There is deliberately no ``Date`` header (RFC 9110 section 6.6.1 asks an
origin server with a clock for one): it would make every response depend on
the time, defeating both the byte-identical table and the copy-only engine.
No ``Last-Modified`` either (file times are not part of the image), so
conditional requests use ``If-None-Match`` only.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

FORMAT = 1

# Extension (lower case, without the dot) -> Content-Type.  `text/*` types get
# `; charset=utf-8` (see `content_type`).  JSON has no charset parameter
# (RFC 8259 section 11: it is always UTF-8).
CONTENT_TYPES: dict[str, str] = {
    "html": "text/html",
    "htm": "text/html",
    "css": "text/css",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "json": "application/json",
    "map": "application/json",
    "webmanifest": "application/manifest+json",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "xml": "application/xml",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "ico": "image/vnd.microsoft.icon",
    "wasm": "application/wasm",
    "pdf": "application/pdf",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "webm": "video/webm",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

INDEX = "index.html"
NOT_FOUND_PAGE = "404.html"

_REASONS: dict[int, str] = {
    200: "OK",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
}
ERROR_STATUSES = (400, 404, 405, 414, 431, 505)

_Response = tuple[int, bytes, int, bytes, bytes]


def content_type(path: str) -> str:
    """The Content-Type header value for a file name, by its extension."""
    name = path.rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return DEFAULT_CONTENT_TYPE
    kind = CONTENT_TYPES.get(name.rsplit(".", 1)[1].lower(), DEFAULT_CONTENT_TYPE)
    return kind + "; charset=utf-8" if kind.startswith("text/") else kind


def entity_tag(contents: bytes) -> bytes:
    """The strong ETag of a file: quoted hex of the first 128 bits of its SHA-256."""
    return b'"' + hashlib.sha256(contents).hexdigest()[:32].encode("ascii") + b'"'


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers)
    return "".join(lines).encode("latin-1")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"bad file name {name!r}: expected a non-empty relative path")
    if name.startswith("/") or name.endswith("/"):
        raise ValueError(f"bad file name {name!r}: no leading or trailing `/`")
    if "\0" in name:
        raise ValueError(f"bad file name {name!r}: contains NUL")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(f"bad file name {name!r}: empty, `.` or `..` path segment")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"bad file name {name!r}: not valid UTF-8") from None


class _Builder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.body_index: dict[bytes, int] = {}
        self.responses: list[_Response] = []
        self.response_index: dict[_Response, int] = {}

    def body(self, data: bytes) -> int:
        if data not in self.body_index:
            self.body_index[data] = len(self.bodies)
            self.bodies.append(data)
        return self.body_index[data]

    def response(self, row: _Response) -> int:
        if row not in self.response_index:
            self.response_index[row] = len(self.responses)
            self.responses.append(row)
        return self.response_index[row]

    def file(self, name: str, contents: bytes) -> int:
        tag = entity_tag(contents)
        etag = tag.decode("ascii")
        head = _head(200, [
            ("Content-Type", content_type(name)),
            ("Content-Length", str(len(contents))),
            ("ETag", etag),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ])
        not_modified = _head(304, [("ETag", etag), ("Cache-Control", "no-cache")])
        return self.response((200, head, self.body(contents), tag, not_modified))

    def redirect(self, location: str) -> int:
        target = quote(location, safe="/")
        body = f"<a href=\"{target}\">{target}</a>\n".encode("ascii")
        head = _head(301, [
            ("Location", target),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ])
        return self.response((301, head, self.body(body), b"", b""))

    def error(self, status: int, page: bytes | None) -> int:
        if page is None:
            body = f"{status} {_REASONS[status]}\n".encode("ascii")
            kind = "text/plain; charset=utf-8"
        else:
            body, kind = page, content_type(NOT_FOUND_PAGE)
        headers = [("Content-Type", kind), ("Content-Length", str(len(body)))]
        if status == 405:
            headers.append(("Allow", "GET, HEAD"))
        headers.append(("X-Content-Type-Options", "nosniff"))
        return self.response((status, _head(status, headers), self.body(body), b"", b""))


def build_site(files: tuple[tuple[str, bytes], ...]) -> dict[str, Any]:
    """The response table (see the module docstring) for a baked directory.

    Raises ValueError for a file name that is not a clean relative path
    (leading `/`, empty, `.` or `..` segment, NUL, not UTF-8) or that appears
    twice.
    """
    contents: dict[str, bytes] = {}
    for name, data in files:
        _check_name(name)
        if name in contents:
            raise ValueError(f"file {name!r} appears twice")
        contents[name] = bytes(data)

    # URL path -> ("file", name) | ("redirect", location); files win over redirects.
    plan: dict[str, tuple[str, str]] = {}
    for name in sorted(contents):
        plan["/" + name] = ("file", name)
    for name in sorted(contents):
        if name == INDEX or name.endswith("/" + INDEX):
            directory = "/" + name[: -len(INDEX)]  # "/" or "/dir/"
            plan.setdefault(directory, ("file", name))
            if directory != "/":
                plan.setdefault(directory[:-1], ("redirect", directory))

    builder = _Builder()
    routes: dict[str, int] = {}
    for path in sorted(plan):
        kind, what = plan[path]
        if kind == "file":
            routes[path] = builder.file(what, contents[what])
        else:
            routes[path] = builder.redirect(what)
    errors = {
        status: builder.error(status, contents.get(NOT_FOUND_PAGE) if status == 404 else None)
        for status in ERROR_STATUSES
    }
    return {
        "format": FORMAT,
        "bodies": tuple(builder.bodies),
        "responses": tuple(builder.responses),
        "routes": routes,
        "errors": errors,
    }
