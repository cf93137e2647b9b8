"""A precomputed DNS table (`precompute.build_table`) as C source.

`table_to_c(table, name)` writes the body of a `.c` file that defines
`const struct dns_table NAME`, the struct declared in
`backends/c/runtime/dns/dns_answer.h`, for `dns_answer()` in
`dns_answer.c` (the C twin of `backends/python/runtime/dns_answer.py`).

Layout: the Python tuples are flattened into a few `static const` arrays
that refer to each other by index, so the whole table is read-only data
without relocations but the handful of pointers in `NAME` itself:

* `NAME_names`: every node key (lower-cased wire name) back to back;
* `NAME_nodes`: one `struct dns_node` per key, sorted by key in Python's
  bytes order (memcmp, then the shorter first);
* `NAME_slots`: an open-addressing hash index over the nodes, so that
  `dns_answer()` finds a name in one or two probes whatever the zone's size:
  a power of two of at least twice as many slots as nodes, each 0 (empty)
  or 1 + a node's index, the node put at `name_hash(key) & (slots - 1)` or
  the next empty slot after it (linear probing), in node order.  A binary
  search over 10,000 names took 14 compares, each on another page of the
  table (costly under QEMU's TCG, whose software TLB is small);
* `NAME_types`: the nodes' qtype -> answer maps, each a run sorted by
  qtype (binary searched: a node has a handful);
* `NAME_answers`: one `struct dns_table_answer` per answer, in the table's
  order (indexes are kept), with runs of `NAME_bodies`, `NAME_relocs` and
  `NAME_rrsets`.

An empty array gets one zero element (ISO C has no empty arrays); its
length in `NAME` stays 0.  The output depends on the table only: the same
table gives the same text.  A table that is not of the documented shape
raises ValueError rather than giving C that would misbehave.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1  # precompute.FORMAT, which this layout follows
FNV_OFFSET = 0x811C9DC5  # 32-bit FNV-1a, as name_hash() in dns_answer.c
FNV_PRIME = 0x01000193
HEADER = "dns_answer.h"
BYTES_PER_LINE = 16
MAX_NAME = 255
MAX_LABEL = 63
RRSET_KINDS = range(4)
U16 = 0xFFFF
U32 = 0xFFFF_FFFF
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Node = tuple[dict[int, int], int, dict[int, int], int]
Answer = tuple[int, int, bytes, tuple[int, ...], tuple[tuple[int, int, int], ...], int]


@dataclass
class _Arrays:
    """The flattened table, element by element, before it is written out."""

    names: bytearray = field(default_factory=bytearray)
    nodes: list[tuple[int, ...]] = field(default_factory=list)
    types: list[tuple[int, int]] = field(default_factory=list)
    answers: list[tuple[int, ...]] = field(default_factory=list)
    bodies: bytearray = field(default_factory=bytearray)
    relocs: list[int] = field(default_factory=list)
    rrsets: list[tuple[int, int, int]] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)  # node keys, in node order


def table_to_c(table: dict[str, Any], name: str) -> str:
    """C source defining `const struct dns_table <name>` for `table`."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a C identifier: {name!r}")
    if table.get("format") != FORMAT:
        raise ValueError(f"table format {table.get('format')!r}, expected {FORMAT}")
    answers: Sequence[Answer] = table["answers"]
    apex = _name(table["apex"], "apex")
    arrays = _Arrays()
    for key in sorted(table["nodes"]):
        _add_node(arrays, _name(key, "node key"), table["nodes"][key], len(answers))
    for index, answer in enumerate(answers):
        _add_answer(arrays, answer, len(answers), index)
    return _render(arrays, apex, name)


def _name(wire: object, what: str) -> bytes:
    """`wire` checked to be a lower-cased wire-format name of at most 255 bytes."""
    if not isinstance(wire, bytes) or not 0 < len(wire) <= MAX_NAME:
        raise ValueError(f"{what}: not a wire name: {wire!r}")
    position = 0
    while position < len(wire) and 0 < wire[position] <= MAX_LABEL:
        position += wire[position] + 1
    # The loop stops at the root label only if it is the last byte.
    if position != len(wire) - 1 or wire[position] != 0 or wire.lower() != wire:
        raise ValueError(f"{what}: not a lower-cased wire name: {wire!r}")
    return wire


def _index(value: object, limit: int, what: str) -> int:
    """`value` checked to be an int in [0, limit)."""
    if not isinstance(value, int) or not 0 <= value < limit:
        raise ValueError(f"{what}: {value!r} is not in [0, {limit})")
    return value


def _add_map(arrays: _Arrays, by_type: dict[int, int], answer_count: int) -> tuple[int, int]:
    """Appends a qtype -> answer map, sorted by qtype; returns (first, count)."""
    first = len(arrays.types)
    for qtype in sorted(by_type):
        _index(qtype, U16 + 1, "qtype")
        arrays.types.append((qtype, _index(by_type[qtype], answer_count, "answer index")))
    return first, len(by_type)


def _add_node(arrays: _Arrays, key: bytes, node: Node, answer_count: int) -> None:
    exact, exact_default, below, below_default = node
    offset = len(arrays.names)
    arrays.names += key
    arrays.keys.append(key)
    exact_first, exact_count = _add_map(arrays, exact, answer_count)
    below_first, below_count = _add_map(arrays, below, answer_count)
    arrays.nodes.append((
        offset,
        exact_first, exact_count, _index(exact_default, answer_count, "answer index"),
        below_first, below_count, _index(below_default, answer_count, "answer index"),
        len(key),
    ))


def _add_answer(arrays: _Arrays, answer: Answer, answer_count: int, index: int) -> None:
    flags, qlen, body, relocs, rrsets, class_any = answer
    what = f"answer {index}"
    if not isinstance(body, bytes):
        raise ValueError(f"{what}: body is not bytes")
    _index(flags, U16 + 1, f"{what} flags")
    _index(qlen, MAX_NAME + 1, f"{what} qlen")
    if class_any != -1:
        _index(class_any, answer_count, f"{what} class_any")
    body_at, relocs_at, rrsets_at = len(arrays.bodies), len(arrays.relocs), len(arrays.rrsets)
    arrays.bodies += body
    arrays.relocs += (_index(at, len(body) - 1, f"{what} reloc") for at in relocs)
    for end, kind, count in rrsets:
        arrays.rrsets.append((_index(end, len(body) + 1, f"{what} RRset end"),
                              _index(count, U16 + 1, f"{what} RRset count"),
                              _index(kind, len(RRSET_KINDS), f"{what} RRset kind")))
    arrays.answers.append((body_at, len(body), relocs_at, len(relocs), rrsets_at, len(rrsets),
                           class_any, flags, qlen))


def name_hash(key: bytes) -> int:
    """32-bit FNV-1a of `key`: the hash `dns_answer.c` computes."""
    h = FNV_OFFSET
    for byte in key:
        h = ((h ^ byte) * FNV_PRIME) & U32
    return h


def hash_slots(keys: Sequence[bytes]) -> list[int]:
    """The open-addressing index of `keys` (see the module docstring).

    At least twice as many slots as keys keeps an empty slot, where every
    probe for a name not in the zone stops, and short runs: the keys are
    fixed at compile time, so a question can at worst walk the longest run
    of this table, however it was chosen."""
    size = 1
    while size < 2 * len(keys):
        size *= 2
    slots = [0] * size
    for index, key in enumerate(keys):
        at = name_hash(key) & (size - 1)
        while slots[at]:
            at = (at + 1) & (size - 1)
        slots[at] = index + 1
    return slots


def _render(arrays: _Arrays, apex: bytes, name: str) -> str:
    for size in (len(arrays.names), len(arrays.bodies), len(arrays.types), len(arrays.relocs),
                 len(arrays.rrsets), len(arrays.answers), 2 * len(arrays.nodes)):
        if size > U32:
            raise ValueError("table too large for 32-bit offsets")
    slots = hash_slots(arrays.keys)
    parts = [
        "/* Generated by specc (backends/dns/c_table.py) from a precomputed DNS table.\n"
        " * Do not edit: the layout is described in dns_answer.h. */\n",
        f'#include "{HEADER}"\n',
        _byte_array(f"{name}_apex", apex),
        _byte_array(f"{name}_names", arrays.names),
        _struct_array("struct dns_node", f"{name}_nodes", arrays.nodes),
        _scalar_array("uint32_t", f"{name}_slots", slots),
        _struct_array("struct dns_type_answer", f"{name}_types", arrays.types),
        _struct_array("struct dns_table_answer", f"{name}_answers", arrays.answers),
        _byte_array(f"{name}_bodies", arrays.bodies),
        _scalar_array("uint32_t", f"{name}_relocs", arrays.relocs),
        _struct_array("struct dns_rrset", f"{name}_rrsets", arrays.rrsets),
        _table(arrays, apex, name, len(slots)),
    ]
    return "\n".join(parts)


def _table(arrays: _Arrays, apex: bytes, name: str, slot_count: int) -> str:
    fields = [
        ("format", str(FORMAT)),
        ("apex", f"{name}_apex"), ("apex_len", str(len(apex))),
        ("nodes", f"{name}_nodes"), ("node_count", str(len(arrays.nodes))),
        ("slots", f"{name}_slots"), ("slot_mask", str(slot_count - 1)),
        ("names", f"{name}_names"), ("names_len", str(len(arrays.names))),
        ("types", f"{name}_types"), ("types_len", str(len(arrays.types))),
        ("answers", f"{name}_answers"), ("answer_count", str(len(arrays.answers))),
        ("bodies", f"{name}_bodies"), ("bodies_len", str(len(arrays.bodies))),
        ("relocs", f"{name}_relocs"), ("relocs_len", str(len(arrays.relocs))),
        ("rrsets", f"{name}_rrsets"), ("rrsets_len", str(len(arrays.rrsets))),
    ]
    body = "".join(f"    .{key} = {value},\n" for key, value in fields)
    return f"const struct dns_table {name} = {{\n{body}}};\n"


def _lines(items: Sequence[str], per_line: int) -> str:
    """`items` as comma-terminated entries, `per_line` to an indented line."""
    if not items:
        items, per_line = ["0"], 1  # ISO C has no empty array: one unused zero
    rows = (items[i:i + per_line] for i in range(0, len(items), per_line))
    return "".join("    " + " ".join(f"{item}," for item in row) + "\n" for row in rows)


# Each byte as written, with its comma: a generated zone's table has megabytes
# of them, so they are looked up, not formatted one by one.
_BYTE_ITEMS = tuple(f"0x{byte:02x}," for byte in range(256))


def _byte_array(symbol: str, data: bytes | bytearray) -> str:
    """As `_lines` would write the bytes' items, a row at a time."""
    if not data:
        return f"static const uint8_t {symbol}[] = {{\n{_lines([], BYTES_PER_LINE)}}};\n"
    item = _BYTE_ITEMS.__getitem__
    rows = "".join("    " + " ".join(map(item, data[at:at + BYTES_PER_LINE])) + "\n"
                   for at in range(0, len(data), BYTES_PER_LINE))
    return f"static const uint8_t {symbol}[] = {{\n{rows}}};\n"


def _scalar_array(c_type: str, symbol: str, values: Iterable[int]) -> str:
    items = [str(value) for value in values]
    return f"static const {c_type} {symbol}[] = {{\n{_lines(items, 8)}}};\n"


def _struct_array(c_type: str, symbol: str, rows: Sequence[tuple[int, ...]]) -> str:
    # `_lines(items, 1)` without its slicing: tens of thousands of rows.
    lines = "".join(["    {" + ", ".join(map(str, row)) + "},\n" for row in rows]) or "    {0},\n"
    return f"static const {c_type} {symbol}[] = {{\n{lines}}};\n"
