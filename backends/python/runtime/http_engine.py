"""HTTP/1.1 over byte buffers: the request parser and responder of `http_server`.

Pure functions, no sockets, standard library only: the specializer pastes this
module into generated programs.  The responses themselves were built at compile
time (``backends/http/precompute.py``, whose docstring describes the ``site``
table); here a request is parsed, checked and answered with one of them.

``handle(site, buffer) -> (consumed, response, close_after)``:

* ``buffer`` holds what a connection has sent and nobody has consumed yet;
  every complete request in it is answered, in order (pipelining), and
  ``response`` is their answers concatenated.  ``consumed`` is how many bytes
  of ``buffer`` those requests took: the caller drops them and keeps the rest
  for the next call.  An incomplete request consumes nothing (0 when it is the
  first).  Blank lines before a request line are skipped (RFC 9112 section 2.2).
* ``close_after``: send ``response``, then close the connection.  When it is
  set, ``consumed == len(buffer)``: whatever followed is discarded.
* It never raises, whatever the bytes.

What it accepts and how it answers:

* ``GET`` and ``HEAD`` (HEAD: the same head, no body).  Any other method
  (syntactically a token): 405 with ``Allow: GET, HEAD``; the connection is
  kept unless the request announces a body (which is not read), then closed.
* Request targets in origin form (``/path?query``) and absolute form
  (``http://host/path``); the query is ignored.  The path is percent-decoded
  (a bad escape, NUL, invalid UTF-8, a ``..`` segment: 400) and looked up
  as is in ``site["routes"]``: 404 when absent.
* ``If-None-Match`` (``*``, one or a list of tags, weak or strong, compared
  weakly as RFC 9110 section 13.1.2 says): 304 when it matches the ETag.
* HTTP/1.1 keeps the connection unless ``Connection: close``; HTTP/1.0 closes
  it unless ``Connection: keep-alive`` (answered with the same header).  An
  HTTP/1.1 request needs exactly one ``Host`` (RFC 9112 section 3.2: else 400).
  Other 1.x minor versions are treated as 1.1; another major version: 505.
* Limits: a request line over ``MAX_REQUEST_LINE`` bytes: 414; a header
  section over ``MAX_HEADER_BYTES`` bytes or with more than ``MAX_HEADERS``
  fields: 431; both close the connection.
* Request bodies: a static site has no use for one, so a GET or HEAD with
  ``Content-Length`` > 0 or any ``Transfer-Encoding`` gets 400 and the
  connection is closed (no bytes are buffered for a body, and there is no
  doubt about where the next request starts).  ``Content-Length: 0`` is fine.
* Anything malformed (request line, header syntax, obsolete line folding,
  bare CR, bad ``Content-Length``): 400 and close.  A line may end in CRLF or
  a bare LF.
"""

from __future__ import annotations

from typing import Any

MAX_REQUEST_LINE = 8 * 1024  # bytes, without the line ending
MAX_HEADER_BYTES = 16 * 1024  # the header section with its line endings and the empty line
MAX_HEADERS = 100

_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789"
                   b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_CLOSE = b"Connection: close\r\n"
_KEEP_ALIVE = b"Connection: keep-alive\r\n"

# One answer: (end of the request in the buffer, response bytes, close after it).
_Answer = tuple[int, bytes, bool]


def handle(site: dict[str, Any], buffer: bytes) -> tuple[int, bytes, bool]:
    """Answer every complete request at the start of ``buffer`` (see the module docstring)."""
    try:
        return handle_requests(site, buffer)
    except Exception:  # a last resort: the parser is meant never to get here
        return len(buffer), _error(site, 400, False, True), True


def handle_requests(site: dict[str, Any], buffer: bytes) -> tuple[int, bytes, bool]:
    """`handle` without its safety net (for tests: it must not raise either)."""
    size = len(buffer)
    pos = 0
    out: list[bytes] = []
    while pos < size:
        # Empty lines before a request line are ignored.
        if buffer.startswith(b"\r\n", pos):
            pos += 2
            continue
        if buffer[pos] == 0x0A:
            pos += 1
            continue
        answer = _one(site, buffer, pos)
        if answer is None:
            break
        end, response, close = answer
        out.append(response)
        if close:
            return size, b"".join(out), True
        pos = end
    return pos, b"".join(out), False


def _line_end(buffer: bytes, start: int, stop: int) -> int:
    """Index of the LF ending the line at ``start`` (searched below ``stop``), or -1."""
    return buffer.find(b"\n", start, stop)


def _one(site: dict[str, Any], buffer: bytes, start: int) -> _Answer | None:
    """Answer the request at ``start``, or None while it is incomplete."""
    size = len(buffer)
    # The request line: at most MAX_REQUEST_LINE bytes, then CRLF or LF.
    eol = _line_end(buffer, start, start + MAX_REQUEST_LINE + 2)
    if eol < 0:
        partial = buffer[start:start + MAX_REQUEST_LINE + 2]
        if len(partial) > MAX_REQUEST_LINE + 1:
            return size, _error(site, 414, False, True), True
        if not _plausible_start(partial):
            return size, _error(site, 400, False, True), True
        return None
    line = buffer[start:eol]
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > MAX_REQUEST_LINE:
        return size, _error(site, 414, False, True), True
    request = _request_line(line)
    if request is None:
        return size, _error(site, 400, False, True), True
    method, target, major, minor = request
    head_only = method == b"HEAD"

    # The header section, up to and including the empty line.
    fields_start = eol + 1
    limit = fields_start + MAX_HEADER_BYTES
    pos = fields_start
    fields: list[tuple[bytes, bytes]] = []
    while True:
        eol = _line_end(buffer, pos, limit)
        if eol < 0:
            if size >= limit:
                return size, _error(site, 431, head_only, True), True
            return None
        field = buffer[pos:eol]
        pos = eol + 1
        if field.endswith(b"\r"):
            field = field[:-1]
        if not field:
            break
        if len(fields) == MAX_HEADERS:
            return size, _error(site, 431, head_only, True), True
        parsed = _field(field)
        if parsed is None:
            return size, _error(site, 400, head_only, True), True
        fields.append(parsed)
    end = pos

    if major != 1:
        return size, _error(site, 505, head_only, True), True
    # Header fields this server acts on (names compared case-insensitively).
    hosts = 0
    lengths: list[bytes] = []
    chunked = False
    connection: list[bytes] = []
    if_none_match: list[bytes] = []
    for name, value in fields:
        name = name.lower()
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"connection":
            connection.extend(t.strip(b" \t").lower() for t in value.split(b","))
        elif name == b"if-none-match":
            if_none_match.append(value)
    if hosts > 1 or (hosts == 0 and minor >= 1):
        return size, _error(site, 400, head_only, True), True
    length = _content_length(lengths)
    if length is None:
        return size, _error(site, 400, head_only, True), True
    has_body = chunked or length > 0
    if minor >= 1:
        close = b"close" in connection
    else:
        close = b"keep-alive" not in connection or b"close" in connection
    keep_alive_header = minor == 0 and not close

    if method not in (b"GET", b"HEAD"):
        close = close or has_body
        return end, _error(site, 405, False, close, keep_alive_header), close
    if has_body:
        return size, _error(site, 400, head_only, True), True
    path = _path(target)
    if path is None:
        return size, _error(site, 400, head_only, True), True
    index = site["routes"].get(path)
    if index is None:
        return end, _error(site, 404, head_only, close, keep_alive_header), close
    _, head, body, etag, not_modified = site["responses"][index]
    if etag and if_none_match and _matches(if_none_match, etag):
        return end, _finish(not_modified, b"", close, keep_alive_header), close
    payload = b"" if head_only else site["bodies"][body]
    return end, _finish(head, payload, close, keep_alive_header), close


def _finish(head: bytes, body: bytes, close: bool, keep_alive_header: bool) -> bytes:
    if close:
        return head + _CLOSE + b"\r\n" + body
    if keep_alive_header:
        return head + _KEEP_ALIVE + b"\r\n" + body
    return head + b"\r\n" + body


def _error(site: dict[str, Any], status: int, head_only: bool, close: bool,
           keep_alive_header: bool = False) -> bytes:
    _, head, body, _, _ = site["responses"][site["errors"][status]]
    return _finish(head, b"" if head_only else site["bodies"][body], close, keep_alive_header)


def _plausible_start(partial: bytes) -> bool:
    """Whether an unfinished request line could still become a valid one.

    Lets bytes that are no HTTP at all (a TLS handshake, binary noise) get
    their 400 at once instead of after MAX_REQUEST_LINE bytes.
    """
    if partial.endswith(b"\r"):
        partial = partial[:-1]
    if any(c < 0x20 or c > 0x7E for c in partial):
        return False
    method, _, rest = partial.partition(b" ")
    return all(c in _TCHAR for c in method) and (not rest or not rest.startswith(b" "))


def _request_line(line: bytes) -> tuple[bytes, bytes, int, int] | None:
    """(method, target, major, minor) of ``METHOD SP TARGET SP HTTP/D.D``, or None."""
    parts = line.split(b" ")
    if len(parts) != 3:
        return None
    method, target, version = parts
    if not method or any(c not in _TCHAR for c in method):
        return None
    if not target or any(c <= 0x20 or c >= 0x7F for c in target):
        return None
    if (len(version) != 8 or not version.startswith(b"HTTP/") or version[6] != 0x2E
            or not (0x30 <= version[5] <= 0x39) or not (0x30 <= version[7] <= 0x39)):
        return None
    return method, target, version[5] - 0x30, version[7] - 0x30


def _field(line: bytes) -> tuple[bytes, bytes] | None:
    """(name, value) of ``NAME ":" OWS VALUE OWS``, or None when malformed."""
    name, colon, value = line.partition(b":")
    if not colon or not name or any(c not in _TCHAR for c in name):
        return None  # also obsolete line folding: the line starts with SP or HTAB
    value = value.strip(b" \t")
    if any((c < 0x20 and c != 0x09) or c == 0x7F for c in value):
        return None  # CTLs, and so a CR that does not end the line
    return name, value


def _content_length(values: list[bytes]) -> int | None:
    """The request's Content-Length (0 when absent), or None when invalid or conflicting."""
    if not values:
        return 0
    items = [item.strip(b" \t") for value in values for item in value.split(b",")]
    first = items[0]
    if not first or len(first) > 18 or not first.isdigit() or any(i != first for i in items):
        return None
    return int(first)


def _path(target: bytes) -> str | None:
    """The percent-decoded path of a request target, or None when it is not acceptable."""
    lowered = target[:8].lower()
    if lowered.startswith(b"http://") or lowered.startswith(b"https://"):
        rest = target[target.index(b"//") + 2:]
        cut = min((i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0), default=len(rest))
        if cut == 0:
            return None  # no authority
        target = rest[cut:]
        if not target.startswith(b"/"):
            target = b"/" + target
    elif not target.startswith(b"/"):
        return None
    if b"#" in target:
        return None
    raw = target.split(b"?", 1)[0]
    decoded = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:  # %
            if i + 2 >= len(raw):
                return None
            hi, lo = raw[i + 1], raw[i + 2]
            if hi not in _HEX or lo not in _HEX:
                return None
            decoded.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            decoded.append(c)
            i += 1
    if 0 in decoded:
        return None
    try:
        path = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if ".." in path.split("/"):
        return None
    return path


def _matches(values: list[bytes], etag: bytes) -> bool:
    """Whether If-None-Match field values match ``etag`` (weak comparison).

    A malformed field is ignored (it matches nothing).
    """
    opaque = etag[2:] if etag.startswith(b"W/") else etag
    for value in values:
        if value.strip(b" \t") == b"*":
            return True
        pos = 0
        size = len(value)
        while pos < size:
            c = value[pos]
            if c in b" \t,":
                pos += 1
                continue
            if value.startswith(b"W/", pos):
                pos += 2
            if pos >= size or value[pos] != 0x22:
                break  # malformed: ignore the rest of this field
            close = value.find(b'"', pos + 1)
            if close < 0:
                break
            if value[pos:close + 1] == opaque:
                return True
            pos = close + 1
    return False
