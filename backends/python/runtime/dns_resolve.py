"""Run-time half of the unspecialized `dns_zone`: answer from the zone's records.

`specc compile --no-specialize` builds `dns_zone` without precomputing its
answers (backends/dns/precompute.py): the image carries the zone's records
(backends/dns/record_table.py's `records_to_python`, whose docstring gives
the shape) and this engine decides each answer when the question comes.
It is the Python port of backends/c/runtime/dns/dns_resolve.c: the steps of
backends/dns/resolve.py (each method named after the one it follows) and
the layout of backends/dns/wire.py, names compressed against every name
written before, the question's from its closest encloser on, and no name
offered for compression past MAX_POINTER_TARGET of the layout the
precomputed engine would relocate.  So the reply is the precomputed
engine's (dns_answer.py), byte for byte: tests/test_python_dns_resolve.py.

The message is read, checked and refused by dns_message.py's `read_question`,
as for the precomputed engine; the answer, laid out whole, is cut and given
its header and OPT by dns_message.py's `compose`, the same truncation.
"""

from __future__ import annotations

from typing import Any

from .dns_message import (
    AA,
    CLASS_ANY,
    NOERROR,
    NXDOMAIN,
    compose,
    outside_zone,
    read_question,
)

# record_table.py's name flags.  One name a line: the linker renames and
# drops plain assignments, not tuples.
EXISTS = 1
IN_ZONE = 2
CUT = 4
TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_MX = 15
TYPE_AAAA = 28
TYPE_SRV = 33
TYPE_KX = 36
TYPE_DS = 43
TYPE_RRSIG = 46
TYPE_NSEC = 47
TYPE_DNSKEY = 48
TYPE_NSEC3 = 50
TYPE_ANY = 255
# resolve.py's sections, in the order the reply has them.
ANSWER = 0
AUTHORITY = 1
OPTIONAL_AUTHORITY = 2
ADDITIONAL_A = 3
ADDITIONAL_AAAA = 4
MAX_CHAIN = 32  # CNAMEs followed (resolve.py's _MAX_CHAIN)
MAX_POINTER_TARGET = 0x3FFF - 255  # wire.py's: in the precomputed layout's offsets
# The key an RRset is found again by (resolve.py's Item.key): its index, or
# these two.
KEY_SOA_NEGATIVE = -2  # the apex SOA with the negative TTL (RFC 2308)
KEY_NONE = -1  # synthesized from a wildcard: never found again


def answer(records: dict[str, Any], query: bytes, max_size: int,
           tcp: bool | None = None) -> bytes | None:
    """The reply to `query`, or None when it must be dropped: what
    dns_answer.answer gives for the same zone's precomputed table."""
    if tcp is None:
        tcp = max_size >= 65535
    q = read_question(query, records["apex"], max_size, tcp)
    if not isinstance(q, tuple):
        return q
    qname, qtype, qclass, _, _, _, _, _ = q
    found = _question_encloser(records, qname)
    if found < 0:
        return outside_zone(query, q, max_size)
    chosen = _Resolver(records, qtype, qclass == CLASS_ANY).answer(query, len(qname), found)
    return compose(query, q, chosen, max_size, tcp)


def _question_encloser(records: dict[str, Any], qname: bytes) -> int:
    """The question's closest encloser: the longest suffix of the lower-cased
    name that exists, -1 outside the zone (dns_answer's _lookup walk)."""
    existing: dict[bytes, int] = records["existing"]
    found = existing.get(qname)
    if found is not None:
        return found
    apex_len = len(records["apex"])
    position = 0
    while qname[position] != 0 and len(qname) - position > apex_len:
        position += qname[position] + 1
        found = existing.get(qname[position:])
        if found is not None:
            return found
    return -1


class _Resolver:
    """resolve.py's _Resolver over the record table, then wire.py's Encoder."""

    def __init__(self, records: dict[str, Any], qtype: int, class_any: bool) -> None:
        self.names: list[tuple[bytes, int, int, int, int, int]] = records["names"]
        self.rrsets: list[tuple[int, int, int, int]] = records["rrsets"]
        self.rdatas: list[tuple[bytes, tuple[tuple[int, int], ...], int, int]] = records["rdatas"]
        self.apex_name: int = records["apex_name"]
        self.origin: bytes = records["origin"]
        self.soa_rrset: int = records["soa"]
        self.soa_negative_ttl: int = records["soa_negative_ttl"]
        self.ns: int = records["ns"]
        self.qtype = qtype
        self.class_any = class_any
        # [section, owner as written (None: the question's name), owner id, RRset, key]
        self.items: list[list[Any]] = []
        self.by_key: dict[int, list[Any]] = {}
        self.cname_count = 0
        self.rcode = NOERROR
        self.aa = False
        # Encoder state: the reply being laid out from `base` on.
        self.out = bytearray()
        self.base = 0
        self.delta = 0
        self.offsets: dict[int, int] = {}  # name id -> where it was written

    # -- the zone (ZoneModel) --------------------------------------------------
    def has(self, name: int, flag: int) -> bool:
        return bool(self.names[name][5] & flag)

    def find(self, name: int, rtype: int) -> int:
        first, count = self.names[name][3], self.names[name][4]
        for rrset in range(first, first + count):
            if self.rrsets[rrset][0] == rtype:
                return rrset
        return -1

    def encloser(self, name: int) -> int:
        while not self.has(name, EXISTS):
            name = self.names[name][1]
        return name

    def delegation(self, name: int) -> int:
        found = -1
        while name != self.apex_name and self.has(name, IN_ZONE):
            if self.has(name, CUT):
                found = name
            name = self.names[name][1]
        return found

    # -- deciding the answer -----------------------------------------------------
    def add(self, section: int, owner: bytes | None, owner_name: int, rrset: int,
            key: int) -> bool:
        if key != KEY_NONE:
            item = self.by_key.get(key)
            if item is not None:
                if section < item[0]:
                    item[0] = section
                    return True
                return False
        item = [section, owner, owner_name, rrset, key]
        if key != KEY_NONE:
            self.by_key[key] = item
        self.items.append(item)
        return True

    def add_rrset(self, section: int, owner: bytes | None, owner_name: int, rrset: int,
                  key: int) -> bool:
        added = self.add(section, owner, owner_name, rrset, key)
        rtype, _, first, count = self.rrsets[rrset]
        if rtype in (TYPE_NS, TYPE_MX, TYPE_KX, TYPE_SRV):
            for rdata in self.rdatas[first:first + count]:
                if rdata[2] >= 0:
                    self.additional(rdata[0][rdata[3]:], rdata[2], rtype == TYPE_NS)
        return added

    def additional(self, target: bytes, target_name: int, allow_glue: bool) -> None:
        if not self.has(target_name, IN_ZONE):
            return
        if not allow_glue and self.delegation(target_name) >= 0:
            return
        source = target_name
        synthesized = False
        if not self.has(target_name, EXISTS):
            source = self.names[self.encloser(target_name)][2]
            if source < 0:
                return
            synthesized = True
        for rtype, section in ((TYPE_A, ADDITIONAL_A), (TYPE_AAAA, ADDITIONAL_AAAA)):
            rrset = self.find(source, rtype)
            if rrset >= 0:
                self.add(section, target, target_name, rrset, KEY_NONE if synthesized else rrset)

    def soa(self) -> None:
        if not self.class_any:
            self.add_rrset(AUTHORITY, self.origin, self.apex_name, self.soa_rrset,
                           KEY_SOA_NEGATIVE)

    def pick_for_any(self, name: int) -> int:
        first, count = self.names[name][3], self.names[name][4]
        normal = least = -1
        for rrset in range(first, first + count):
            rtype = self.rrsets[rrset][0]
            if rtype in (TYPE_A, TYPE_AAAA, TYPE_SOA, TYPE_MX, TYPE_PTR):
                return rrset
            if rtype in (TYPE_DNSKEY, TYPE_RRSIG, TYPE_NSEC):
                least = rrset
            elif rtype != TYPE_NSEC3:
                normal = rrset
        return normal if normal >= 0 else least

    def domain(self, source: int, owner: bytes | None, owner_name: int,
               synthesized: bool) -> None:
        if self.qtype == TYPE_ANY:
            rrset = self.pick_for_any(source)
            if rrset < 0:
                self.soa()
                return
        else:
            rrset = self.find(source, self.qtype)
            if rrset < 0:
                cname = self.find(source, TYPE_CNAME)
                if cname < 0:
                    self.soa()
                    return
                if self.add_rrset(ANSWER, owner, owner_name, cname,
                                  KEY_NONE if synthesized else cname) \
                        and self.cname_count < MAX_CHAIN:
                    self.cname_count += 1
                    data, _, target_name, target_at = self.rdatas[self.rrsets[cname][2]]
                    target = data[target_at:]
                    if self.has(target_name, IN_ZONE):
                        at = self.encloser(target_name)
                        self.lookup(target, len(self.names[target_name][0]), at,
                                    at == target_name, target, target_name)
                return
        self.add_rrset(ANSWER, owner, owner_name, rrset, KEY_NONE if synthesized else rrset)
        if not self.class_any and self.qtype not in (TYPE_DNSKEY, TYPE_DS, TYPE_ANY):
            self.add_rrset(OPTIONAL_AUTHORITY, self.origin, self.apex_name, self.ns, self.ns)

    def authoritative(self, name: bytes, found: int, exact: bool, owner: bytes | None,
                      owner_name: int) -> None:
        if exact:
            self.domain(found, name, found, False)
            return
        wildcard = self.names[found][2]
        if wildcard < 0:
            self.rcode = NXDOMAIN
            self.soa()
            return
        self.domain(wildcard, owner, owner_name, True)

    def lookup(self, name: bytes, length: int, found: int, exact: bool, owner: bytes | None,
               owner_name: int) -> None:
        """For a name in the zone spelled `name` (`length` bytes), its closest
        encloser `found` (the name itself when `exact`)."""
        if exact and self.qtype == TYPE_DS and found == self.apex_name:
            self.aa = not self.class_any
            self.soa()
            return
        cut = self.delegation(found)
        if cut < 0 or (exact and self.qtype == TYPE_DS and found == cut):
            self.aa = not self.class_any
            self.authoritative(name, found, exact, owner, owner_name)
            return
        self.aa = self.cname_count > 0
        ns = self.find(cut, TYPE_NS)
        self.add_rrset(AUTHORITY, name[length - len(self.names[cut][0]):], cut, ns, ns)

    # -- laying the answer out (wire.py's Encoder) ---------------------------------
    def put_name(self, wire: bytes, name: int) -> None:
        """`wire` compressed against the names written so far, each of its
        suffixes offered for compression while within MAX_POINTER_TARGET."""
        position = 0
        while wire[position] != 0:
            at = self.offsets.get(name)
            if at is not None:
                self.out += (0xC000 | at).to_bytes(2, "big")
                return
            here = self.base + len(self.out)
            if here - self.delta <= MAX_POINTER_TARGET:
                self.offsets[name] = here
            end = position + wire[position] + 1
            self.out += wire[position:end]
            position = end
            name = self.names[name][1]
        self.out.append(0)

    def put_record(self, owner: bytes | None, owner_name: int, rtype: int, ttl: int,
                   rdata: tuple[bytes, tuple[tuple[int, int], ...], int, int]) -> None:
        if owner is None:
            self.out += b"\xc0\x0c"  # the question's name: never relocated
        else:
            self.put_name(owner, owner_name)
        self.out += rtype.to_bytes(2, "big") + b"\x00\x01" + ttl.to_bytes(4, "big")
        length_at = len(self.out)
        self.out += b"\x00\x00"
        data, refs, _, _ = rdata
        done = 0
        for name, at in refs:
            self.out += data[done:at]
            self.put_name(data[at:], name)
            done = at + len(self.names[name][0])
        self.out += data[done:]
        self.out[length_at:length_at + 2] = (len(self.out) - length_at - 2).to_bytes(2, "big")

    def answer(self, query: bytes, qname_len: int, found: int) -> tuple[Any, ...]:
        """The answer to the question, in the shape of a precomputed one
        (precompute.py) laid out for this very question: nothing to relocate."""
        exact = len(self.names[found][0]) == qname_len
        self.lookup(query[12:12 + qname_len], qname_len, found, exact, None, found)
        # precompute.py lays a name's `below` answers out behind the
        # encloser's name, or `*.` it when that wildcard answers.
        layout = len(self.names[found][0])
        if not exact and self.delegation(found) < 0 and self.names[found][2] >= 0:
            layout += 2
        self.base = 12 + qname_len + 4
        self.delta = qname_len - layout
        # The question's suffixes from its closest encloser on (Encoder's first_label).
        position = 12 + qname_len - len(self.names[found][0])
        name = found
        while self.names[name][1] >= 0:
            self.offsets[name] = position
            position += query[position] + 1
            name = self.names[name][1]
        rrsets = []
        for section in range(ANSWER, ADDITIONAL_AAAA + 1):
            for kept, owner, owner_name, rrset, key in self.items:
                if kept != section:
                    continue
                rtype, ttl, first, count = self.rrsets[rrset]
                if key == KEY_SOA_NEGATIVE:
                    ttl = self.soa_negative_ttl
                for rdata in self.rdatas[first:first + count]:
                    self.put_record(owner, owner_name, rtype, ttl, rdata)
                rrsets.append((len(self.out), min(section, ADDITIONAL_A), count))
        flags = (AA if self.aa else 0) | self.rcode
        return (flags, qname_len, bytes(self.out), (), tuple(rrsets), -1)
