"""What the two run-time halves of `dns_zone` share: reading a query and
the replies that settle it before the zone is looked at, and laying out the
reply around an answer.  dns_answer.py (answers precomputed at compile time)
and dns_resolve.py (answers decided at run time from the zone's records,
the unspecialized build) both call `read_question`, look the question up in
their own way, then call `compose` (or `outside_zone`): the steps of
backends/c/runtime/dns/dns_steps.h, whose helpers are dns_message.h's.

The question is parsed without compression and bounds checked; no input
raises.  Behaviour follows NSD 4.6 (the tests compare with it):

* no reply for less than a header or for a response (QR set);
* opcodes other than QUERY and NOTIFY: NOTIMP, header only; NOTIFY:
  REFUSED for the apex (no notify is accepted), NXDOMAIN otherwise;
* FORMERR (header only, RD kept) for an rcode in the query, a bad question,
  records in the answer or authority section (IXFR may carry its SOA), extra
  records in the additional section or a malformed OPT; QDCOUNT other than 1
  gives FORMERR with every flag clear, except QDCOUNT 0 with just an OPT
  record (a DNS cookie or EDNS probe), which gets NOERROR with an OPT;
* EDNS (RFC 6891): version other than 0 gives BADVERS; the reply's OPT
  advertises `max_size`, the server's UDP size, over TCP too (as NSD does:
  the field is about UDP, RFC 6891 6.2.3) and copies DO (RFC 3225); over
  UDP the size limit is min(max(client size, 512), max_size) with EDNS, 512
  without; over TCP it is 65535, the most a length prefix says (RFC 7766 8);
* QCLASS CH: REFUSED (no identity or version is told); other classes but IN
  and ANY: REFUSED, header only; QCLASS ANY: answered, not authoritatively;
* AXFR over UDP: NOTIMP; IXFR: REFUSED for the apex, NOTAUTH otherwise;
  names outside the zone: REFUSED.  These carry an Extended DNS Error
  (RFC 8914) in the OPT, as NSD does;
* when an answer or authority RRset does not fit, TC is set and the records
  before it are kept; optional ones (NS authority, additional records) are
  left out, and over UDP also past 1232 bytes (NSD's minimal responses).

Sharing costs the precomputed engine a call and a tuple per query it
answers, and only on a miss of dns_zone.py's reply cache: a query seen
before is answered from the cache without either engine.
"""

from __future__ import annotations

from typing import Any

QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
AD = 0x0020
NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED, NOTAUTH = 0, 1, 3, 4, 5, 9
OPCODE_QUERY, OPCODE_NOTIFY = 0, 4
TYPE_OPT, TYPE_IXFR, TYPE_AXFR = 41, 251, 252
CLASS_IN, CLASS_CH, CLASS_ANY = 1, 3, 255
EDE_PROHIBITED, EDE_NOT_SUPPORTED, EDE_NOT_AUTHORITATIVE = 18, 21, 20
MINIMAL_RESPONSE_SIZE = 1232  # NSD leaves optional records out past this, over UDP
CHAOS_NAMES = (b"\x02id\x06server\x00", b"\x08hostname\x04bind\x00",
               b"\x07version\x06server\x00", b"\x07version\x04bind\x00")


# A standard query with one well-formed question, of class IN or ANY and
# neither AXFR nor IXFR: what an engine needs to answer it.  In order: the
# lower-cased uncompressed name, QTYPE, QCLASS, the question as the client
# sent it (name, type, class), the reply's flags (QR and the query's RD),
# whether the query had an OPT record (so the reply has one), its DO bit,
# and the size the reply must fit in.  A plain tuple, not a NamedTuple:
# building one costs a NamedTuple's Python-level __new__ per query answered
# (0.17 us of a 3.1 us answer, measured), a tuple next to nothing.
Question = tuple[bytes, int, int, bytes, int, bool, bool, int]


def read_question(query: bytes, apex: bytes, max_size: int, tcp: bool) -> bytes | Question | None:
    """The question of `query` to look up in the zone whose lower-cased
    apex is `apex`; or the reply that settles the query without the zone's
    records (bytes); or None when the query must be dropped.  `max_size`
    and `tcp` are dns_answer.answer's."""
    size = len(query)
    if size < 12:
        return None
    flags = query[2] << 8 | query[3]
    if flags & QR:
        return None
    opcode = (flags >> 11) & 0xF
    if opcode not in (OPCODE_QUERY, OPCODE_NOTIFY):
        return _header(query, (flags & ~AD) | QR, NOTIMP)
    rd_only = QR | (flags & RD) | (opcode << 11)
    qend = _question_end(query)
    if flags & 0xF or qend < 0:
        return _header(query, rd_only, FORMERR)
    qname = query[12:qend - 4].lower()
    if opcode == OPCODE_NOTIFY:
        rcode = REFUSED if qname == apex else NXDOMAIN
        return _header(query, (flags & ~AD) | QR, rcode)
    qdcount, ancount, nscount, arcount = (query[i] << 8 | query[i + 1] for i in (4, 6, 8, 10))
    if qdcount != 1:
        if qdcount == 0 and ancount == 0 and nscount == 0 and arcount == 1:
            end, edns_size, do, version = _parse_opt(query, 12)
            if end >= 0 and version == 0:
                return _header(query, QR | (flags & RD), NOERROR, arcount=1) + \
                    _opt(max_size, do)
        return _header(query, QR, FORMERR)
    qtype = query[qend - 4] << 8 | query[qend - 3]
    qclass = query[qend - 2] << 8 | query[qend - 1]
    position = qend
    if ancount or (nscount and qtype != TYPE_IXFR) or nscount > 64:
        return _header(query, rd_only, FORMERR)
    for _ in range(nscount):
        position = _skip_rr(query, position)
        if position < 0:
            return _header(query, rd_only, FORMERR)
    edns, edns_size, do, version = False, 0, False, 0
    if arcount:
        end, edns_size, do, version = _parse_opt(query, position)
        if end < 0 or arcount > 1:
            return _header(query, rd_only, FORMERR)
        edns = True
    reply_flags = QR | (flags & RD)
    question = query[12:qend]
    if version:
        return _header(query, reply_flags, NOERROR, 1, 0, 0, 1) + question + \
            _opt(max_size, False, extended_rcode=1)
    if qclass not in (CLASS_IN, CLASS_ANY):
        if qclass == CLASS_CH:
            known = qname in CHAOS_NAMES and qtype in (16, 255)
            ede = EDE_PROHIBITED if known else EDE_NOT_SUPPORTED
            return _refusal(query, reply_flags, REFUSED, question, edns, max_size, do, ede)
        return _refusal(query, reply_flags, REFUSED, b"", edns, max_size, do, EDE_NOT_SUPPORTED)
    if qtype == TYPE_AXFR and not tcp:
        return _refusal(query, reply_flags, NOTIMP, question, edns, max_size, do, -1)
    if qtype in (TYPE_AXFR, TYPE_IXFR):
        if qname == apex:
            return _refusal(query, reply_flags, REFUSED, question, edns, max_size, do,
                            EDE_PROHIBITED)
        return _refusal(query, reply_flags, NOTAUTH, question, edns, max_size, do, -1)
    if tcp:
        limit = 65535
    elif edns:
        limit = min(max(edns_size, 512), max(max_size, 512))
    else:
        limit = 512
    return qname, qtype, qclass, question, reply_flags, edns, do, limit


def outside_zone(query: bytes, q: Question, max_size: int) -> bytes:
    """The reply to a question whose name is not in the zone."""
    _, _, _, question, reply_flags, edns, do, _ = q
    return _refusal(query, reply_flags, REFUSED, question, edns, max_size, do,
                    EDE_NOT_AUTHORITATIVE)


def compose(query: bytes, q: Question, chosen: tuple[Any, ...], max_size: int,
            tcp: bool) -> bytes:
    """The reply carrying `chosen`, an answer in precompute.py's shape laid
    out for a name `chosen[1]` bytes long, behind the question of `q` as the
    client sent it: cut with TC to the size `q` says, given its header and
    OPT."""
    flags, qlen, body, relocs, rrsets, _ = chosen
    _, _, _, question, reply_flags, edns, do, limit = q
    start = 12 + len(question)
    room = limit - start - (11 if edns else 0)
    cut = 0
    counts = [0, 0, 0, 0]
    for end, kind, count in rrsets:
        if end > room or (kind >= 2 and not tcp and start + end > MINIMAL_RESPONSE_SIZE):
            if kind < 2:
                reply_flags |= TC
            break
        cut = end
        counts[kind] += count
    delta = len(question) - 4 - qlen
    if delta and relocs:
        patched = bytearray(body[:cut])
        for at in relocs:
            if at >= cut:
                break
            pointer = (patched[at] << 8 | patched[at + 1]) + delta
            patched[at] = pointer >> 8
            patched[at + 1] = pointer & 0xFF
        records = bytes(patched)
    else:
        records = body[:cut]
    header = _header(query, reply_flags | (flags & 0x7FF), flags & 0xF, 1, counts[0],
                     counts[1] + counts[2], counts[3] + (1 if edns else 0))
    return header + question + records + (_opt(max_size, do) if edns else b"")


def _question_end(query: bytes) -> int:
    """The offset after the question (name, type, class), or -1 if malformed."""
    size = len(query)
    position = 12
    while True:
        if position >= size:
            return -1
        length = query[position]
        if length == 0:
            break
        if length & 0xC0 or position + length + 2 > size or position + length + 2 > 12 + 255:
            return -1
        position += length + 1
    position += 1
    if position + 4 > size:
        return -1
    return position + 4


def _skip_rr(query: bytes, position: int) -> int:
    """The offset after the RR at `position` (its owner may be compressed), or -1."""
    size = len(query)
    while True:
        if position >= size:
            return -1
        length = query[position]
        if length == 0:
            position += 1
            break
        if length & 0xC0:
            position += 2
            break
        position += length + 1
    if position + 10 > size:
        return -1
    rdlength = query[position + 8] << 8 | query[position + 9]
    position += 10 + rdlength
    return position if position <= size else -1


def _parse_opt(query: bytes, position: int) -> tuple[int, int, bool, int]:
    """(end, UDP size, DO, version) of the OPT RR at `position`; end -1 if it is
    not a well-formed OPT record (owner the root, options within the rdata)."""
    if position + 11 > len(query) or query[position] != 0 or \
            query[position + 1] << 8 | query[position + 2] != TYPE_OPT:
        return -1, 0, False, 0
    udp_size = query[position + 3] << 8 | query[position + 4]
    version = query[position + 6]
    do = bool(query[position + 7] & 0x80)
    rdlength = query[position + 9] << 8 | query[position + 10]
    position += 11
    if version:
        return position, udp_size, do, version
    end = position + rdlength
    if end > len(query):
        return -1, 0, False, 0
    while end - position >= 4:
        option_length = query[position + 2] << 8 | query[position + 3]
        position += 4 + option_length
        if position > end:
            return -1, 0, False, 0
    if position != end:
        return -1, 0, False, 0
    return end, udp_size, do, 0


def _header(query: bytes, flags: int, rcode: int, qdcount: int = 0, ancount: int = 0,
            nscount: int = 0, arcount: int = 0) -> bytes:
    flags = (flags & ~0xF) | (rcode & 0xF)
    return query[:2] + bytes((flags >> 8, flags & 0xFF, 0, qdcount, ancount >> 8, ancount & 0xFF,
                              nscount >> 8, nscount & 0xFF, arcount >> 8, arcount & 0xFF))


def _opt(max_size: int, do: bool, extended_rcode: int = 0, ede: int = -1) -> bytes:
    payload = min(max(max_size, 512), 65535)
    options = b"" if ede < 0 else b"\x00\x0f\x00\x02" + ede.to_bytes(2, "big")
    return b"\x00\x00\x29" + payload.to_bytes(2, "big") + \
        bytes((extended_rcode, 0, 0x80 if do else 0, 0)) + len(options).to_bytes(2, "big") + \
        options


def _refusal(query: bytes, flags: int, rcode: int, question: bytes, edns: bool, max_size: int,
             do: bool, ede: int) -> bytes:
    """An error reply with (or without, when `question` is empty) the question."""
    header = _header(query, flags, rcode, 1 if question else 0, 0, 0, 1 if edns else 0)
    return header + question + (_opt(max_size, do, ede=ede) if edns else b"")
