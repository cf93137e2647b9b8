"""What an authoritative server answers, decided the way NSD 4 decides it.

`resolve(zone, qname, qtype, class_any)` returns a `Resolution`: the rcode,
the AA bit and the RRsets in NSD's sections, in NSD's order.  It follows
NSD's query.c step by step, because the answers must equal NSD's:

* lookup: exact match, else the closest existing encloser (empty
  non-terminals exist); a name at or under a zone cut below the apex gets a
  referral (AA clear), except a DS query at the cut itself, answered from
  the parent side;
* wildcards (RFC 4592): `*.E` answers for names under the closest encloser
  E, with the question's name as owner;
* CNAME: the chain is followed inside the zone (the first CNAME's target
  only, each RRset once, so loops stop); a target outside the zone ends it;
* ANY: one RRset (RFC 8482, as NSD since 4.3): the first of A, AAAA, SOA,
  MX, PTR in zone order, else the last other type, else the last of DNSKEY,
  RRSIG, NSEC;
* negative answers carry the SOA with TTL min(SOA TTL, SOA minimum)
  (RFC 2308); positive ones the apex NS in an optional authority section
  (not for ANY, DS, DNSKEY);
* additional records: A then AAAA of NS (glue allowed), MX, KX, MB and SRV
  targets (glue skipped), expanded from a wildcard when the target does not
  exist; an RRset already in an earlier section is not repeated;
* QCLASS ANY: the same data, AA clear, no SOA and no optional NS.

DNAME is not synthesized: a DNAME RRset is data like any other.

The precompute resolves every name of a zone for every type (hundreds of
thousands of resolutions for a zone of 10,000 records), so the resolver
works on label tuples rather than `dns.name.Name`, whose compare, hash and
`parent()` re-lower and re-check every label on every call: a name is its
labels (in their own case: owners are written as the question or the rdata
spells them) and its *key*, the labels ASCII lower-cased, which compare
equal exactly when dnspython's names do.  Facts about a key that do not
depend on the question (its zone cut) are computed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.name
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone

ANSWER, AUTHORITY, OPTIONAL_AUTHORITY, ADDITIONAL_A, ADDITIONAL_AAAA, ADDITIONAL_OTHER = range(6)

T = dns.rdatatype
_PREFERRED_FOR_ANY = frozenset({T.A, T.AAAA, T.SOA, T.MX, T.PTR})
_LEAST_FOR_ANY = frozenset({T.DNSKEY, T.RRSIG, T.NSEC})
_NO_NS_AUTHORITY = frozenset({T.DNSKEY, T.DS, T.ANY})
# rdata field holding the name whose addresses go in the additional section
_ADDITIONAL_TARGET = {T.NS: "target", T.MX: "exchange", T.KX: "exchange", T.SRV: "target"}
_MAX_CHAIN = 32  # CNAMEs followed; wildcard CNAME loops would otherwise go on

Labels = tuple[bytes, ...]  # a name's labels, in their own case, the root label last
Key = tuple[bytes, ...]  # the same labels ASCII lower-cased: equal keys, equal names


def name_key(labels: Labels) -> Key:
    """The key of a name: how dnspython and NSD compare names (ASCII only)."""
    return tuple(label.lower() for label in labels)


def labels_wire(labels: Labels) -> bytes:
    """The uncompressed wire form of an absolute name given as labels."""
    return b"".join(bytes((len(label),)) + label for label in labels)


class ZoneModel:
    """The zone as NSD's name tree sees it."""

    def __init__(self, zone: dns.zone.Zone) -> None:
        if zone.origin is None:
            raise ValueError("the zone has no origin")
        self.origin: dns.name.Name = zone.origin
        self.rrsets: dict[dns.name.Name, list[dns.rdataset.Rdataset]] = {}
        for name, node in zone.nodes.items():
            absolute = name.derelativize(self.origin)
            if node.rdatasets and absolute.is_subdomain(self.origin):
                self.rrsets[absolute] = [r for r in node.rdatasets if r.rdclass == dns.rdataclass.IN]
        self.existing: set[dns.name.Name] = set()
        for name, sets in self.rrsets.items():
            if not sets:
                continue
            while name not in self.existing and name.is_subdomain(self.origin):
                self.existing.add(name)
                if name == self.origin:
                    break
                name = name.parent()
        soa = self.find(self.origin, T.SOA)
        ns = self.find(self.origin, T.NS)
        if soa is None or ns is None:
            raise ValueError("the zone needs an SOA and NS records at its apex")
        self.ns = ns
        # RFC 2308: the negative TTL is the smaller of the SOA's TTL and minimum
        self.soa_negative = dns.rdataset.from_rdata_list(min(soa.ttl, soa[0].minimum), list(soa))
        # The same zone by key, for the resolver (see the module docstring).
        self.origin_labels: Labels = self.origin.labels
        self.origin_key = name_key(self.origin_labels)
        self.sets: dict[Key, list[dns.rdataset.Rdataset]] = {
            name_key(name.labels): sets for name, sets in self.rrsets.items()}
        self.existing_keys: set[Key] = {name_key(name.labels) for name in self.existing}
        self._keys: dict[Labels, Key] = {}
        self._cuts: dict[Key, int | None] = {}
        self._wires: dict[Labels, bytes] = {}

    def find(self, name: dns.name.Name, rdtype: int) -> dns.rdataset.Rdataset | None:
        for rdataset in self.rrsets.get(name, ()):
            if rdataset.rdtype == rdtype:
                return rdataset
        return None

    def in_zone(self, name: dns.name.Name) -> bool:
        return name.is_subdomain(self.origin)

    def encloser(self, name: dns.name.Name) -> dns.name.Name:
        """The closest existing ancestor-or-self (the name must be in the zone)."""
        while name not in self.existing:
            name = name.parent()
        return name

    def delegation(self, name: dns.name.Name) -> dns.name.Name | None:
        """The highest name at or above `name`, below the apex, that has NS."""
        found = None
        while name != self.origin and name.is_subdomain(self.origin):
            if self.find(name, T.NS) is not None:
                found = name
            name = name.parent()
        return found

    def wildcard(self, encloser: dns.name.Name) -> dns.name.Name | None:
        child = dns.name.Name((b"*", *encloser.labels))
        return child if child in self.existing else None

    # -- the same questions by key (the resolver's) ---------------------------
    def key(self, labels: Labels) -> Key:
        """`name_key(labels)`, kept: the same names are asked for every type."""
        found = self._keys.get(labels)
        if found is None:
            found = self._keys[labels] = name_key(labels)
        return found

    def find_key(self, key: Key, rdtype: int) -> dns.rdataset.Rdataset | None:
        for rdataset in self.sets.get(key, ()):
            if rdataset.rdtype == rdtype:
                return rdataset
        return None

    def in_zone_key(self, key: Key) -> bool:
        return key[-len(self.origin_key):] == self.origin_key

    def encloser_start(self, key: Key) -> int:
        """Where the closest existing ancestor-or-self of `key` (in the zone)
        starts: it is `key[start:]`."""
        start = 0
        while key[start:] not in self.existing_keys:
            start += 1
        return start

    def cut_start(self, key: Key) -> int | None:
        """`delegation()` by key: where the highest name at or above `key`,
        below the apex, that has NS starts in `key`; None if there is none.
        Kept per key: the resolver asks it of every encloser for every type."""
        if key in self._cuts:
            return self._cuts[key]
        found = None
        if self.in_zone_key(key):
            # From just below the apex down: the first with NS is the highest.
            for start in range(len(key) - len(self.origin_key) - 1, -1, -1):
                if self.find_key(key[start:], T.NS) is not None:
                    found = start
                    break
        self._cuts[key] = found
        return found

    def wire(self, labels: Labels) -> bytes:
        """`labels_wire(labels)`, kept: the same owners are written again and again."""
        found = self._wires.get(labels)
        if found is None:
            found = self._wires[labels] = labels_wire(labels)
        return found


@dataclass
class Item:
    section: int
    owner: bytes | None  # wire form, in its own case; None: the question's own name
    rdataset: dns.rdataset.Rdataset
    key: tuple[object, ...]


@dataclass
class Resolution:
    rcode: int = 0
    aa: bool = False
    items: list[Item] = field(default_factory=list)
    # The names whose RRset of the question's type the resolver looked up
    # (see `resolves_alike`).
    probed: list[Key] = field(default_factory=list)


class _Resolver:
    def __init__(self, zone: ZoneModel, qname: dns.name.Name, qtype: int, class_any: bool):
        self.zone = zone
        self.qname = qname
        self.qtype = qtype
        self.class_any = class_any
        self.out = Resolution()
        self.cname_count = 0
        self.synthesized = 0
        self.by_key: dict[tuple[object, ...], Item] = {}  # out.items by key: no search per add

    # -- answer_add_rrset / add_rrset ------------------------------------
    def add(self, section: int, owner: Labels | None, rdataset: dns.rdataset.Rdataset,
            key: tuple[object, ...]) -> bool:
        item = self.by_key.get(key)
        if item is not None:
            if section < item.section:
                item.section = section
                return True
            return False
        wire = None if owner is None else self.zone.wire(owner)
        item = self.by_key[key] = Item(section, wire, rdataset, key)
        self.out.items.append(item)
        return True

    def add_rrset(self, section: int, owner: Labels | None,
                  rdataset: dns.rdataset.Rdataset, key: tuple[object, ...]) -> bool:
        added = self.add(section, owner, rdataset, key)
        attribute = _ADDITIONAL_TARGET.get(rdataset.rdtype)
        if attribute is not None:
            allow_glue = rdataset.rdtype == T.NS
            for rdata in rdataset:
                self.additional(getattr(rdata, attribute).labels, allow_glue)
        return added

    def additional(self, target: Labels, allow_glue: bool) -> None:
        zone = self.zone
        target_key = zone.key(target)
        if not zone.in_zone_key(target_key):
            return
        if not allow_glue and zone.cut_start(target_key) is not None:
            return
        source = target_key
        key: tuple[object, ...] = ("node", target_key)
        if target_key not in zone.existing_keys:
            wildcard = (b"*", *target_key[zone.encloser_start(target_key):])
            if wildcard not in zone.existing_keys:
                return
            source = wildcard
            self.synthesized += 1
            key = ("synthesized", self.synthesized)
        for rdtype, section in ((T.A, ADDITIONAL_A), (T.AAAA, ADDITIONAL_AAAA)):
            rdataset = zone.find_key(source, rdtype)
            if rdataset is not None:
                self.add(section, target, rdataset, (*key, rdtype))

    # -- answer_lookup_zone ------------------------------------------------
    def lookup(self, name: Labels, owner: Labels | None) -> None:
        zone = self.zone
        key = zone.key(name)
        if not zone.in_zone_key(key):
            if self.cname_count == 0:
                self.out.rcode = 5  # REFUSED
            return
        start = zone.encloser_start(key)
        exact = start == 0
        encloser = key[start:]
        if exact and self.qtype == T.DS and encloser == zone.origin_key:
            self.out.aa = not self.class_any
            self.nodata()
            return
        cut = zone.cut_start(encloser)
        if cut is None or (exact and self.qtype == T.DS and cut == 0):
            self.out.aa = not self.class_any
            self.authoritative(name, key, owner, start)
            return
        self.out.aa = self.cname_count > 0
        # The cut is an ancestor of the question: its owner is spelled as there.
        at = start + cut
        ns = zone.find_key(key[at:], T.NS)
        assert ns is not None
        self.add_rrset(AUTHORITY, name[at:], ns, ("node", key[at:], T.NS))

    def authoritative(self, name: Labels, key: Key, owner: Labels | None,
                      encloser_start: int) -> None:
        if encloser_start == 0:
            self.domain(key, name, ("node", key))
            return
        wildcard = (b"*", *key[encloser_start:])
        if wildcard not in self.zone.existing_keys:
            self.out.rcode = 3  # NXDOMAIN
            self.soa()
            return
        self.synthesized += 1
        self.domain(wildcard, owner, ("synthesized", self.synthesized))

    # -- answer_domain -----------------------------------------------------
    def domain(self, source: Key, owner: Labels | None, key: tuple[object, ...]) -> None:
        zone = self.zone
        if self.qtype == T.ANY:
            chosen = self.pick_for_any(zone.sets.get(source, []))
            if chosen is None:
                self.nodata()
                return
            self.add_rrset(ANSWER, owner, chosen, (*key, chosen.rdtype))
        elif (rdataset := self.find_qtype(source)) is not None:
            self.add_rrset(ANSWER, owner, rdataset, (*key, self.qtype))
        elif (cname := zone.find_key(source, T.CNAME)) is not None:
            if self.add_rrset(ANSWER, owner, cname, (*key, T.CNAME)) \
                    and self.cname_count < _MAX_CHAIN:
                self.cname_count += 1
                target: Labels = cname[0].target.labels
                self.lookup(target, target)
            return
        else:
            self.nodata()
            return
        if not self.class_any and self.qtype not in _NO_NS_AUTHORITY:
            self.add_rrset(OPTIONAL_AUTHORITY, zone.origin_labels, zone.ns,
                           ("node", zone.origin_key, T.NS))

    def find_qtype(self, source: Key) -> dns.rdataset.Rdataset | None:
        """The RRset of the question's type at `source`; the only place the
        resolver looks one up (`resolves_alike` relies on it)."""
        self.out.probed.append(source)
        return self.zone.find_key(source, self.qtype)

    @staticmethod
    def pick_for_any(rdatasets: list[dns.rdataset.Rdataset]) -> dns.rdataset.Rdataset | None:
        normal = least = None
        for rdataset in rdatasets:
            if rdataset.rdtype in _PREFERRED_FOR_ANY:
                return rdataset
            if rdataset.rdtype in _LEAST_FOR_ANY:
                least = rdataset
            elif rdataset.rdtype != T.NSEC3:
                normal = rdataset
        return normal or least

    def nodata(self) -> None:
        self.soa()

    def soa(self) -> None:
        if not self.class_any:
            self.add_rrset(AUTHORITY, self.zone.origin_labels, self.zone.soa_negative,
                           ("soa-negative",))


# The qtypes the resolver compares its qtype with.
_TESTED_QTYPES = frozenset({T.ANY, T.DS}) | _NO_NS_AUTHORITY


def resolves_alike(zone: ZoneModel, resolution: Resolution, qtype: int) -> bool:
    """Whether the question `resolution` answers, asked for `qtype`, resolves
    the same, when `resolution` was made for a type that the zone has at none
    of the names it looked at and that is not in _TESTED_QTYPES.

    The resolver reads its qtype only in comparisons with _TESTED_QTYPES and
    in looking up the qtype's RRset at `resolution.probed` (a key holding the
    qtype is made only when that finds one): when `qtype` is not tested
    either and is found at none of them, every step is taken the same way.
    The precompute asks each name for a dozen types, most of them absent."""
    return qtype not in _TESTED_QTYPES and all(
        zone.find_key(key, qtype) is None for key in resolution.probed)


def resolve(zone: ZoneModel, qname: dns.name.Name, qtype: int,
            class_any: bool = False) -> Resolution:
    """NSD's answer for `qname`.  Records synthesized from a wildcard for the
    question's name itself have the owner None: the question's name, written
    as a pointer to it."""
    resolver = _Resolver(zone, qname, qtype, class_any)
    resolver.lookup(qname.labels, None)
    return resolver.out
