"""Run-time half of `dns_zone`: answer one DNS message from a precomputed table.

The table comes from `backends/dns/precompute.py` (its docstring gives the
shape).  Answering is: read and check the query (dns_message.py's
`read_question`, shared with the unspecialized engine, which also settles
every query the zone's records do not decide), look the lower-cased name up,
and copy the precomputed records behind the question as the client sent it,
patching the header and EDNS and cutting with TC at the size the client can
take (dns_message.py's `compose`).  No record is built here, and no input
raises.  The behaviour, NSD 4.6's, is listed in dns_message.py.
"""

from __future__ import annotations

from typing import Any

from .dns_message import AA, CLASS_ANY, compose, outside_zone, read_question


def answer(table: dict[str, Any], query: bytes, max_size: int,
           tcp: bool | None = None) -> bytes | None:
    """The reply to `query`, or None when it must be dropped.

    `max_size` is the server's UDP payload size: the largest reply over
    UDP, and the size the OPT record advertises over UDP and TCP alike.
    Over TCP the reply is never cut (its limit is 65535).  `tcp` None means
    TCP when `max_size` is 65535, the most a TCP length prefix allows (how
    DnsZone.answer callers asked for TCP answers before answer_tcp)."""
    if tcp is None:
        tcp = max_size >= 65535
    q = read_question(query, table["apex"], max_size, tcp)
    if not isinstance(q, tuple):
        return q
    qname, qtype, qclass, _, _, _, _, _ = q
    found = _lookup(table, qname, qtype)
    if found is None:
        return outside_zone(query, q, max_size)
    chosen: tuple[Any, ...] = table["answers"][found]
    if qclass == CLASS_ANY:
        chosen = table["answers"][chosen[5]] if chosen[5] >= 0 else _answer_section_only(chosen)
    return compose(query, q, chosen, max_size, tcp)


def _lookup(table: dict[str, Any], qname: bytes, qtype: int) -> int | None:
    """The answer index for `qname` (lower-cased wire), None outside the zone."""
    nodes: dict[bytes, tuple[dict[int, int], int, dict[int, int], int]] = table["nodes"]
    node = nodes.get(qname)
    if node is not None:
        return node[0].get(qtype, node[1])
    apex: bytes = table["apex"]
    position = 0
    while qname[position] != 0 and len(qname) - position > len(apex):
        position += qname[position] + 1
        node = nodes.get(qname[position:])
        if node is not None:
            return node[2].get(qtype, node[3])
    return None


def _answer_section_only(chosen: tuple[Any, ...]) -> tuple[Any, ...]:
    flags, qlen, body, relocs, rrsets, _ = chosen
    kept = tuple(r for r in rrsets if r[1] == 0)
    cut = kept[-1][0] if kept else 0
    return (flags & ~AA, qlen, body[:cut], relocs, kept, -1)
