"""The generic DNS engine against the precomputed one, byte for byte.

`backends/c/runtime/dns/dns_resolve.c` (the unspecialized `dns_zone`, which
decides answers at run time from `backends/dns/record_table.py`'s record
table) must give exactly the reply of `dns_answer.c` (answers precomputed by
`backends/dns/precompute.py`, itself equal to the Python engine and to NSD)
for every input.  Both are built into tests/c/dns_harness.c with the host
gcc, fed the same framed requests, and their replies compared: for the test
zones (examples/zones, tests/data/zones, test_dns_c.py's sweep zone), a zone
of this file with answers far past the 16 KiB compression limit, and a
generated zone of bench/zonegen.py; the shared query set under several
server sizes and UDP and TCP, seeded random, mutated and truncated packets,
every question length under wildcards and every prefix of queries.  The
generic engine is also fed random bytes under AddressSanitizer and UBSan.
"""

from __future__ import annotations

import functools
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import dns.zone
import pytest
from dns_queries import ZONE_FILES, dropped, make, opt, query_set, raw, sizes
from host_c import (
    DNS_RUNTIME,
    compile_dns_harness,
    harness_frame,
    harness_replies,
    skip_without_sanitizers,
)
from test_dns_c import (
    GCC,
    SANITIZER_ENV,
    SANITIZERS,
    SETTINGS,
    SWEEP_ORIGIN,
    SWEEP_ZONE,
    Request,
    malformed,
    mutated,
    name_of_length,
    prefixes,
    random_requests,
    sweep_requests,
    with_settings,
)

from specc.backends.c.build import hvt_cflags
from specc.backends.dns.c_table import table_to_c
from specc.backends.dns.precompute import build_table
from specc.backends.dns.record_table import build_records, records_to_c

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "bench"))  # at the back: bench/dns.py must not hide dnspython
import zonegen  # noqa: E402

# Answers of tens of KiB over TCP: names are offered for compression only up
# to 16 KiB into the precomputed layout, which the generic engine must
# reproduce for every length of the question name.
LARGE_ORIGIN = "large.test."


def mx(i: int) -> str:
    return ".".join(f"{i:03d}{c * 60}" for c in "abc") + ".mx"


LARGE_ZONE = "\n".join([
    "@ 3600 IN SOA ns1 hostmaster 1 3600 900 604800 300",
    "@ 3600 IN NS ns1", "ns1 3600 IN A 192.0.2.1",
    *(f"*.w 3600 IN TXT \"{i:03d}{'t' * 240}\"" for i in range(90)),
    # MX records of ~210 bytes, each label of the exchange its own: their
    # names cross 16 KiB from the 77th on.
    *(f"*.w 3600 IN MX {i} {mx(i)}" for i in range(90)),
    *(f"{mx(i)} 3600 IN A 192.0.2.{i}" for i in range(90)),
    *(f"{mx(i)} 3600 IN AAAA 2001:db8::{i:x}" for i in range(0, 90, 2)),
    *(f"big 3600 IN NS ns{i:02d}.big" for i in range(40)),
    *(f"ns{i:02d}.big 3600 IN A 192.0.2.{i + 100}" for i in range(40)),
    *(f"c{i} 3600 IN CNAME c{i + 1}" for i in range(40)),
    "c40 3600 IN TXT \"end of the chain\"",
    # Chains into *.w from names of every length, exact and under wildcards:
    # the answer's names move across the limit byte by byte.
    *(f"{'a' * i} 3600 IN CNAME {'x' * i}.w" for i in range(1, 12)),
    *(f"*.{'e' * i} 3600 IN CNAME x.w" for i in range(1, 12)),
    "wc 3600 IN CNAME x.w", "cyc 3600 IN CNAME a.cw", "*.cw 3600 IN CNAME b.cw",
    "Mixed.Case 3600 IN MX 5 MX.Mixed.Case", "mx.mixed.case 3600 IN A 192.0.2.7",
    "ds.big 3600 IN A 192.0.2.8", "out 3600 IN CNAME elsewhere.example.",
    "null 3600 IN MX 0 .", f"srv 3600 IN SRV 1 2 3 {mx(7).upper()}", f"kx 3600 IN KX 1 {mx(14)}",
]) + "\n"
GENERATED_ORIGIN = zonegen.ORIGIN
GENERATED_HOSTS = 400


@functools.cache
def zones() -> dict[str, dns.zone.Zone]:
    """Every zone both harnesses answer for; a zone's id is its position."""
    found = {origin: dns.zone.from_file(path, origin=None, relativize=False)
             for origin, path in ZONE_FILES.items()}
    text, _ = zonegen.zone_text(GENERATED_HOSTS)
    return {
        **found,
        SWEEP_ORIGIN: dns.zone.from_text(SWEEP_ZONE, origin=SWEEP_ORIGIN, relativize=False),
        LARGE_ORIGIN: dns.zone.from_text(LARGE_ZONE, origin=LARGE_ORIGIN, relativize=False),
        GENERATED_ORIGIN: dns.zone.from_text(text, origin=None, relativize=False),
    }


def symbol(index: int) -> str:
    return f"harness_zone_{index}"


def compile_harness(directory: Path, records: bool, flags: tuple[str, ...]) -> Path:
    """The harness over every zone: dns_resolve.c with record tables, or
    dns_answer.c with precomputed ones."""
    assert GCC is not None
    directory.mkdir(parents=True, exist_ok=True)
    sources = [(symbol(index), records_to_c(build_records(zone), symbol(index)) if records
                else table_to_c(build_table(zone), symbol(index)))
               for index, zone in enumerate(zones().values())]
    return compile_dns_harness(GCC, directory / ("records" if records else "table"), sources,
                               records=records, flags=flags)


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(precomputed, generic)."""
    if GCC is None:
        pytest.skip("gcc is not installed")
    directory = tmp_path_factory.mktemp("dns-resolve")
    return (compile_harness(directory / "table", False, ("-O2",)),
            compile_harness(directory / "records", True, ("-O2",)))


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if GCC is None:
        pytest.skip("gcc is not installed")
    directory = tmp_path_factory.mktemp("dns-resolve-asan")
    skip_without_sanitizers(GCC, directory)
    return compile_harness(directory / "records", True, ("-O1", "-g", *SANITIZERS))


def frame(request: Request) -> bytes:
    return harness_frame(list(zones()).index(request.zone), request.wire, request.max_size,
                         request.tcp, request.out_cap)


def replies(binary: Path, requests: list[Request],
            env: dict[str, str] | None = None) -> list[bytes | None]:
    proc = subprocess.run([str(binary)], input=b"".join(map(frame, requests)),
                          capture_output=True, timeout=600, check=False, env=env)
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, stderr
    assert "runtime error" not in stderr, stderr
    return list(harness_replies(proc.stdout, len(requests)))


def assert_same(harnesses: tuple[Path, Path], requests: list[Request]) -> None:
    table, records = harnesses
    want, got = replies(table, requests), replies(records, requests)
    mismatches = [(r.label, r.zone, r.max_size, r.tcp, r.wire.hex(), g, w)
                  for r, g, w in zip(requests, got, want, strict=True) if g != w]
    if mismatches:  # not `assert`: pytest would print the whole list
        pytest.fail(f"{len(mismatches)} of {len(requests)} differ; first: {mismatches[0]}")
    # Not a comparison of two empty lists: most requests get a reply.
    assert sum(w is not None for w in want) > len(requests) // 2


# -- the requests -------------------------------------------------------------------------

def names_of(zone: str) -> list[str]:
    """Every existing name of `zone`, and a name under each."""
    model = zones()[zone]
    assert model.origin is not None
    origin = model.origin
    names = sorted({str(name.derelativize(origin)) for name in model.nodes})
    return [*names, *(f"zz.{name}" for name in names)]


QTYPES = (1, 2, 5, 6, 12, 15, 16, 28, 33, 36, 43, 48, 255, 65400)


def every_name_and_type(zone: str, stride: int = 1) -> list[Request]:
    requests = []
    for name in names_of(zone)[::stride]:
        for qtype in QTYPES:
            for qclass in (1, 255):
                wire = make(name, qtype, edns=4096, rdclass=qclass)
                requests += [Request(f"{name} {qtype} {qclass}", zone, wire, size, tcp)
                             for size, tcp in ((1232, False), (65535, True), (512, False))]
    return requests


def generated_zone_queries() -> list[Request]:
    requests = []
    for line in zonegen.queries_text(GENERATED_HOSTS, 600).splitlines():
        name, qtype = line.split()
        for edns in (None, 1232):
            requests += with_settings(
                [Request(line, GENERATED_ORIGIN, make(name, qtype, edns=edns), 0, None)],
                SETTINGS[:3])
    return requests


def large_answers() -> list[Request]:
    """Question names of many lengths under the large zone's wildcard, over
    TCP (answers of ~30 KiB) and UDP, and its chains and glue."""
    requests = []
    stem = b"\x01w\x05large\x04test\x00"
    for length in range(len(stem) + 2, 256):
        name = name_of_length(length, stem)
        for qtype in (16, 15, 255):
            body = name + struct.pack("!HH", qtype, 1)
            wire = raw(flags=0x0100, ar=1, body=body + opt(65535))
            requests += [Request(f"{length} {qtype}", LARGE_ORIGIN, wire, size, tcp)
                         for size, tcp in ((65535, True), (4096, False), (1232, False))]
    for i in range(1, 12):
        for text in (f"{'a' * i}.{LARGE_ORIGIN}", f"q.{'e' * i}.{LARGE_ORIGIN}",
                     f"{'Q' * (i % 7 + 1)}.{'e' * i}.{LARGE_ORIGIN}"):
            requests += [Request(f"{text} MX", LARGE_ORIGIN, make(text, "MX", edns=4096), size,
                                 tcp) for size, tcp in ((65535, True), (4096, False))]
    return [*requests, *every_name_and_type(LARGE_ORIGIN)]


def fuzz_requests(seed: int, count: int) -> list[Request]:
    """Random bytes, malformed and mutated queries, spread over every zone."""
    rng = random.Random(seed)
    bases = [q.wire for q in query_set()]
    requests = []
    for i in range(count):
        zone = rng.choice(list(zones()))
        how = rng.randrange(4)
        if how == 0:
            wire = rng.randbytes(rng.randrange(80))
        elif how == 1:
            wire = struct.pack("!HHHHHH", rng.randrange(65536), rng.randrange(0x8000), 1, 0, 0,
                               rng.randrange(2)) + rng.randbytes(rng.randrange(300))
        elif how == 2:
            wire = malformed(rng, rng.choice(bases))
        else:
            wire = mutated(rng, rng.choice(bases))
        size, tcp = rng.choice(SETTINGS)
        requests.append(Request(f"fuzz #{i}", zone, wire, size, tcp,
                                rng.choice([0, 0, 0, rng.randrange(1, 600)])))
    return requests


# -- byte-identical replies ---------------------------------------------------------------

def test_query_set_replies_are_those_of_the_precomputed_engine(
        harnesses: tuple[Path, Path]) -> None:
    settings = (*SETTINGS, (512, True), (1400, False), (100, True), (65535, False))
    assert_same(harnesses, [*with_settings(query_set(), settings),
                            *with_settings(sizes(), settings)])


def test_every_name_and_type_of_the_test_zones(harnesses: tuple[Path, Path]) -> None:
    assert_same(harnesses, [r for zone in (*ZONE_FILES, SWEEP_ORIGIN)
                            for r in every_name_and_type(zone)])


def test_dropped_messages_get_no_reply(harnesses: tuple[Path, Path]) -> None:
    requests = with_settings(dropped(), SETTINGS)
    assert replies(harnesses[1], requests) == [None] * len(requests)


def test_random_mutated_and_truncated_packets(harnesses: tuple[Path, Path]) -> None:
    requests = [*random_requests(seed=20261203, count=3000),
                *(Request(f"prefix {i}", q.zone, cut, size, tcp)
                  for i, q in enumerate(query_set()[::7]) for cut in prefixes(q.wire)
                  for size, tcp in SETTINGS[:2])]
    assert_same(harnesses, requests)


def test_every_name_length_under_a_wildcard(harnesses: tuple[Path, Path]) -> None:
    assert_same(harnesses, sweep_requests())


def test_answers_past_the_compression_limit(harnesses: tuple[Path, Path]) -> None:
    requests = large_answers()
    table, _ = harnesses
    longest = max(len(r or b"") for r in replies(table, requests))
    assert longest > 0x4000, "no answer passes the 16 KiB compression limit"
    assert_same(harnesses, requests)


def test_the_generated_zone(harnesses: tuple[Path, Path]) -> None:
    assert_same(harnesses, [*generated_zone_queries(),
                            *every_name_and_type(GENERATED_ORIGIN, stride=17)])


def test_a_small_out_cap_drops_the_reply(harnesses: tuple[Path, Path]) -> None:
    rng = random.Random(11)
    requests = [Request(r.label, r.zone, r.wire, r.max_size, r.tcp, rng.randrange(1, 700))
                for r in with_settings(query_set()[::3], SETTINGS[:4])]
    table, records = harnesses
    assert replies(records, requests) == replies(table, requests)


# -- fuzzing --------------------------------------------------------------------------------

def test_random_bytes_under_the_sanitizers(sanitized: Path) -> None:
    """Bounded: 6,000 packets, a few seconds."""
    got = replies(sanitized, fuzz_requests(seed=4242, count=6000),
                  env={**os.environ, **SANITIZER_ENV})
    assert any(r is not None for r in got)


def test_sanitizers_find_nothing_on_the_answers(sanitized: Path) -> None:
    requests = [*with_settings(query_set(), SETTINGS), *large_answers()[::4],
                *sweep_requests()[::5], *every_name_and_type(LARGE_ORIGIN)]
    replies(sanitized, requests, env={**os.environ, **SANITIZER_ENV})


# -- the generated source -----------------------------------------------------------------

def test_the_record_table_is_deterministic() -> None:
    for origin, path in ZONE_FILES.items():
        first = records_to_c(build_records(zones()[origin]), "z")
        again = dns.zone.from_file(path, origin=None, relativize=False)
        assert records_to_c(build_records(again), "z") == first


def test_sources_compile_with_the_freestanding_flags(tmp_path: Path) -> None:
    if GCC is None:
        pytest.skip("gcc is not installed")
    flags = [*hvt_cflags(GCC), "-I", str(DNS_RUNTIME)]
    table = tmp_path / "records.c"
    table.write_text(records_to_c(build_records(zones()["example.org."]), "records"))
    for source in (DNS_RUNTIME / "dns_resolve.c", table):
        command = [GCC, *flags, "-c", str(source), "-o", str(tmp_path / f"{source.stem}.o")]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
