"""The C DNS engine against the Python one, byte for byte.

`backends/c/runtime/dns/dns_answer.c` must give exactly the reply of
`backends/python/runtime/dns_answer.py` (itself compared with NSD by
tests/test_dns_vs_nsd.py) for every input.  The test generates the C tables
of the two test zones, and of a small zone of its own (SWEEP_ZONE), with
`backends/dns/c_table.py`, builds tests/c/dns_harness.c with the host gcc
(once plainly, once with AddressSanitizer and UBSan), sends every query
through one harness process and compares each reply with `answer()`: the
shared query set under several server sizes and transports, the dropped
messages, 2,000 seeded random or mutated packets, and question names of
every length under wildcards, which move the compression pointers and the
size cuts byte by byte.  The generated source must also be deterministic
and compile with the `hvt` target's freestanding flags.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.zone
import pytest
from dns_queries import ZONE_FILES, dropped, make, opt, query_set, question, raw, sizes
from host_c import (
    DNS_RUNTIME,
    compile_dns_harness,
    harness_frame,
    harness_replies,
    skip_without_sanitizers,
)

from specc.backends.c.build import hvt_cflags
from specc.backends.dns.c_table import hash_slots, name_hash, table_to_c
from specc.backends.dns.precompute import build_table
from specc.backends.python.runtime.dns_answer import answer

ROOT = Path(__file__).resolve().parent.parent
GCC = shutil.which("gcc")
SWEEP_ORIGIN = "sweep.test."
# Wildcards whose answers end, with optional records, on both sides of the
# 1232-byte cut (w, m) and of 512 bytes (s) as the question name grows.
SWEEP_ZONE = "\n".join([
    "@ 3600 IN SOA ns1 hostmaster 1 3600 900 604800 300",
    "@ 3600 IN NS ns1", "@ 3600 IN NS ns2",
    "ns1 3600 IN A 192.0.2.1", "ns2 3600 IN A 192.0.2.2", "ns2 3600 IN AAAA 2001:db8::2",
    "*.w 3600 IN TXT " + " ".join(f'"t{i}{"x" * 197}"' for i in range(5)),
    "*.w 3600 IN MX 10 mx00",
    *(f"*.m 3600 IN MX {i} mx{i:02d}" for i in range(40)),
    *(f"*.s 3600 IN MX {i} mx{i:02d}" for i in range(12)),
    *(f"mx{i:02d} 3600 IN A 192.0.2.{i + 10}" for i in range(40)),
]) + "\n"
# Table symbols; a zone's id in the harness is its position here.
SYMBOLS = {"example.org.": "dns_table_example_org", "zone.test.": "dns_table_zone_test",
           SWEEP_ORIGIN: "dns_table_sweep_test"}
ZONE_IDS = {origin: index for index, origin in enumerate(SYMBOLS)}
SANITIZERS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
              "-fno-omit-frame-pointer")
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
# (max_size, tcp) pairs a server may use; tcp None is Python's default.
SETTINGS: tuple[tuple[int, bool | None], ...] = (
    (1232, None), (4096, False), (512, False), (65535, None), (1232, True), (600, True),
)
RANDOM_SETTINGS: tuple[tuple[int, bool | None], ...] = (
    *SETTINGS, (0, False), (0, True), (100, None), (511, False), (513, None), (1400, False),
    (65534, None), (70000, None), (0xFFFF_FFFF, False), (0xFFFF_FFFF, True),
)

pytestmark = pytest.mark.skipif(GCC is None, reason="gcc is not installed")


@dataclass(frozen=True)
class Request:
    label: str
    zone: str
    wire: bytes
    max_size: int
    tcp: bool | None
    out_cap: int = 0  # 0: the harness gives what dns_answer.h says is always enough


# -- tables, sources and the harness ---------------------------------------------------

@functools.cache
def tables() -> dict[str, dict[str, Any]]:
    found = {origin: build_table(dns.zone.from_file(path, origin=None, relativize=False))
             for origin, path in ZONE_FILES.items()}
    sweep = dns.zone.from_text(SWEEP_ZONE, origin=SWEEP_ORIGIN, relativize=False)
    return {**found, SWEEP_ORIGIN: build_table(sweep)}


def write_table_sources(directory: Path) -> list[Path]:
    paths = []
    for origin, symbol in SYMBOLS.items():
        path = directory / f"{symbol}.c"
        path.write_text(table_to_c(tables()[origin], symbol))
        paths.append(path)
    return paths


def compile_harness(directory: Path, out: str, flags: tuple[str, ...]) -> Path:
    assert GCC is not None
    sources = [(symbol, table_to_c(tables()[origin], symbol)) for origin, symbol in SYMBOLS.items()]
    return compile_dns_harness(GCC, directory / out, sources, records=False, flags=flags)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_harness(tmp_path_factory.mktemp("dns-c"), "harness", ("-O2",))


@pytest.fixture(scope="module")
def sanitized_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dns-c-asan")
    assert GCC is not None
    skip_without_sanitizers(GCC, directory)
    return compile_harness(directory, "harness-asan", ("-O1", "-g", *SANITIZERS))


def frame(request: Request) -> bytes:
    return harness_frame(ZONE_IDS[request.zone], request.wire, request.max_size, request.tcp,
                         request.out_cap)


def run_harness(binary: Path, requests: list[Request], *args: str,
                env: dict[str, str] | None = None) -> tuple[list[bytes | None], str]:
    """Each request's reply (None: dropped) from one harness process, and its stderr."""
    proc = subprocess.run([str(binary), *args], input=b"".join(map(frame, requests)),
                          capture_output=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})})
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, stderr
    return list(harness_replies(proc.stdout, len(requests))), stderr


def python_reply(request: Request) -> bytes | None:
    reply = answer(tables()[request.zone], request.wire, request.max_size, request.tcp)
    if reply is not None and request.out_cap and len(reply) > request.out_cap:
        return None  # dns_answer() drops what does not fit in out_cap
    return reply


def assert_same(binary: Path, requests: list[Request],
                env: dict[str, str] | None = None) -> None:
    replies, stderr = run_harness(binary, requests, env=env)
    assert "runtime error" not in stderr, stderr
    mismatches = [(r.label, r.max_size, r.tcp, r.wire.hex(), got, want)
                  for r, got in zip(requests, replies, strict=True)
                  if got != (want := python_reply(r))]
    assert not mismatches, f"{len(mismatches)} of {len(requests)} differ; first: {mismatches[0]}"


# -- the requests -------------------------------------------------------------------------

def with_settings(queries: list[Any], settings: tuple[tuple[int, bool | None], ...]
                  ) -> list[Request]:
    return [Request(q.label, q.zone, q.wire, size, tcp) for q in queries for size, tcp in settings]


def random_name(rng: random.Random, zone: str) -> bytes:
    """A question name under (or near) `zone`: random labels on an existing name,
    in random case, sometimes long enough to test the 255-byte limit."""
    base = rng.choice(sorted(tables()[zone]["nodes"]))
    if rng.random() < 0.1:
        base = rng.choice([b"\x00", b"\x03com\x00", b"\x04test\x00", b"\x03org\x00"])
    labels = b""
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3, 5])):
        size = rng.choice([1, 1, 2, 5, 30, 63])
        alphabet = b"abcXYZ*-_0" if rng.random() < 0.8 else bytes(range(256))
        labels += bytes([size]) + bytes(rng.choice(alphabet) for _ in range(size))
    name = labels + base
    flipped = bytes(c ^ 0x20 if 0x61 <= c <= 0x7A and rng.random() < 0.3 else c for c in name)
    return flipped


def random_question_packet(rng: random.Random, zone: str) -> bytes:
    qtype = rng.choice([1, 1, 2, 5, 6, 12, 15, 15, 16, 28, 33, 43, 48, 251, 252, 255, 255, 257,
                        65400, rng.randrange(65536)])
    qclass = rng.choice([1, 1, 1, 1, 1, 1, 255, 255, 3, 2, 254, rng.randrange(65536)])
    flags = rng.choice([0, 0, 0x0100, 0x0100, 0x07F0, 0x2000, rng.randrange(0x8000)]) & ~0x000F
    body = random_name(rng, zone) + struct.pack("!HH", qtype, qclass)
    if rng.random() < 0.5:
        size = rng.choice([0, 100, 512, 513, 1000, 1232, 1233, 4096, 65535, rng.randrange(65536)])
        version = 0 if rng.random() < 0.9 else rng.randrange(1, 256)
        rdata = b"" if rng.random() < 0.7 else b"\x00\x0a\x00\x08" + rng.randbytes(8)
        return raw(flags=flags, ar=1, body=body + opt(size, version, rng.random() < 0.5, rdata),
                   qid=rng.randrange(65536))
    return raw(flags=flags, body=body, qid=rng.randrange(65536))


def mutated(rng: random.Random, base: bytes) -> bytes:
    """`base` with a few bytes set, cut or inserted."""
    data = bytearray(base)
    for _ in range(rng.randrange(1, 6)):
        at = rng.randrange(len(data) + 1)
        how = rng.randrange(3)
        if how == 0 and at < len(data):
            data[at] = rng.randrange(256)
        elif how == 1:
            del data[at:]
        else:
            data[at:at] = bytes([rng.randrange(256)])
    return bytes(data)


def malformed(rng: random.Random, base: bytes) -> bytes:
    """A cut header, bad label lengths, compression loops, QDCOUNT 0 or > 1, odd counts."""
    header = bytearray(base[:12])
    kind = rng.randrange(7)
    if kind == 0:
        return base[:rng.randrange(len(base))]
    if kind == 1:  # label lengths past the end, or with the 0x40/0x80 bits
        length = rng.choice([0x40, 0x80, 0xC0, 0x3F, 0xFF, rng.randrange(256)])
        return bytes(header) + bytes([length]) + rng.randbytes(rng.randrange(70))
    if kind == 2:  # compression loops, in the question and in records after it
        loop = rng.choice([b"\xc0\x0c", b"\x01a\xc0\x0c", b"\xc0\x0e\xc0\x0c", b"\x03www\xc0\x0f"])
        if rng.random() < 0.5:
            return bytes(header) + loop + b"\x00\x01\x00\x01"
        header[8:12] = struct.pack("!HH", rng.randrange(3), rng.randrange(3))
        return bytes(header) + base[12:] + (loop + b"\x00\x06\x00\x01" + b"\x00" * 4 +
                                            rng.choice([b"\x00\x00", b"\x00\x05", b"\xff\xff"]))
    if kind == 3:  # QDCOUNT 0 or more than one, sometimes with just an OPT
        header[4:6] = struct.pack("!H", rng.choice([0, 0, 2, 3, 65535]))
        if rng.random() < 0.4:
            header[6:12] = struct.pack("!HHH", 0, 0, 1)
            return bytes(header) + opt(rng.randrange(65536), rng.choice([0, 0, 1]),
                                       rng.random() < 0.5, rng.choice([b"", b"\x00\x0a\x00"]))
        return bytes(header) + base[12:] * rng.randrange(3)
    if kind == 4:  # random section counts and trailing bytes
        header[6:12] = struct.pack("!HHH", *(rng.choice([0, 0, 1, 2, 64, 65, 65535])
                                             for _ in range(3)))
        return bytes(header) + base[12:] + rng.randbytes(rng.randrange(40))
    if kind == 5:  # IXFR with authority records, well-formed or not
        records = b"".join(b"\xc0\x0c\x00\x06\x00\x01" + b"\x00" * 4 + b"\x00\x02ab"
                           for _ in range(rng.randrange(70)))
        nscount = rng.choice([len(records) // 14, rng.randrange(70)])
        if records and rng.random() < 0.3:
            records = mutated(rng, records)
        return raw(ns=nscount, body=question("example.org.", 251) + records)
    return rng.randbytes(rng.randrange(600))


def random_requests(seed: int, count: int) -> list[Request]:
    """`count` seeded packets: random questions on both zones, malformed and mutated ones."""
    rng = random.Random(seed)
    bases = [q.wire for q in query_set()]
    requests = []
    for i in range(count):
        zone = rng.choice(sorted(ZONE_IDS))
        kind = rng.randrange(3)
        if kind == 0:
            wire = random_question_packet(rng, zone)
        elif kind == 1:
            wire = malformed(rng, rng.choice(bases))
        else:
            wire = mutated(rng, rng.choice(bases))
        size, tcp = rng.choice(RANDOM_SETTINGS)
        requests.append(Request(f"random #{i} kind {kind}", zone, wire, size, tcp))
    return requests


# -- byte-identical replies ---------------------------------------------------------------

def test_query_set_replies_are_those_of_python(harness: Path) -> None:
    assert_same(harness, with_settings(query_set(), SETTINGS))


def test_size_cases_are_those_of_python(harness: Path) -> None:
    settings = (*SETTINGS, (512, True), (1400, False), (100, True), (65535, False))
    assert_same(harness, with_settings(sizes(), settings))


def test_dropped_messages_get_no_reply(harness: Path) -> None:
    requests = with_settings(dropped(), SETTINGS)
    replies, _ = run_harness(harness, requests)
    assert replies == [None] * len(requests)


def test_2000_random_and_mutated_packets(harness: Path) -> None:
    assert_same(harness, random_requests(seed=20240607, count=2000))


def test_long_names_under_a_wildcard_relocate_pointers(harness: Path) -> None:
    """Names longer than the one the answer was laid out for, up to 255 bytes:
    every compression pointer in the body moves by the difference."""
    requests = []
    for zone, stem in (("example.org.", "wild.example.org."), ("zone.test.", "w.zone.test."),
                       ("zone.test.", "cw.zone.test."), ("zone.test.", "d1.zone.test.")):
        for length in (1, 2, 30, 63):
            for count in (1, 2, 3):
                name = ".".join([("Ab" * 32)[:length]] * count) + "." + stem
                if len(name) > 250:
                    continue
                for rdtype in ("A", "MX", "ANY", "NS", "TXT"):
                    wire = make(name, rdtype, edns=4096)
                    requests += with_settings([Request(name, zone, wire, 0, None)],
                                              ((4096, False), (65535, True), (512, False)))
    assert_same(harness, requests)


def name_of_length(length: int, suffix: bytes) -> bytes:
    """A wire name of `length` bytes: labels of mixed case in front of `suffix`."""
    prefix = b""
    left = length - len(suffix)
    while left > 0:
        size = min(63, left - 1)
        if left - (size + 1) == 1:  # a label takes two bytes at least
            size -= 1
        prefix += bytes([size]) + (b"aB" * 32)[:size]
        left -= size + 1
    return prefix + suffix


def sweep_requests() -> list[Request]:
    """Every name length under the sweep zone's wildcards, at a few sizes."""
    requests = []
    for stem, qtypes in ((b"\x01w\x05sweep\x04test\x00", (16, 15, 255, 1)),
                         (b"\x01m\x05sweep\x04test\x00", (15, 255)),
                         (b"\x01s\x05sweep\x04test\x00", (15, 255))):
        for length in range(len(stem) + 2, 256):
            name = name_of_length(length, stem)
            for qtype in qtypes:
                for qclass in (1, 255):
                    for edns in (None, 511, 1232, 4096):
                        body = name + struct.pack("!HH", qtype, qclass)
                        wire = raw(flags=0x0100, body=body) if edns is None else \
                            raw(flags=0x0100, ar=1, body=body + opt(edns))
                        label = f"{name!r} {qtype} class {qclass} edns {edns}"
                        requests += [Request(label, SWEEP_ORIGIN, wire, size, tcp)
                                     for size, tcp in ((1232, False), (4096, False),
                                                       (65535, True), (505, False))]
    return requests


def test_every_name_length_under_a_wildcard(harness: Path) -> None:
    """Pointers relocated by 2 to 239 bytes; the cuts at the client size and at
    1232 bytes (optional records over UDP) met at every offset."""
    assert_same(harness, sweep_requests())


def test_every_client_size_around_the_cuts(harness: Path) -> None:
    requests = []
    for stem in (b"\x01w\x05sweep\x04test\x00", b"\x01m\x05sweep\x04test\x00"):
        for length in (20, 100, 255):
            body = name_of_length(length, stem) + struct.pack("!HH", 255, 1)
            for size in range(400, 1400):
                wire = raw(ar=1, body=body + opt(size))
                requests += [Request(f"{length} {size}", SWEEP_ORIGIN, wire, 4096, False),
                             Request(f"{length} {size} tcp", SWEEP_ORIGIN, wire, size, True)]
    assert_same(harness, requests)


def test_a_small_out_cap_drops_the_reply_and_never_writes_past_it(
        harness: Path, sanitized_harness: Path) -> None:
    rng = random.Random(7)
    requests = [Request(r.label, r.zone, r.wire, r.max_size, r.tcp, rng.randrange(1, 700))
                for r in with_settings(query_set()[::5], SETTINGS[:3])]
    assert_same(harness, requests)
    assert_same(sanitized_harness, requests[::4], env=SANITIZER_ENV)


def test_an_out_cap_of_exactly_the_reply(harness: Path, sanitized_harness: Path) -> None:
    """The reply fills `out` to its last byte, and one byte less drops it: with
    the sanitizer, no write lands past the reply (a relocation included)."""
    requests = []
    # Without EDNS, as no OPT record then follows the records to overwrite
    # a byte written past them.
    sweep = [r for r in sweep_requests() if r.label.endswith("edns None")]
    for request in [*with_settings(query_set(), SETTINGS[:1]), *sweep]:
        reply = python_reply(request)
        if reply is not None:
            requests += [Request(request.label, request.zone, request.wire, request.max_size,
                                 request.tcp, cap) for cap in (len(reply), len(reply) - 1)]
    assert_same(harness, requests)
    assert_same(sanitized_harness, requests, env=SANITIZER_ENV)


def prefixes(wire: bytes) -> list[bytes]:
    return [wire[:length] for length in range(len(wire) + 1)]


def test_every_prefix_of_queries_with_records(harness: Path, sanitized_harness: Path) -> None:
    """Every cut of messages with a question, authority records and an OPT
    with options: no read past the end, whichever field is cut."""
    soa = b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x16" + b"\x00" * 22
    cookie = opt(rdata=b"\x00\x0a\x00\x08" + b"c" * 8 + b"\x00\x03\x00\x00")
    apex = question("example.org.", 251)
    whole = [
        raw(ns=2, ar=1, body=apex + soa + b"\x03ns1\x07example\x03org\x00" + soa[2:] + cookie),
        raw(ns=1, ar=1, body=apex + soa + opt(version=1, rdata=b"\x00\x0a")),
        raw(ar=1, body=question("www.example.org.") + cookie),
        raw(qd=0, ar=1, body=cookie),
        raw(flags=4 << 11, ar=1, body=question("example.org.", 6) + cookie),
    ]
    requests = [Request(f"prefix {i}", "example.org.", cut, size, tcp)
                for i, wire in enumerate(whole) for cut in prefixes(wire)
                for size, tcp in SETTINGS[:2]]
    assert_same(harness, requests)
    assert_same(sanitized_harness, requests, env=SANITIZER_ENV)


def test_sanitizers_find_nothing(sanitized_harness: Path) -> None:
    requests = [*with_settings(query_set(), SETTINGS[:2]), *with_settings(sizes(), SETTINGS),
                *with_settings(dropped(), SETTINGS[:1]), *random_requests(20240607, 2000),
                *sweep_requests()[::3]]
    assert_same(sanitized_harness, requests, env=SANITIZER_ENV)


# -- the generated source -----------------------------------------------------------------

def test_generated_source_is_deterministic() -> None:
    for origin, path in ZONE_FILES.items():
        first = table_to_c(tables()[origin], SYMBOLS[origin])
        fresh = build_table(dns.zone.from_file(path, origin=None, relativize=False))
        reordered = {**fresh, "nodes": dict(reversed(fresh["nodes"].items()))}
        assert table_to_c(fresh, SYMBOLS[origin]) == first
        assert table_to_c(reordered, SYMBOLS[origin]) == first


def test_sources_compile_with_the_freestanding_flags(tmp_path: Path) -> None:
    assert GCC is not None
    flags = [*hvt_cflags(GCC), "-I", str(DNS_RUNTIME)]
    for source in [DNS_RUNTIME / "dns_answer.c", *write_table_sources(tmp_path)]:
        command = [GCC, *flags, "-c", str(source), "-o", str(tmp_path / f"{source.stem}.o")]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr


def test_an_empty_table_part_still_compiles(tmp_path: Path) -> None:
    """ISO C has no empty arrays: a table without relocations or type maps still builds."""
    assert GCC is not None
    table = {"format": 1, "apex": b"\x01x\x00",
             "nodes": {b"\x01x\x00": ({}, 0, {}, 0)},
             "answers": [(0x0400, 3, b"", (), (), -1)]}
    source = tmp_path / "tiny.c"
    source.write_text(table_to_c(table, "tiny"))
    proc = subprocess.run([GCC, *hvt_cflags(GCC), "-Wpedantic", "-I", str(DNS_RUNTIME), "-c",
                           str(source), "-o", str(tmp_path / "tiny.o")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def probe(slots: list[int], keys: list[bytes], key: bytes) -> tuple[int | None, int]:
    """find_node() of dns_answer.c over `slots`: the key's node index (None:
    absent) and the slots passed over before the answer."""
    mask, at, passed = len(slots) - 1, name_hash(key) & (len(slots) - 1), 0
    while slots[at]:
        if keys[slots[at] - 1] == key:
            return slots[at] - 1, passed
        at, passed = (at + 1) & mask, passed + 1
    return None, passed


def test_the_hash_index_finds_every_name_and_the_harness_sees_collisions() -> None:
    """Every node is found from its hash slot; in the tables the harness
    answers from, some names sit past their slot, so its replies go through
    the probing of find_node (dns_table_valid, run by the harness at start,
    also looks every node up in C)."""
    displaced = 0
    for table in tables().values():
        keys = sorted(table["nodes"])
        slots = hash_slots(keys)
        assert len(slots) >= 2 * len(keys) and len(slots) & (len(slots) - 1) == 0
        for index, key in enumerate(keys):
            found, passed = probe(slots, keys, key)
            assert found == index
            displaced += passed > 0
        assert probe(slots, keys, b"\x07missing" + keys[0])[0] is None
    assert displaced > 0


def test_the_hash_index_wraps_around_its_end() -> None:
    """Two names hashing to the last slot: the second goes to slot 0."""
    wanted = 3  # 2 names -> 4 slots
    names = [wire for wire in (bytes([2, 97 + i // 26, 97 + i % 26, 0]) for i in range(676))
             if name_hash(wire) & wanted == wanted][:2]
    assert len(names) == 2
    slots = hash_slots(names)
    assert slots[wanted] == 1 and slots[0] == 2
    assert [probe(slots, names, key)[0] for key in names] == [0, 1]


@pytest.mark.parametrize("change, message", [
    ({"format": 2}, "format"),
    ({"apex": b"\x01X\x00"}, "lower-cased"),
    ({"nodes": {b"\x05x\x00": ({}, 0, {}, 0)}}, "wire name"),
    ({"nodes": {b"\x01x\x00": ({1: 5}, 0, {}, 0)}}, "answer index"),
    ({"answers": [(0x0400, 3, b"\xc0\x0c", (1,), (), -1)]}, "reloc"),
    ({"answers": [(0x0400, 3, b"", (), ((4, 0, 1),), -1)]}, "RRset end"),
    ({"answers": [(0x0400, 3, b"", (), (), 3)]}, "class_any"),
])
def test_malformed_tables_are_refused(change: dict[str, Any], message: str) -> None:
    table = {"format": 1, "apex": b"\x01x\x00", "nodes": {b"\x01x\x00": ({}, 0, {}, 0)},
             "answers": [(0x0400, 3, b"", (), (), -1)], **change}
    with pytest.raises(ValueError, match=message):
        table_to_c(table, "bad")


def test_symbol_must_be_a_c_identifier() -> None:
    with pytest.raises(ValueError, match="identifier"):
        table_to_c(tables()["example.org."], "not-an-identifier")
