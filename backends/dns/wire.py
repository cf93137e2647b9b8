"""Writing resource records in wire format, with name compression that the
run-time half can relocate.

`Encoder` lays a response out as it will be sent: a 12-byte header, the
question, then the records.  Names are compressed against every name
written earlier through a compressing field (owner names and the rdata names
of the RFC 1035 types below), as NSD does; the question's name is
registered as well, from the label `first_label` on.  Every compression
pointer written is remembered in `pointers`, so that an answer built for one
question length can be copied behind a question of another length by adding
the difference to each pointer (see `precompute.py`).

    >>> enc = Encoder(b"\\x03www\\x07example\\x00", first_label=0)
    >>> enc.name(b"\\x07example\\x00")       # a pointer to offset 16
    >>> bytes(enc.buf[enc.body_start:]).hex(), enc.pointers
    ('c010', [30])
"""

from __future__ import annotations

import io

import dns.name
import dns.rdata
import dns.rdatatype

# Types whose rdata names NSD writes compressed (RFC 3597, section 4).  Other
# types' names go out uncompressed and are not offered for compression.
COMPRESSED_RDATA = frozenset({
    dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.MX,
    dns.rdatatype.SOA,
})

# A pointer must stay below 0x4000 after the run-time half adds the length
# difference of the question names (at most 255), so nothing later than this
# is offered for compression.
MAX_POINTER_TARGET = 0x3FFF - 255

QUESTION_OFFSET = 12


def name_wire(name: dns.name.Name) -> bytes:
    """The uncompressed wire form of an absolute name, in its own case."""
    wire = name.to_wire()
    assert wire is not None
    return wire


def lower_wire(name: dns.name.Name) -> bytes:
    """The key the tables use: the wire form, ASCII lower-cased (as NSD compares)."""
    return name_wire(name).lower()


class Encoder:
    def __init__(self, question_name: bytes, first_label: int) -> None:
        self.buf = bytearray(QUESTION_OFFSET)
        self.buf += question_name + b"\x00\x00\x00\x00"
        self.body_start = len(self.buf)
        self.offsets: dict[bytes, int] = {}
        self.pointers: list[int] = []
        pos, label = 0, 0
        while question_name[pos] != 0:
            if label >= first_label:
                self.offsets.setdefault(question_name[pos:].lower(), QUESTION_OFFSET + pos)
            pos += question_name[pos] + 1
            label += 1

    def question_pointer(self) -> None:
        """The question's own name (a synthesized owner): never relocated."""
        self.buf += b"\xc0\x0c"

    def name(self, wire: bytes, compress: bool = True) -> None:
        pos = 0
        while wire[pos] != 0:
            suffix = wire[pos:].lower()
            if compress:
                target = self.offsets.get(suffix)
                if target is not None:
                    self.pointers.append(len(self.buf))
                    self.buf += (0xC000 | target).to_bytes(2, "big")
                    return
                if len(self.buf) <= MAX_POINTER_TARGET:
                    self.offsets[suffix] = len(self.buf)
            self.buf += wire[pos:pos + wire[pos] + 1]
            pos += wire[pos] + 1
        self.buf += b"\x00"

    def record(self, owner: bytes | None, rdclass: int, ttl: int, rdata: dns.rdata.Rdata) -> None:
        """One RR; `owner` None means the question's name."""
        if owner is None:
            self.question_pointer()
        else:
            self.name(owner)
        self.buf += int(rdata.rdtype).to_bytes(2, "big") + int(rdclass).to_bytes(2, "big")
        self.buf += ttl.to_bytes(4, "big")
        length_at = len(self.buf)
        self.buf += b"\x00\x00"
        self.rdata(rdata)
        length = len(self.buf) - length_at - 2
        self.buf[length_at:length_at + 2] = length.to_bytes(2, "big")

    def rdata(self, rdata: dns.rdata.Rdata) -> None:
        kind = rdata.rdtype
        if kind in (dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR):
            self.name(name_wire(rdata.target))  # type: ignore[attr-defined]
        elif kind == dns.rdatatype.MX:
            self.buf += int(rdata.preference).to_bytes(2, "big")  # type: ignore[attr-defined]
            self.name(name_wire(rdata.exchange))  # type: ignore[attr-defined]
        elif kind == dns.rdatatype.SOA:
            self.name(name_wire(rdata.mname))  # type: ignore[attr-defined]
            self.name(name_wire(rdata.rname))  # type: ignore[attr-defined]
            for field in ("serial", "refresh", "retry", "expire", "minimum"):
                self.buf += int(getattr(rdata, field)).to_bytes(4, "big")
        else:
            out = io.BytesIO()
            rdata.to_wire(out, None, None, False)
            self.buf += out.getvalue()
