"""Turning dnspython's zone file errors into located, explained problems.

dnspython reports ``FILE:LINE: message`` for syntax errors (its line can be
one past the record, see :func:`error_line`), and nothing but a message for
zone-level errors (a CNAME beside other data, no SOA, no origin).  Here each
error gets the line it is about, the columns of the token or data at fault
(the caret), the message, and a help line written for that error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.ttl
import dns.zone
import dns.zonefile


@dataclass(frozen=True)
class ZoneProblem:
    message: str
    hint: str | None = None
    line: int | None = None  # 1-based; None: about the zone as a whole
    columns: tuple[int, int] | None = None  # 0-based [start, end) in the line
    other_line: int | None = None  # a second line the problem involves


# What the data of common record types looks like (RFC 1035 section 3.3,
# RFC 3596, RFC 2782, RFC 8659).
RDATA_FORMS = {
    "A": "an IPv4 address, like `192.0.2.1`",
    "AAAA": "an IPv6 address, like `2001:db8::1`",
    "NS": "a host name, like `ns1` or `ns1.example.org.`",
    "CNAME": "one host name, like `www` or `www.example.org.`",
    "PTR": "one host name",
    "MX": "a preference and a host name, like `10 mail`",
    "TXT": "one or more quoted strings, like `\"v=spf1 -all\"`",
    "SOA": "the primary name server, the mailbox, then serial, refresh, retry, expire and "
    "minimum, like `ns1 hostmaster 1 7200 3600 1209600 300`",
    "SRV": "priority, weight, port and target, like `10 5 5060 sip`",
    "CAA": "flags, a tag and a quoted value, like `0 issue \"letsencrypt.org\"`",
}

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|[^\s;()"]+')


def _tokens(line: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each token of a zone line, up to its comment."""
    found = []
    for match in _TOKEN.finditer(line):
        if ";" in line[:match.start()] and not _in_quotes(line, line.index(";")):
            break
        found.append((match.start(), match.end(), match.group(0)))
    return found


def _in_quotes(line: str, at: int) -> bool:
    return line[:at].count('"') % 2 == 1


def _is_ttl(text: str) -> bool:
    try:
        dns.ttl.from_text(text)
    except (dns.exception.DNSException, ValueError):
        return False
    return True


def _is_class(text: str) -> bool:
    return text.upper() in ("IN", "CH", "CS", "HS", "ANY", "NONE") or \
        re.fullmatch(r"CLASS\d+", text.upper()) is not None


@dataclass(frozen=True)
class _Record:
    """Where the parts of one record line are."""

    owner: tuple[int, int] | None
    ttl: tuple[int, int] | None
    klass: tuple[int, int] | None
    rtype: tuple[int, int, str] | None
    data: tuple[int, int] | None  # from the first data token to the last on the line


def _record(line: str) -> _Record:
    tokens = _tokens(line)
    owner = ttl = klass = None
    index = 0
    if tokens and not line[:1].isspace():
        owner = tokens[0][:2]
        index = 1
    while index < len(tokens) and (ttl is None or klass is None):
        text = tokens[index][2]
        if ttl is None and _is_ttl(text):
            ttl = tokens[index][:2]
        elif klass is None and _is_class(text):
            klass = tokens[index][:2]
        else:
            break
        index += 1
    rtype = tokens[index] if index < len(tokens) else None
    rest = tokens[index + 1:]
    data = (rest[0][0], rest[-1][1]) if rest else None
    return _Record(owner, ttl, klass, rtype, data)


def _content_end(line: str) -> int:
    tokens = _tokens(line)
    return tokens[-1][1] if tokens else len(line.rstrip())


def error_line(text: str, full: str, line: int, message: str) -> int:
    """The line a zone syntax error is on.  dnspython counts the end of the
    line before it rejects a record's data, so its number can be one past
    the record: when the text before that line already fails the same way,
    the record is the line before."""
    lines = text.split("\n")
    while line > 1:
        try:
            dns.zone.from_text("\n".join(lines[:line - 1]) + "\n", origin=None,
                               relativize=False, filename=full)
        except dns.exception.SyntaxError as error:
            if str(error).endswith(message):
                line -= 1
                continue
        except Exception:
            pass
        break
    return line


def syntax_problem(lines: list[str], line: int, message: str) -> ZoneProblem:
    """A syntax error at ``line`` (1-based) with dnspython's ``message``."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    record = _record(text)
    whole = (len(text) - len(text.lstrip()), _content_end(text))
    rtype = record.rtype[2].upper() if record.rtype else None

    def at(part: tuple[int, int] | None, hint: str) -> ZoneProblem:
        return ZoneProblem(message, hint, line, part or whole)

    unknown = re.match(r"unknown rdatatype '(.*)'", message)
    if unknown:
        token = next(((s, e) for s, e, t in _tokens(text) if t == unknown.group(1)), None)
        if unknown.group(1).isdigit():  # a number where the TTL goes, but not a valid TTL
            return ZoneProblem(f"the TTL `{unknown.group(1)}` is out of range",
                               "a TTL is at most 2147483647 seconds (RFC 2181 section 8)",
                               line, token or whole)
        return at(token, "a record is `owner [ttl] [class] TYPE data`; the type is a name like "
                  "A, AAAA, NS, CNAME, MX, TXT, SOA, SRV or CAA")
    if message.startswith("zone file directive"):
        token = _tokens(text)[0][:2] if _tokens(text) else None
        return at(token, "specc reads one zone file: only $ORIGIN and $TTL are allowed; put "
                  "the records of an $INCLUDE into the file itself")
    if "TTL" in message and text.lstrip().upper().startswith("$TTL"):
        token = _tokens(text)[1][:2] if len(_tokens(text)) > 1 else None
        return at(token, "a TTL is a number of seconds (`3600`) or a number with units "
                  "(`1h`, `30m`, `1d`)")
    if message == "Missing default TTL value":
        return at(record.owner, "give the record a TTL, or put `$TTL 3600` before the first "
                  "record")
    if message == "RR class is not zone's class":
        return at(record.klass, "the zone is class IN: write `IN` or leave the class out")
    if message.startswith("A DNS label") or "label" in message.lower():
        part = record.owner
        if part is not None:
            owner_text = text[part[0]:part[1]]
            if owner_text != "@" and _valid_name(owner_text):
                part = record.data
        return at(part, "a name is labels separated by single dots, each 1 to 63 characters "
                  "(RFC 1035 section 2.3.4)")
    if message == "unbalanced parentheses":
        return at(None, "a record that spans lines is wrapped in `(` and `)`: one of them is "
                  "missing")
    if "quoted string" in message:
        return at(None, "close the quote on the same line")
    if message == "expecting an identifier" or message.startswith("expecting"):
        end = _content_end(text)
        form = RDATA_FORMS.get(rtype or "")
        hint = f"the data of {_article(rtype)} record is {form}" if form else \
            "a part of the record is missing: a record is `owner [ttl] [class] TYPE data`"
        return ZoneProblem("the record ends before its data is complete", hint, line, (end, end))
    # A record whose data does not parse ("Text input is malformed.", ...).
    form = RDATA_FORMS.get(rtype or "")
    hint = f"the data of {_article(rtype)} record is {form}" if form else \
        "check the record's data against the format of its type"
    return at(record.data, hint)


def _article(rtype: str | None) -> str:
    if rtype is None:
        return "a"
    return f"an {rtype}" if rtype[0] in "AEFHILMNORSX" and rtype != "SOA" else f"a {rtype}"


def _valid_name(text: str) -> bool:
    try:
        dns.name.from_text(text, origin=dns.name.root)
    except dns.exception.DNSException:
        return False
    return True


def least(count: int, fails: Callable[[int], bool]) -> int | None:
    """The least ``k`` in 1..count with ``fails(k)``, for a ``fails`` that is
    monotone in ``k`` (a zone error is raised as soon as its record is read)."""
    if count < 1 or not fails(count):
        return None
    low, high = 1, count
    while low < high:
        middle = (low + high) // 2
        if fails(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _raises(kind: type[Exception], full: str) -> Callable[[str], bool]:
    def fails(text: str) -> bool:
        try:
            dns.zone.from_text(text, origin=None, relativize=False, filename=full,
                               check_origin=False)
        except kind:
            return True
        except Exception:
            return False
        return False

    return fails


def has_records(text: str) -> bool:
    """Whether a zone text has any line besides blanks, comments and directives."""
    for line in text.split("\n"):
        stripped = line.split(";", 1)[0].strip()
        if stripped and not stripped.startswith("$"):
            return True
    return False


def zone_problem(text: str, full: str, error: Exception) -> ZoneProblem:
    """The problem a zone-level error (no line from dnspython) is about."""
    lines = text.split("\n")
    if not has_records(text):
        return ZoneProblem("the zone file holds no records",
                           "a zone needs at least an SOA and an NS record at its origin, like "
                           "`@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300` and `@ IN NS ns1`")
    if isinstance(error, dns.zonefile.CNAMEAndOtherData):
        conflict = _raises(dns.zonefile.CNAMEAndOtherData, full)
        line = least(len(lines), lambda k: conflict("\n".join(lines[:k]) + "\n"))
        if line is not None:
            record = _record(lines[line - 1])
            other = None
            if record.owner is not None:
                # The earlier record it clashes with: the shortest prefix that,
                # followed by this line alone, already clashes.
                alone = lines[line - 1]
                other = least(line - 1, lambda k: conflict("\n".join([*lines[:k], alone]) + "\n"))
            owner = record.owner or (0, 0)
            name = lines[line - 1][owner[0]:owner[1]] or "this name"
            return ZoneProblem(f"`{name}` has a CNAME record and other records",
                               "a name with a CNAME can have no other data (RFC 1034 section "
                               "3.6.2, RFC 2181 section 10.1): keep the CNAME or the other "
                               "records, not both",
                               line, record.owner, other)
        return ZoneProblem("a name has a CNAME record and other records",
                           "a name with a CNAME can have no other data (RFC 1034 section 3.6.2)")
    if isinstance(error, dns.zone.NoSOA):
        return ZoneProblem("the zone has no SOA record at its origin",
                           "add one, like `@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300`")
    if isinstance(error, dns.zone.NoNS):
        return ZoneProblem("the zone has no NS record at its origin",
                           "add at least one, like `@ IN NS ns1`")
    if isinstance(error, dns.zone.UnknownOrigin | dns.zonefile.UnknownOrigin):
        return ZoneProblem("the zone's origin is unknown",
                           "start the file with `$ORIGIN example.org.` (the zone's name, with "
                           "its final dot)")
    detail = str(error) or type(error).__name__
    return ZoneProblem(f"the zone is not valid: {detail}",
                       "a zone needs an $ORIGIN (or an absolute owner name), an SOA and NS "
                       "records at the apex")
