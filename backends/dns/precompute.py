"""Compile time half of `dns_zone`: every answer of a zone, precomputed.

`build_table(zone)` turns a dnspython zone (parsed with relativize=False)
into a table of wire-format answers, so that the run-time half
(`backends/python/runtime/dns_answer.py`, later a C twin) only parses the
question, looks up, copies and patches.  What goes into each answer is
decided by `resolve.py`, which mirrors NSD 4; names are compressed the way
NSD compresses them (`wire.py`).

The table is plain data (dicts, tuples, ints, bytes), deterministic, fit for
`repr()` in a generated Python file and for C arrays::

    {
      "format": 1,
      "apex": b"\\x07example\\x03org\\x00",     # lower-cased wire name
      "nodes": {                               # every existing name, empty
        b"\\x03www\\x07example\\x03org\\x00": (   # non-terminals included;
          {1: 4, 28: 5, 255: 4},               # exact: qtype -> answer index
          6,                                   # exact, any other qtype
          {},                                  # below: qtype -> answer index
          7,                                   # below, any other qtype
        ),
        ...
      },
      "answers": [                             # shared by index
        (flags, qlen, body, relocs, rrsets, class_any),
        ...
      ],
    }

Keys are lower-cased (ASCII only, as NSD) wire names.  A question whose name
is a key uses the node's *exact* answers.  Any other name in the zone uses
the *below* answers of its closest existing ancestor (its closest encloser):
NXDOMAIN, a referral when the ancestor is at or under a zone cut, or the
expansion of the wildcard `*.<ancestor>`.

An answer:

* `flags`: the AA bit (0x0400) and the rcode (low four bits);
* `qlen`: the length of the question name the body was laid out for.  Exact
  answers use the node's own name; below answers use the ancestor's name
  (or `*.<ancestor>` for wildcards);
* `body`: the answer, authority and additional records, to be copied right
  after the question (which starts at offset 12); owner names and NS, CNAME,
  PTR, MX and SOA rdata names are compressed, against the question too;
* `relocs`: positions in `body` of the compression pointers to add
  `len(real question name) - qlen` to (empty for exact answers, whose
  question always has length `qlen`).  Pointers to offset 12 (the question's
  own name, the owner of wildcard-synthesized records) are not listed;
* `rrsets`: one `(end, kind, count)` per RRset in body order: `end` is the
  RRset's end offset in `body`, `count` its number of records, `kind` 0 for
  answer, 1 for authority, 2 for optional authority (NS with a positive
  answer), 3 for additional.  Truncation cuts `body` at an RRset end: when an
  answer or authority RRset does not fit, TC is set; optional ones are just
  left out (as NSD does);
* `class_any`: the index of the answer for QCLASS ANY, or -1 when that
  answer is this one cut after its answer section, with AA clear.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rdatatype
import dns.zone

from .resolve import (
    ADDITIONAL_A,
    ANSWER,
    AUTHORITY,
    OPTIONAL_AUTHORITY,
    Resolution,
    ZoneModel,
    resolve,
    resolves_alike,
)
from .wire import Encoder, Layouts, lower_wire, name_wire

FORMAT = 1
AA = 0x0400

Answer = tuple[int, int, bytes, tuple[int, ...], tuple[tuple[int, int, int], ...], int]
Node = tuple[dict[int, int], int, dict[int, int], int]

T = dns.rdatatype
_ALWAYS_ASKED = frozenset({T.ANY, T.DS, T.DNSKEY, T.CNAME})


def _kind(section: int) -> int:
    if section >= ADDITIONAL_A:
        return 3
    return {ANSWER: 0, AUTHORITY: 1, OPTIONAL_AUTHORITY: 2}[section]


def encode(resolution: Resolution, question: bytes, first_label: int, relocate: bool,
           layouts: Layouts | None = None) -> Answer:
    """Lay `resolution` out behind a question named `question` (wire form)."""
    enc = Encoder(question, first_label, layouts)
    rrsets: list[tuple[int, int, int]] = []
    for section in range(ANSWER, ADDITIONAL_A + 3):
        for item in resolution.items:
            if item.section != section:
                continue
            enc.rrset(item.owner, item.rdataset)
            rrsets.append((len(enc.buf) - enc.body_start, _kind(section), len(item.rdataset)))
    flags = (AA if resolution.aa else 0) | resolution.rcode
    relocs = tuple(p - enc.body_start for p in enc.pointers) if relocate else ()
    return (flags, len(question), bytes(enc.buf[enc.body_start:]), relocs, tuple(rrsets), -1)


def _answer_section_only(answer: Answer) -> Answer:
    """What the run-time half makes of `answer` for QCLASS ANY when class_any is -1."""
    flags, qlen, body, relocs, rrsets, _ = answer
    kept = tuple(r for r in rrsets if r[1] == 0)
    cut = kept[-1][0] if kept else 0
    return (flags & ~AA, qlen, body[:cut], tuple(p for p in relocs if p < cut), kept, -1)


class _Builder:
    def __init__(self, zone: dns.zone.Zone) -> None:
        self.model = ZoneModel(zone)
        present = {r.rdtype for sets in self.model.rrsets.values() for r in sets}
        self.qtypes = sorted(present | _ALWAYS_ASKED)
        # A private-use type that the zone does not have stands for every
        # type the zone does not have.
        self.other = next(t for t in range(65280, 65535) if t not in present)
        self.answers: list[Answer] = []
        self.index: dict[Answer, int] = {}
        self.layouts = Layouts()
        # Answers laid out, by what they are laid out from: most types of a
        # name get the same resolution (NODATA, or the same CNAME), and the
        # layout is the costly half.  RRsets are keyed by identity: they are
        # the model's, alive as long as this builder.
        self.encoded: dict[tuple[object, ...], Answer] = {}

    def intern(self, answer: Answer) -> int:
        found = self.index.get(answer)
        if found is None:
            found = self.index[answer] = len(self.answers)
            self.answers.append(answer)
        return found

    def encode(self, resolution: Resolution, question: bytes, first_label: int,
               relocate: bool) -> Answer:
        """`encode()`, once per distinct layout."""
        key = (question, first_label, relocate, resolution.rcode, resolution.aa,
               *[(item.section, item.owner, id(item.rdataset)) for item in resolution.items])
        found = self.encoded.get(key)
        if found is None:
            found = self.encoded[key] = encode(resolution, question, first_label, relocate,
                                               self.layouts)
        return found

    def answer(self, qname: dns.name.Name, qtype: int, question: bytes, first_label: int,
               relocate: bool) -> tuple[int, list[Resolution]]:
        """The answer's index, and the resolutions it was made from."""
        plain = resolve(self.model, qname, qtype)
        for_any = resolve(self.model, qname, qtype, class_any=True)
        laid_out = self.encode(plain, question, first_label, relocate)
        any_laid_out = self.encode(for_any, question, first_label, relocate)
        class_any = -1 if any_laid_out == _answer_section_only(laid_out) \
            else self.intern(any_laid_out)
        return self.intern((*laid_out[:5], class_any)), [plain, for_any]

    def by_type(self, qname: dns.name.Name, question: bytes, first_label: int,
                relocate: bool) -> tuple[dict[int, int], int]:
        default, made_from = self.answer(qname, self.other, question, first_label, relocate)
        answers = {}
        for qtype in self.qtypes:
            # Most types of a name are answered as `other` (NODATA, say):
            # known without resolving them (`other` is in no RRset of the
            # zone, as resolves_alike needs), and left out of the map anyway.
            if all(resolves_alike(self.model, r, qtype) for r in made_from):
                continue
            found = self.answer(qname, qtype, question, first_label, relocate)[0]
            if found != default:
                answers[int(qtype)] = found
        return answers, default

    def node(self, name: dns.name.Name) -> Node:
        own = name_wire(name)
        exact, exact_default = self.by_type(name, own, 0, relocate=False)
        child = self.absent_child(name)
        if child is None:  # no name can be longer: nothing lies below
            return exact, exact_default, {}, exact_default
        model = self.model
        if model.delegation(name) is None and model.wildcard(name) is not None:
            below = self.by_type(child, b"\x01*" + own, 1, relocate=True)
        else:
            below = self.by_type(child, own, 0, relocate=True)
        return exact, exact_default, below[0], below[1]

    def absent_child(self, name: dns.name.Name) -> dns.name.Name | None:
        for label in (b"\x00", b"\x01", b"-", b"specc-absent"):
            try:
                child = dns.name.Name((label, *name.labels))
            except dns.name.NameTooLong:
                return None
            if child not in self.model.existing and label != b"*":
                return child
        raise ValueError(f"cannot find a name that does not exist under {name}")


def build_table(zone: dns.zone.Zone) -> dict[str, Any]:
    """Every answer for `zone`, laid out as the module docstring says."""
    builder = _Builder(zone)
    nodes: dict[bytes, Node] = {}
    for name in sorted(builder.model.existing, key=lower_wire):
        nodes[lower_wire(name)] = builder.node(name)
    return {
        "format": FORMAT,
        "apex": lower_wire(builder.model.origin),
        "nodes": nodes,
        "answers": builder.answers,
    }
