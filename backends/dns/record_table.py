"""Compile-time half of the unspecialized `dns_zone`: a zone's records as C data.

`specc compile --no-specialize` builds `dns_zone` without THE DNS
specialization (precomputing every answer, `precompute.py`): the image
carries the zone's records and decides each answer at run time
(`backends/c/runtime/dns/dns_resolve.c`), as NSD does.  The zone is still
parsed at compile time, since a Zone is a compile-time value, so no zone
file parser runs in the image: `build_records(zone)` reads the same
`ZoneModel` as `resolve.py` and `records_to_c()` writes it as C, the
structs of `dns_resolve.h`:

* names: every existing name of the zone (empty non-terminals included),
  every name in rdata that an answer follows (NS, MX, KX, SRV, CNAME
  targets) or writes compressed (the names of NS, CNAME, PTR, MX and SOA,
  `wire.COMPRESSED_RDATA`), and every suffix of these down to the root; each
  with its parent (one label shorter), whether it exists, is in the zone or
  is a zone cut, its wildcard child `*.NAME` when that exists, and its
  RRsets.  Names are unique lower-cased and sorted (bytes order); a name's
  id is its index;
* a hash index over the existing names (`c_table.hash_slots`);
* RRsets (type, TTL, records) in zone order per name; records as their
  wire rdata (uncompressed, names in their own case) with the offsets and
  ids of the names a reply compresses, and the target an answer follows;
* the apex: its lower-cased and its own spelling, its SOA (with the
  negative TTL, min(SOA TTL, minimum), RFC 2308) and NS RRsets;
* scratch: compression offsets (one per name), where each RRset is in the
  answer being built (one per RRset) and room for the RRsets of the
  largest answer (`item_capacity`), in .bss.

The output depends on the zone only: the same zone gives the same text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdatatype
import dns.zone

from .c_table import _byte_array, _scalar_array, _struct_array, hash_slots
from .resolve import ZoneModel
from .wire import COMPRESSED_RDATA, lower_wire, name_wire

FORMAT = 1  # DNS_RECORDS_FORMAT in dns_resolve.h
HEADER = "dns_resolve.h"
NONE = 0xFFFF_FFFF
EXISTS, IN_ZONE, CUT = 1, 2, 4
U16 = 0xFFFF

T = dns.rdatatype
# The rdata field an answer follows: addresses for the first four
# (resolve.py's _ADDITIONAL_TARGET), the chain for CNAME.
_TARGET = {T.NS: "target", T.MX: "exchange", T.KX: "exchange", T.SRV: "target",
           T.CNAME: "target"}
# The rdata fields a reply compresses, in rdata order (wire.Encoder.rdata).
_COMPRESSED_FIELDS = {T.NS: ("target",), T.CNAME: ("target",), T.PTR: ("target",),
                      T.MX: ("exchange",), T.SOA: ("mname", "rname")}
assert set(_COMPRESSED_FIELDS) == COMPRESSED_RDATA


def item_capacity(rrset_sizes: list[int], ns_sizes: list[int]) -> int:
    """The most RRsets one answer holds: a CNAME chain of 33, the final
    RRset and A and AAAA for each of its targets, an NS RRset (referral or
    optional) with addresses for each, the SOA, and some to spare.  The same
    bound as dns_records_valid() checks."""
    return 40 + 2 * max(rrset_sizes, default=0) + 2 * max(ns_sizes, default=0)


@dataclass
class RecordTable:
    """The zone's records, flattened as dns_resolve.h lays them out."""

    apex: bytes
    origin: bytes
    apex_name: int
    soa: int
    soa_negative_ttl: int
    ns: int
    keys: bytearray = field(default_factory=bytearray)
    names: list[tuple[int, ...]] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    rrsets: list[tuple[int, ...]] = field(default_factory=list)
    rdatas: list[tuple[int, ...]] = field(default_factory=list)
    refs: list[tuple[int, int]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    item_cap: int = 0


def _rdata_wire(rdata: dns.rdata.Rdata) -> bytes:
    out = io.BytesIO()
    rdata.to_wire(out, None, None, False)
    return out.getvalue()


def _rdata_names(rdata: dns.rdata.Rdata, wire: bytes) -> tuple[list[tuple[dns.name.Name, int]],
                                                              tuple[dns.name.Name, int] | None]:
    """The compressed names of `rdata` with their offsets, and its target."""
    compressed = []
    position = 0
    for attribute in _COMPRESSED_FIELDS.get(rdata.rdtype, ()):
        name = getattr(rdata, attribute)
        # The names of these types follow fixed fields of known size: MX's
        # preference, nothing for the others.
        at = 2 if rdata.rdtype == T.MX else position
        if wire[at:at + len(name_wire(name))] != name_wire(name):
            raise ValueError(f"{name} is not where it belongs in its rdata")
        compressed.append((name, at))
        position = at + len(name_wire(name))
    target = None
    followed = _TARGET.get(rdata.rdtype)
    if followed is not None:
        name = getattr(rdata, followed)
        fixed = {T.MX: 2, T.KX: 2, T.SRV: 6}.get(rdata.rdtype, 0)
        if wire[fixed:fixed + len(name_wire(name))] != name_wire(name):
            raise ValueError(f"{name} is not where it belongs in its rdata")
        target = (name, fixed)
    return compressed, target


def build_records(zone: dns.zone.Zone) -> RecordTable:
    """The records of `zone` (parsed with relativize=False), as the module docstring says."""
    model = ZoneModel(zone)
    spelled: dict[bytes, dns.name.Name] = {}

    def add_name(name: dns.name.Name) -> None:
        while lower_wire(name) not in spelled:
            spelled[lower_wire(name)] = name
            if name == dns.name.root:
                break
            name = name.parent()

    for name in model.existing:
        add_name(name)
    for name in model.existing:
        for rdataset in model.rrsets.get(name, ()):
            for rdata in rdataset:
                wire = _rdata_wire(rdata)
                compressed, target = _rdata_names(rdata, wire)
                for referenced, _ in [*compressed, *([target] if target else [])]:
                    add_name(referenced)
    keys = sorted(spelled)
    ids = {key: index for index, key in enumerate(keys)}
    table = RecordTable(apex=lower_wire(model.origin), origin=name_wire(model.origin),
                        apex_name=ids[lower_wire(model.origin)], soa=NONE,
                        soa_negative_ttl=model.soa_negative.ttl, ns=NONE)
    rrset_sizes: list[int] = []
    ns_sizes: list[int] = []
    existing_keys: list[bytes] = []
    for key in keys:
        name = spelled[key]
        flags = 0
        if name in model.existing:
            flags |= EXISTS
            existing_keys.append(key)
        if model.in_zone(name):
            flags |= IN_ZONE
            if name != model.origin and model.find(name, T.NS) is not None:
                flags |= CUT
        wildcard = model.wildcard(name) if name in model.existing else None
        parent = NONE if name == dns.name.root else ids[lower_wire(name.parent())]
        first = len(table.rrsets)
        sets = model.rrsets.get(name, []) if name in model.existing else []
        for rdataset in sets:
            if rdataset.rdtype == T.SOA and name == model.origin and table.soa == NONE:
                table.soa = len(table.rrsets)
            if rdataset.rdtype == T.NS and name == model.origin and table.ns == NONE:
                table.ns = len(table.rrsets)
            table.rrsets.append((rdataset.ttl, len(table.rdatas), len(rdataset),
                                 int(rdataset.rdtype)))
            rrset_sizes.append(len(rdataset))
            if rdataset.rdtype == T.NS:
                ns_sizes.append(len(rdataset))
            for rdata in rdataset:
                _add_rdata(table, ids, rdata)
        if len(sets) > U16:
            raise ValueError(f"{name}: more than {U16} RRsets")
        table.names.append((len(table.keys), parent,
                            NONE if wildcard is None else ids[lower_wire(wildcard)],
                            first, len(sets), len(key), flags))
        table.keys += key
    slots = hash_slots(existing_keys)
    table.slots = [0 if slot == 0 else ids[existing_keys[slot - 1]] + 1 for slot in slots]
    table.item_cap = item_capacity(rrset_sizes, ns_sizes)
    return table


def _add_rdata(table: RecordTable, ids: dict[bytes, int], rdata: dns.rdata.Rdata) -> None:
    wire = _rdata_wire(rdata)
    if len(wire) > U16:
        raise ValueError("an rdata longer than 65535 bytes")
    compressed, target = _rdata_names(rdata, wire)
    refs_at = len(table.refs)
    for name, at in compressed:
        table.refs.append((ids[lower_wire(name)], at))
    target_id, target_at = (NONE, 0) if target is None else (ids[lower_wire(target[0])], target[1])
    table.rdatas.append((len(table.data), refs_at, target_id, len(wire), target_at,
                         len(compressed)))
    table.data += wire


def records_to_c(table: RecordTable, name: str) -> str:
    """C source defining `const struct dns_records <name>` for `table`."""
    for size in (len(table.keys), len(table.data), len(table.names), len(table.rrsets),
                 len(table.rdatas), len(table.refs)):
        if size >= NONE:
            raise ValueError("zone too large for 32-bit offsets")
    parts = [
        "/* Generated by specc (backends/dns/record_table.py) from a zone's records.\n"
        " * Do not edit: the layout is described in dns_resolve.h. */\n",
        f'#include "{HEADER}"\n',
        _byte_array(f"{name}_apex", table.apex),
        _byte_array(f"{name}_origin", table.origin),
        _byte_array(f"{name}_keys", table.keys),
        _struct_array("struct dns_name", f"{name}_names", table.names),
        _scalar_array("uint32_t", f"{name}_slots", table.slots),
        _struct_array("struct dns_record_set", f"{name}_rrsets", table.rrsets),
        _struct_array("struct dns_rdata", f"{name}_rdatas", table.rdatas),
        _struct_array("struct dns_name_ref", f"{name}_refs", table.refs),
        _byte_array(f"{name}_data", table.data),
        f"static struct dns_item {name}_items[{table.item_cap}];\n",
        f"static struct dns_offset {name}_offsets[{max(1, len(table.names))}];\n",
        f"static struct dns_seen {name}_seen[{len(table.rrsets) + 1}];\n",
        f"static struct dns_scratch {name}_scratch = "
        f"{{{name}_items, {table.item_cap}, {name}_offsets, {name}_seen, 0}};\n",
    ]
    fields = [
        ("format", str(FORMAT)),
        ("apex", f"{name}_apex"), ("apex_len", str(len(table.apex))),
        ("origin", f"{name}_origin"), ("apex_name", str(table.apex_name)),
        ("soa", str(table.soa)), ("soa_negative_ttl", str(table.soa_negative_ttl)),
        ("ns", str(table.ns)),
        ("names", f"{name}_names"), ("name_count", str(len(table.names))),
        ("keys", f"{name}_keys"), ("keys_len", str(len(table.keys))),
        ("slots", f"{name}_slots"), ("slot_mask", str(len(table.slots) - 1)),
        ("rrsets", f"{name}_rrsets"), ("rrset_count", str(len(table.rrsets))),
        ("rdatas", f"{name}_rdatas"), ("rdata_count", str(len(table.rdatas))),
        ("refs", f"{name}_refs"), ("ref_count", str(len(table.refs))),
        ("data", f"{name}_data"), ("data_len", str(len(table.data))),
        ("scratch", f"&{name}_scratch"),
    ]
    body = "".join(f"    .{key} = {value},\n" for key, value in fields)
    parts.append(f"const struct dns_records {name} = {{\n{body}}};\n")
    return "\n".join(parts)


def records_to_python(table: RecordTable) -> dict[str, object]:
    """`table` as plain Python data (bytes, ints, tuples, dicts, lists), for
    a `repr()` in a generated file: the python target's generic engine
    (`backends/python/runtime/dns_resolve.py`) reads it.  The same fields as
    the C structs, with each name's key and each rdata's bytes inline, a
    dict in place of the hash slots and -1 for none::

        {
          "format": 1,
          "apex": b"...", "origin": b"...",      # lower-cased / own spelling
          "apex_name": 3, "soa": 0, "soa_negative_ttl": 300, "ns": 1,
          "names": [(key, parent, wildcard, first_rrset, rrset_count, flags), ...],
          "existing": {key: name_id, ...},        # EXISTS names only
          "rrsets": [(type, ttl, first_rdata, rdata_count), ...],
          "rdatas": [(wire, ((name_id, at), ...), target_id, target_at), ...],
        }
    """
    def none(value: int) -> int:
        return -1 if value == NONE else value

    names = []
    existing = {}
    for index, (key_at, parent, wildcard, first, count, key_len, flags) in enumerate(table.names):
        key = bytes(table.keys[key_at:key_at + key_len])
        names.append((key, none(parent), none(wildcard), first, count, flags))
        if flags & EXISTS:
            existing[key] = index
    rdatas = []
    for data_at, refs_at, target, length, target_at, ref_count in table.rdatas:
        refs = tuple((name, at) for name, at in table.refs[refs_at:refs_at + ref_count])
        rdatas.append((bytes(table.data[data_at:data_at + length]), refs, none(target),
                       target_at))
    return {
        "format": FORMAT,
        "apex": table.apex, "origin": table.origin, "apex_name": table.apex_name,
        "soa": none(table.soa), "soa_negative_ttl": table.soa_negative_ttl, "ns": none(table.ns),
        "names": names,
        "existing": existing,
        "rrsets": [(rtype, ttl, rdata, count) for ttl, rdata, count, rtype in table.rrsets],
        "rdatas": rdatas,
    }
