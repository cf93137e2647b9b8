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
    ('c010', [29])
"""

from __future__ import annotations

import io

import dns.name
import dns.rdata
import dns.rdataset
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


Piece = tuple[bool, bytes]  # (a name to compress?, its wire form or bytes copied as they are)
Record = tuple[bytes, tuple[Piece, ...]]  # type, class and TTL (8 bytes); the rdata's pieces


class Layouts:
    """What writing a name or an RRset takes that does not depend on the
    answer it goes into, worked out once.  The precompute writes the same
    few names (the apex, its NS and SOA) and RRsets into tens of thousands
    of answers; one `Layouts` is shared by all the encoders of one table.
    RRsets are kept by identity: the caller keeps them alive (they are the
    zone's) for as long as it uses this object."""

    def __init__(self) -> None:
        self._suffixes: dict[bytes, tuple[tuple[bytes, bytes], ...]] = {}
        self._rrsets: dict[int, tuple[dns.rdataset.Rdataset, tuple[Record, ...]]] = {}

    def suffixes(self, wire: bytes) -> tuple[tuple[bytes, bytes], ...]:
        """Per label of `wire`: the lower-cased name from that label on (the
        compression key) and the label with its length byte."""
        found = self._suffixes.get(wire)
        if found is None:
            parts = []
            pos = 0
            while wire[pos] != 0:
                end = pos + wire[pos] + 1
                parts.append((wire[pos:].lower(), wire[pos:end]))
                pos = end
            found = self._suffixes[wire] = tuple(parts)
        return found

    def rrset(self, rdataset: dns.rdataset.Rdataset) -> tuple[Record, ...]:
        found = self._rrsets.get(id(rdataset))
        if found is None:
            head = (int(rdataset.rdtype).to_bytes(2, "big") + int(rdataset.rdclass).to_bytes(2, "big")
                    + rdataset.ttl.to_bytes(4, "big"))
            records = tuple((head, rdata_pieces(rdata)) for rdata in rdataset)
            found = self._rrsets[id(rdataset)] = (rdataset, records)
        return found[1]


def rdata_pieces(rdata: dns.rdata.Rdata) -> tuple[Piece, ...]:
    """`rdata` in wire form, its names of COMPRESSED_RDATA types apart."""
    kind = rdata.rdtype
    if kind in (dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR):
        return ((True, name_wire(rdata.target)),)  # type: ignore[attr-defined]
    if kind == dns.rdatatype.MX:
        return ((False, int(rdata.preference).to_bytes(2, "big")),  # type: ignore[attr-defined]
                (True, name_wire(rdata.exchange)))  # type: ignore[attr-defined]
    if kind == dns.rdatatype.SOA:
        numbers = b"".join(int(getattr(rdata, field)).to_bytes(4, "big")
                           for field in ("serial", "refresh", "retry", "expire", "minimum"))
        return ((True, name_wire(rdata.mname)),  # type: ignore[attr-defined]
                (True, name_wire(rdata.rname)),  # type: ignore[attr-defined]
                (False, numbers))
    out = io.BytesIO()
    rdata.to_wire(out, None, None, False)
    return ((False, out.getvalue()),)


class Encoder:
    def __init__(self, question_name: bytes, first_label: int,
                 layouts: Layouts | None = None) -> None:
        self.layouts = Layouts() if layouts is None else layouts
        self.buf = bytearray(QUESTION_OFFSET)
        self.buf += question_name + b"\x00\x00\x00\x00"
        self.body_start = len(self.buf)
        self.offsets: dict[bytes, int] = {}
        self.pointers: list[int] = []
        pos = QUESTION_OFFSET
        for label, (suffix, part) in enumerate(self.layouts.suffixes(question_name)):
            if label >= first_label:
                self.offsets.setdefault(suffix, pos)
            pos += len(part)

    def question_pointer(self) -> None:
        """The question's own name (a synthesized owner): never relocated."""
        self.buf += b"\xc0\x0c"

    def name(self, wire: bytes) -> None:
        buf, offsets = self.buf, self.offsets
        for suffix, label in self.layouts.suffixes(wire):
            target = offsets.get(suffix)
            if target is not None:
                self.pointers.append(len(buf))
                buf += (0xC000 | target).to_bytes(2, "big")
                return
            if len(buf) <= MAX_POINTER_TARGET:
                offsets[suffix] = len(buf)
            buf += label
        buf += b"\x00"

    def rrset(self, owner: bytes | None, rdataset: dns.rdataset.Rdataset) -> None:
        """Every RR of `rdataset`; `owner` None means the question's name."""
        buf = self.buf
        for head, pieces in self.layouts.rrset(rdataset):
            if owner is None:
                self.question_pointer()
            else:
                self.name(owner)
            buf += head
            length_at = len(buf)
            buf += b"\x00\x00"
            for is_name, data in pieces:
                if is_name:
                    self.name(data)
                else:
                    buf += data
            buf[length_at:length_at + 2] = (len(buf) - length_at - 2).to_bytes(2, "big")
