"""The DNS query set shared by tests/test_dns_engine.py and tests/test_dns_vs_nsd.py.

It covers every case of issue 4, item 3, for the two test zones
(examples/zones/example.org.zone and tests/data/zones/zone.test.zone): names
x types, with and without EDNS, client sizes around the 512 and 1232 byte
limits, the question's case, opcodes, classes, zone transfers, and
malformed messages that still have a readable header.  Each query is wire
bytes, so malformed ones can be expressed; `zone` names the zone whose table
answers it.
"""

from __future__ import annotations

import os
import random
import struct
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ZONE_FILES = {
    "example.org.": os.path.join(ROOT, "examples", "zones", "example.org.zone"),
    "zone.test.": os.path.join(HERE, "data", "zones", "zone.test.zone"),
}
SERVER_MAX_UDP = 1232  # the server's EDNS size, for NSD (ipv4-edns-size) and for answer()

NAMES = {
    "example.org.": [
        "example.org.", "www", "web", "alias", "mail", "ns1", "ns2", "sub", "ns.sub", "x.sub",
        "deep.x.ns.sub", "_sip._udp", "_udp", "anything.wild", "a.b.wild", "wild", "*.wild",
        "nope", "a.b.nope", "x.www",
    ],
    "zone.test.": [
        "zone.test.", "ns1", "ns2", "mail", "mail2", "host", "mixed.case", "case", "c1", "c3",
        "ext", "dangling", "nodata", "toref", "towild", "loop1", "self", "cnbig", "foo.w",
        "y.z.w", "exists.w", "ent.w", "q.ent.w", "a.ent.w", "w", "foo.cw", "foo.cwx",
        "a.b.deep", "ent", "leaf.ent", "nx.ent", "ent2", "z.ent2", "y.z.ent2", "d1", "ns.d1",
        "below.d1", "new.d1", "d2", "x.d2", "d3", "x.d3", "mxglue", "_sip._tcp", "_tcp",
        "_x._udp", "wildmx", "ptr", "caa", "big", "bigger", "huge", "manymx", "m05", "bigref",
        "nameserver-03.bigref", "x.bigref", "nothere",
    ],
}
TYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "SRV", "PTR", "CAA", "DS",
         "DNSKEY", "ANY", "TYPE65400"]
OUTSIDE = ["www.example.com.", "org.", ".", "xexample.org.", "test.", "example.net."]


@dataclass(frozen=True)
class Query:
    label: str
    zone: str
    wire: bytes


def absolute(name: str, zone: str) -> str:
    return name if name.endswith(".") else f"{name}.{zone}"


def make(name: str, rdtype: str | int = "A", *, edns: int | None = None, do: bool = False,
         rd: bool = False, rdclass: int = dns.rdataclass.IN, qid: int = 0x2B2B) -> bytes:
    """A well-formed query; `edns` is the advertised UDP size (None: no OPT)."""
    message = dns.message.make_query(
        name, dns.rdatatype.RdataType.make(rdtype), rdclass=dns.rdataclass.RdataClass.make(rdclass), use_edns=False if edns is None else 0,
        payload=edns or 0, want_dnssec=do)
    message.id = qid
    message.flags = dns.flags.RD if rd else 0
    if do:
        message.ednsflags |= dns.flags.DO
    return message.to_wire()


def raw(flags: int = 0, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0,
        body: bytes = b"", qid: int = 0x4242) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar) + body


def question(name: str, rdtype: int = 1, rdclass: int = 1) -> bytes:
    return (dns.name.from_text(name).to_wire() or b"") + struct.pack("!HH", rdtype, rdclass)


OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # EDNS 0, size 1232, no options


def opt(size: int = 1232, version: int = 0, do: bool = False, rdata: bytes = b"",
        rdlength: int | None = None) -> bytes:
    length = len(rdata) if rdlength is None else rdlength
    return b"\x00\x00\x29" + struct.pack("!HBBHH", size, 0, version, 0x8000 if do else 0,
                                         length) + rdata


def matrix() -> list[Query]:
    """Every test name with every type, without EDNS and with it (DO on some)."""
    out = []
    for zone, names in NAMES.items():
        for name in names:
            full = absolute(name, zone)
            for rdtype in TYPES:
                out.append(Query(f"{full} {rdtype}", zone, make(full, rdtype)))
                out.append(Query(f"{full} {rdtype} edns", zone,
                                 make(full, rdtype, edns=1232, rd=True, do=rdtype == "A")))
    return out


def case_variants(seed: int = 4) -> list[Query]:
    rng = random.Random(seed)
    out = []
    for zone, names in NAMES.items():
        for name in names:
            full = absolute(name, zone)
            mixed = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in full)
            for rdtype in ("A", "MX", "ANY"):
                out.append(Query(f"{mixed} {rdtype} (case)", zone, make(mixed, rdtype, edns=1232)))
    return out


def sizes() -> list[Query]:
    """Answers around the 512-byte and the EDNS limit: TC and dropped extras."""
    out = []
    cases = [("big", "A"), ("bigger", "A"), ("bigger", "ANY"), ("cnbig", "A"), ("huge", "TXT"), ("manymx", "MX"), ("bigref", "A"),
             ("x.bigref", "A"), ("zone.test.", "ANY"), ("zone.test.", "MX"),
             ("_sip._tcp", "SRV"), ("www.example.org.", "A")]
    for name, rdtype in cases:
        zone = "example.org." if name.endswith("example.org.") else "zone.test."
        full = absolute(name, zone)
        for size in (None, 0, 100, 512, 513, 600, 700, 800, 1000, 1100, 1232, 1400, 4096, 65535):
            label = f"{full} {rdtype} size={size}"
            out.append(Query(label, zone, make(full, rdtype, edns=size)))
    return out


def opcodes_classes_transfers() -> list[Query]:
    out = []
    www = question("www.example.org.")
    apex = "example.org."
    for opcode in range(1, 16):
        out.append(Query(f"opcode {opcode}", apex, raw(flags=opcode << 11 | 0x0100, body=www)))
    out.append(Query("opcode 5 every flag", apex, raw(flags=5 << 11 | 0x07F0, body=www)))
    out.append(Query("opcode 5 with EDNS", apex, raw(flags=5 << 11, ar=1, body=www + OPT)))
    out.append(Query("opcode 2 bad question", apex, raw(flags=2 << 11, body=b"\xc0\x0c")))
    out.append(Query("NOTIFY apex", apex, raw(flags=4 << 11, body=question(apex, 6))))
    out.append(Query("NOTIFY other", apex, raw(flags=4 << 11 | 0x0100, body=www)))
    out.append(Query("NOTIFY other EDNS", apex, raw(flags=4 << 11, ar=1, body=www + OPT)))
    out.append(Query("NOTIFY bad question", apex, raw(flags=4 << 11, body=b"\x07example")))
    for rdclass in (0, 2, 3, 4, 254, 255, 1000):
        for name in ("www.example.org.", "nope.example.org.", "sub.example.org.",
                     "example.org.", "www.example.com."):
            for rdtype in (1, 15, 255):
                out.append(Query(f"{name} type {rdtype} class {rdclass}", apex,
                                 make(name, rdtype, rdclass=rdclass)))
                out.append(Query(f"{name} type {rdtype} class {rdclass} edns", apex,
                                 make(name, rdtype, rdclass=rdclass, edns=1232, rd=True)))
    for name in ("id.server.", "hostname.bind.", "version.bind.", "version.server.",
                 "www.example.org."):
        for rdtype in (16, 255, 1):
            out.append(Query(f"CH {name} {rdtype}", apex, make(name, rdtype, rdclass=3, edns=1232)))
    for zone in ZONE_FILES:
        for name in (zone, absolute("ns1", zone), "www.example.com."):
            for rdtype in (251, 252):
                for rdclass in (1, 255):
                    out.append(Query(f"{name} xfr {rdtype} class {rdclass}", zone,
                                     make(name, rdtype, rdclass=rdclass)))
                    out.append(Query(f"{name} xfr {rdtype} class {rdclass} edns", zone,
                                     make(name, rdtype, rdclass=rdclass, edns=1232, rd=True)))
    soa = b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x16" + b"\x00\x00" + b"\x00" * 20
    out.append(Query("IXFR with its SOA", apex, raw(ns=1, body=question(apex, 251) + soa)))
    out.append(Query("IXFR with a cut SOA", apex, raw(ns=1, body=question(apex, 251) + soa[:9])))
    for name in OUTSIDE:
        for text in ("A", "NS", "SOA"):
            out.append(Query(f"outside {name} {text}", apex, make(name, text)))
            out.append(Query(f"outside {name} {text} edns", apex,
                             make(name, text, edns=1232, rd=True)))
    return out


def malformed() -> list[Query]:
    """Broken messages whose header can be read: FORMERR, or what NSD makes of them."""
    apex = "example.org."
    www = question("www.example.org.")
    long_name = b"\x3f" + b"a" * 63
    cases = {
        "QDCOUNT 0, empty": raw(qd=0),
        "QDCOUNT 0 with a question": raw(qd=0, body=www),
        "QDCOUNT 0 RD": raw(flags=0x0100, qd=0),
        "QDCOUNT 2": raw(qd=2, body=www + www),
        "QDCOUNT 2 RD, one question": raw(flags=0x0100, qd=2, body=www),
        "QDCOUNT 0 with OPT only": raw(flags=0x0100, qd=0, ar=1, body=OPT),
        "QDCOUNT 0 with OPT DO": raw(qd=0, ar=1, body=opt(do=True)),
        "QDCOUNT 0 with OPT v1": raw(qd=0, ar=1, body=opt(version=1)),
        "QDCOUNT 0 with cookie": raw(qd=0, ar=1, body=opt(rdata=b"\x00\x0a\x00\x08" + b"c" * 8)),
        "QDCOUNT 0 with an A RR": raw(qd=0, ar=1, body=b"\x00\x00\x01\x00\x01" + b"\x00" * 6),
        "QDCOUNT 0 AN 1 OPT": raw(qd=0, an=1, ar=1, body=OPT),
        "QDCOUNT 2 with OPT": raw(qd=2, ar=1, body=www + www + OPT),
        "ANCOUNT 1": raw(flags=0x0100, an=1, body=www),
        "NSCOUNT 1": raw(ns=1, body=www),
        "ARCOUNT 1 garbage": raw(ar=1, body=www + b"garbage"),
        "ARCOUNT 1 nothing": raw(ar=1, body=www),
        "ARCOUNT 2, one OPT": raw(ar=2, body=www + OPT),
        "two OPT": raw(ar=2, body=www + OPT + OPT),
        "OPT owner not root": raw(ar=1, body=www + b"\x01a" + OPT),
        "OPT owner pointer": raw(ar=1, body=www + b"\xc0\x0c" + OPT[1:]),
        "OPT truncated": raw(ar=1, body=www + OPT[:-1]),
        "OPT rdlength past end": raw(ar=1, body=www + opt(rdlength=5)),
        "OPT option past rdata": raw(ar=1, body=www + opt(rdata=b"\x00\x0a\x00\x09")),
        "OPT option 3 bytes left": raw(ar=1, body=www + opt(rdata=b"\x00\x0a\x00")),
        "OPT with cookie": raw(ar=1, body=www + opt(rdata=b"\x00\x0a\x00\x08" + b"c" * 8)),
        "OPT with NSID": raw(ar=1, body=www + opt(rdata=b"\x00\x03\x00\x00")),
        "OPT version 1": raw(flags=0x0100, ar=1, body=www + opt(version=1, do=True)),
        "OPT version 1 bad options": raw(ar=1, body=www + opt(version=1, rdata=b"\x00\x01")),
        "OPT version 255 other class": raw(ar=1, body=question("www.example.org.", 1, 4) +
                                           opt(version=255)),
        "OPT extended rcode set": raw(ar=1, body=www + b"\x00\x00\x29\x04\xd0\x07\x00\x00\x00"
                                      b"\x00\x00"),
        "OPT size 0": raw(ar=1, body=www + opt(size=0)),
        "TSIG-like record": raw(ar=1, body=www + b"\x03key\x00\x00\xfa\x00\xff" + b"\x00" * 6),
        "OPT then TSIG-like": raw(ar=2, body=www + OPT + b"\x03key\x00\x00\xfa\x00\xff" +
                                  b"\x00" * 6),
        "trailing garbage": raw(body=www + b"trailing"),
        "trailing garbage with OPT": raw(ar=1, body=www + OPT + b"zz"),
        "question cut in type": raw(body=www[:-3]),
        "question cut in name": raw(flags=0x0100, body=www[:6]),
        "no question bytes": raw(),
        "pointer in question": raw(body=b"\x03www\xc0\x0c\x00\x01\x00\x01"),
        "label length 64": raw(body=b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"),
        "label type 0x80": raw(body=b"\x83www\x00\x00\x01\x00\x01"),
        "name of 256 bytes": raw(body=long_name * 4 + b"\x00\x00\x01\x00\x01"),
        "name of 255 bytes": raw(body=long_name * 3 + b"\x3d" + b"a" * 61 + b"\x00\x00\x01\x00\x01"),
        "name of 255 bytes in zone": raw(body=long_name * 3 + b"\x31" + b"b" * 49 +
                                         b"\x07example\x03org\x00\x00\x01\x00\x01"),
        "name of 253 bytes in zone": raw(body=long_name * 3 + b"\x2f" + b"b" * 47 +
                                         b"\x07example\x03org\x00\x00\x01\x00\x01"),
        "empty label then more": raw(body=b"\x00\x03www\x00\x01\x00\x01"),
        "rcode set in query": raw(flags=0x0103, body=www),
        "TC set in query": raw(flags=0x0200, body=www),
        "AA AD CD Z set in query": raw(flags=0x0400 | 0x0020 | 0x0010 | 0x0040 | 0x0100,
                                       body=www),
        "RA set in query": raw(flags=0x0080, body=www),
        "binary label": raw(body=b"\x03\x00\xff\x41\x07example\x03org\x00\x00\x01\x00\x01"),
        "uppercase binary label": raw(body=b"\x02\xc4\xe4\x07example\x03org\x00\x00\x01\x00\x01"),
    }
    return [Query(label, apex, wire) for label, wire in cases.items()]


def dropped() -> list[Query]:
    """Messages that get no reply at all."""
    www = question("www.example.org.")
    return [
        Query("empty", "example.org.", b""),
        Query("11 bytes", "example.org.", raw(body=www)[:11]),
        Query("a response", "example.org.", raw(flags=0x8000, body=www)),
        Query("a response with an error", "example.org.", raw(flags=0x8405, body=www)),
    ]


def query_set() -> list[Query]:
    return matrix() + case_variants() + sizes() + opcodes_classes_transfers() + malformed()
