"""The DNS answer engine on its own: the precomputed table and `answer()`.

tests/test_dns_vs_nsd.py compares every answer with NSD's; these tests pin
the engine's own promises: the table is plain, deterministic data; answers
are well-formed; no input makes `answer()` raise; a flood of malformed
packets leaves it answering normally.
"""

from __future__ import annotations

import ast
import random
import struct
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from dns_queries import ZONE_FILES, make, query_set, question, raw
from hypothesis import given, settings
from hypothesis import strategies as st

from specc.backends.dns.precompute import build_table
from specc.backends.python.runtime.dns_answer import answer

MAX_UDP = 1232


def load(origin: str) -> dict[str, Any]:
    return build_table(dns.zone.from_file(ZONE_FILES[origin], origin=None, relativize=False))


TABLES = {origin: load(origin) for origin in ZONE_FILES}
EXAMPLE = TABLES["example.org."]
TEST = TABLES["zone.test."]


def ask(table: dict[str, Any], wire: bytes, max_size: int = MAX_UDP) -> dns.message.Message:
    reply = answer(table, wire, max_size)
    assert reply is not None
    return dns.message.from_wire(reply)


def texts(section: list[Any]) -> list[str]:
    return sorted(r.to_text() for r in section)


# -- the table ---------------------------------------------------------------

def test_table_is_plain_data_that_repr_round_trips() -> None:
    for table in TABLES.values():
        assert ast.literal_eval(repr(table)) == table


def test_table_is_deterministic() -> None:
    assert repr(load("zone.test.")) == repr(TEST)


def test_table_keys_are_lower_case_wire_names() -> None:
    assert TEST["apex"] == b"\x04zone\x04test\x00"
    assert b"\x05mixed\x04case\x04zone\x04test\x00" in TEST["nodes"]
    assert b"\x04case\x04zone\x04test\x00" in TEST["nodes"]  # an empty non-terminal
    for key in TEST["nodes"]:
        assert key == key.lower() and dns.name.from_wire(key, 0)[0].is_subdomain(
            dns.name.from_text("zone.test."))


def test_a_zone_without_soa_is_rejected() -> None:
    zone = dns.zone.from_text("@ 60 IN NS ns.example.\n", origin="example.",
                              relativize=False, check_origin=False)
    with pytest.raises(ValueError):
        build_table(zone)


# -- answers -------------------------------------------------------------------

def test_exact_answer_with_authority_and_additional() -> None:
    reply = ask(EXAMPLE, make("www.example.org.", "A", rd=True))
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA and reply.flags & dns.flags.RD
    assert not reply.flags & (dns.flags.RA | dns.flags.TC)
    assert texts(reply.answer) == ["www.example.org. 3600 IN A 192.0.2.80"]
    assert [r.rdtype for r in reply.authority] == [dns.rdatatype.NS]
    assert {r.name.to_text() for r in reply.additional} == {"ns1.example.org.", "ns2.example.org."}


def test_question_case_is_echoed() -> None:
    wire = make("WwW.ExAmPlE.oRg.", "AAAA")
    reply = answer(EXAMPLE, wire, MAX_UDP)
    assert reply is not None and b"\x03WwW\x07ExAmPlE\x03oRg\x00" in reply
    assert dns.message.from_wire(reply).answer[0].name.to_text() == "WwW.ExAmPlE.oRg."


def test_nxdomain_and_nodata_carry_the_soa_with_the_negative_ttl() -> None:
    nx = ask(TEST, make("a.b.nothing.zone.test.", "A"))
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.flags & dns.flags.AA
    assert [(r.rdtype, r.ttl) for r in nx.authority] == [(dns.rdatatype.SOA, 600)]
    nodata = ask(EXAMPLE, make("www.example.org.", "MX"))
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert [(r.rdtype, r.ttl) for r in nodata.authority] == [(dns.rdatatype.SOA, 300)]


@pytest.mark.parametrize("name", ["x.wild.example.org.", "a.much.longer.name.wild.example.org.",
                                  "Q.WILD.example.org."])
def test_wildcard_owner_is_the_question(name: str) -> None:
    reply = ask(EXAMPLE, make(name, "TXT", edns=1232))
    assert reply.answer[0].name == dns.name.from_text(name)
    assert reply.answer[0][0].to_text() == '"synthesized from *.wild.example.org"'
    assert reply.authority[0].name.to_text() == "example.org."


def test_wildcard_does_not_cover_existing_names_or_empty_non_terminals() -> None:
    assert not ask(TEST, make("exists.w.zone.test.", "A")).answer
    assert not ask(TEST, make("ent.w.zone.test.", "A")).answer
    assert ask(TEST, make("q.ent.w.zone.test.", "A")).rcode() == dns.rcode.NXDOMAIN


def test_cname_chain_is_followed_inside_the_zone() -> None:
    reply = ask(TEST, make("c1.zone.test.", "AAAA"))
    assert [r.rdtype for r in reply.answer] == [dns.rdatatype.CNAME] * 5 + [dns.rdatatype.AAAA]
    out = ask(TEST, make("ext.zone.test.", "A"))
    assert texts(out.answer) == ["ext.zone.test. 600 IN CNAME www.example.com."]
    assert len(ask(TEST, make("loop1.zone.test.", "A")).answer) == 2


def test_referral_clears_aa_and_carries_glue() -> None:
    reply = ask(EXAMPLE, make("deep.ns.sub.example.org.", "A"))
    assert not reply.flags & dns.flags.AA and not reply.answer
    assert texts(reply.authority) == ["sub.example.org. 3600 IN NS ns.sub.example.org."]
    assert texts(reply.additional) == ["ns.sub.example.org. 3600 IN A 192.0.2.153"]


def test_any_gets_one_rrset() -> None:
    reply = ask(EXAMPLE, make("example.org.", "ANY"))
    assert [r.rdtype for r in reply.answer] == [dns.rdatatype.SOA] and not reply.authority


def test_outside_the_zone_is_refused() -> None:
    for name in ("www.example.com.", ".", "org.", "xexample.org."):
        assert ask(EXAMPLE, make(name, "A")).rcode() == dns.rcode.REFUSED


def test_edns_reply_advertises_max_size_and_copies_do() -> None:
    reply = ask(EXAMPLE, make("www.example.org.", "A", edns=4096, do=True), max_size=1400)
    assert reply.edns == 0 and reply.payload == 1400 and reply.ednsflags & dns.flags.DO
    assert ask(EXAMPLE, make("www.example.org.", "A")).edns == -1


def test_badvers() -> None:
    wire = raw(ar=1, body=question("www.example.org.") + b"\x00\x00\x29\x04\xd0\x00\x01\x00"
               b"\x00\x00\x00")
    reply = ask(EXAMPLE, wire)
    assert reply.rcode() == dns.rcode.BADVERS and not reply.answer


@pytest.mark.parametrize(("edns", "max_size", "truncated"), [
    (None, 4096, True), (512, 4096, True), (1232, 4096, False), (4096, 600, True),
    (4096, 4096, False)])
def test_size_limit_sets_tc(edns: int | None, max_size: int, truncated: bool) -> None:
    reply = answer(TEST, make("big.zone.test.", "A", edns=edns), max_size)
    assert reply is not None
    limit = 512 if edns is None else min(max(edns, 512), max_size)
    assert len(reply) <= limit
    message = dns.message.from_wire(reply)
    assert bool(message.flags & dns.flags.TC) == truncated
    count = len(message.answer[0]) if message.answer else 0
    assert count == (0 if truncated else 40)


@pytest.mark.parametrize("max_size", [0, 512, 1232, 4096, 65535])
def test_tcp_answers_are_whole_and_advertise_the_udp_size(max_size: int) -> None:
    """Over TCP `max_size` is only the UDP size the OPT record advertises
    (at least 512, as over UDP): the answer, larger than 1232 bytes, is whole."""
    reply = answer(TEST, make("huge.zone.test.", "TXT", edns=512), max_size, tcp=True)
    assert reply is not None and len(reply) > 1232
    message = dns.message.from_wire(reply)
    assert not message.flags & dns.flags.TC and len(message.answer[0]) == 6
    assert message.payload == max(max_size, 512)


def test_max_size_65535_answers_as_over_tcp() -> None:
    """DnsZone.answer(query, 65535) is how TCP answers were asked for before
    answer_tcp: tcp=None keeps that meaning."""
    wire = make("huge.zone.test.", "TXT")
    assert answer(TEST, wire, 65535) == answer(TEST, wire, 65535, tcp=True)
    assert answer(TEST, wire, 65534) != answer(TEST, wire, 65534, tcp=True)


@pytest.mark.parametrize(("wire", "rcode"), [
    (raw(qd=0), dns.rcode.FORMERR),
    (raw(qd=2, body=question("www.example.org.") * 2), dns.rcode.FORMERR),
    (raw(body=b"\x03www\xc0\x0c\x00\x01\x00\x01"), dns.rcode.FORMERR),
    (raw(body=b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"), dns.rcode.FORMERR),
    (raw(body=question("www.example.org.")[:-1]), dns.rcode.FORMERR),
    (raw(flags=2 << 11, body=question("www.example.org.")), dns.rcode.NOTIMP),
    (raw(body=question("www.example.org.", 252)), dns.rcode.NOTIMP),
    (raw(body=question("www.example.org.", 1, 4)), dns.rcode.REFUSED),
    (raw(body=question("www.example.org.", 1, 3)), dns.rcode.REFUSED),
])
def test_error_replies(wire: bytes, rcode: int) -> None:
    assert ask(EXAMPLE, wire).rcode() == rcode


def test_dropped() -> None:
    assert answer(EXAMPLE, b"\x00" * 11, MAX_UDP) is None
    assert answer(EXAMPLE, raw(flags=0x8000, body=question("www.example.org.")), MAX_UDP) is None


def test_every_query_of_the_shared_set_gets_a_well_formed_reply() -> None:
    for query in query_set():
        reply = answer(TABLES[query.zone], query.wire, MAX_UDP)
        assert reply is not None, query.label
        message = dns.message.from_wire(reply)
        assert message.id == struct.unpack("!H", query.wire[:2])[0]
        assert len(reply) <= 65535


# -- robustness ------------------------------------------------------------------

def check_reply(query: bytes, reply: bytes | None, limit: int = MAX_UDP) -> None:
    if reply is None:
        return
    message = dns.message.from_wire(reply)  # must parse
    assert message.flags & dns.flags.QR
    assert reply[:2] == query[:2]
    assert len(reply) <= limit


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    for table in TABLES.values():
        check_reply(data, answer(table, data, MAX_UDP))


VALID = [q.wire for q in query_set()[::7]]


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255),
                                                  st.sampled_from(["set", "cut", "insert"])),
                                        min_size=1, max_size=6))
def test_mutated_queries_never_raise(base: bytes, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(base)
    for at, value, how in edits:
        at = at % (len(data) + 1)
        if how == "set" and at < len(data):
            data[at] = value
        elif how == "cut":
            del data[at:]
        else:
            data[at:at] = bytes([value])
    wire = bytes(data)
    for table in TABLES.values():
        check_reply(wire, answer(table, wire, MAX_UDP))
        check_reply(wire, answer(table, wire, 65535, tcp=True), 65535)


def malformed_packet(rng: random.Random) -> bytes:
    """One of: a cut header, bad label lengths, compression loops, QDCOUNT 0 or > 1."""
    good = make("www.example.org.", rng.choice(["A", "MX", "ANY"]), qid=rng.randrange(65536))
    kind = rng.randrange(6)
    if kind == 0:
        return good[:rng.randrange(12)]
    header = bytearray(good[:12])
    if kind == 1:  # label lengths past the end, or with the 0x40/0x80 bits
        body = bytes([rng.choice([0x40, 0x80, 0x3F, 0xFF, rng.randrange(256)])]) + \
            rng.randbytes(rng.randrange(30))
        return bytes(header) + body
    if kind == 2:  # compression loops and pointers in the question
        loop = rng.choice([b"\xc0\x0c", b"\x01a\xc0\x0c", b"\xc0\x0e\xc0\x0c", b"\x03www\xc0\x0f"])
        return bytes(header) + loop + b"\x00\x01\x00\x01"
    if kind == 3:  # QDCOUNT 0 or more than one
        header[4:6] = struct.pack("!H", rng.choice([0, 2, 3, 65535]))
        return bytes(header) + good[12:] * rng.randrange(3)
    if kind == 4:  # a cut question or OPT
        return good[:12 + rng.randrange(1, len(good) - 12)]
    noisy = bytearray(good)
    for _ in range(rng.randrange(1, 5)):
        noisy[rng.randrange(len(noisy))] = rng.randrange(256)
    return bytes(noisy)


def test_2000_malformed_packets_then_a_normal_query() -> None:
    rng = random.Random(20240101)
    for _ in range(2000):
        packet = malformed_packet(rng)
        check_reply(packet, answer(EXAMPLE, packet, MAX_UDP))
    reply = ask(EXAMPLE, make("www.example.org.", "A", qid=7))
    assert reply.id == 7 and reply.rcode() == dns.rcode.NOERROR
    assert texts(reply.answer) == ["www.example.org. 3600 IN A 192.0.2.80"]
