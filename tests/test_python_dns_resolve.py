"""The python target's generic DNS engine against its precomputed one, byte for byte.

`backends/python/runtime/dns_resolve.py` (the unspecialized `dns_zone`,
which decides answers at run time from `record_table.records_to_python`'s
records) must give exactly the reply of `dns_answer.py` (answers
precomputed by `precompute.py`) for every input: in-process, for the zones
and the requests of tests/test_dns_resolve.py (the C engines' differential
test): every name x types x classes, the shared query set at several server
sizes over UDP and TCP, seeded random, mutated and malformed packets, every
prefix of queries, every question length under wildcards, and answers past
the 16 KiB compression limit.
"""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import dns.zone
import pytest
from dns_queries import ZONE_FILES, dropped, make, query_set, sizes
from servers import compile_spec
from test_dns_c import (
    SETTINGS,
    SWEEP_ORIGIN,
    Request,
    prefixes,
    random_requests,
    sweep_requests,
    with_settings,
)
from test_dns_resolve import (
    GENERATED_ORIGIN,
    LARGE_ORIGIN,
    every_name_and_type,
    fuzz_requests,
    generated_zone_queries,
    large_answers,
    mx,
)
from test_dns_resolve import zones as shared_zones
from test_python_target import imported_modules

from specc.backends.dns.precompute import build_table
from specc.backends.dns.record_table import build_records, records_to_python
from specc.backends.python.runtime import dns_answer, dns_resolve

ROOT = Path(__file__).resolve().parent.parent

# Answers whose names cross the 16 KiB compression limit at every offset:
# `*.E CNAME x.w` for 63 lengths of E moves the layout of `q.E MX` (90 MX
# records, then their addresses) one byte at a time, so a name starts on
# each side of MAX_POINTER_TARGET, in the precomputed layout's coordinates
# and in the reply's.  (test_dns_resolve.py's zone moves it 11 bytes.)
LIMIT_ORIGIN = "limit.test."
LIMIT_ZONE = "\n".join([
    "@ 3600 IN SOA ns1 hostmaster 1 3600 900 604800 300",
    "@ 3600 IN NS ns1", "ns1 3600 IN A 192.0.2.1",
    *(f"*.w 3600 IN MX {i} {mx(i)}" for i in range(90)),
    *(f"{mx(i)} 3600 IN A 192.0.2.{i}" for i in range(90)),
    *(f"*.{'e' * i} 3600 IN CNAME x.w" for i in range(1, 64)),
]) + "\n"


@functools.cache
def zones() -> dict[str, dns.zone.Zone]:
    return {**shared_zones(),
            LIMIT_ORIGIN: dns.zone.from_text(LIMIT_ZONE, origin=LIMIT_ORIGIN, relativize=False)}


@functools.cache
def table(zone: str) -> dict[str, Any]:
    return build_table(zones()[zone])


@functools.cache
def records(zone: str) -> dict[str, Any]:
    # Through repr() and eval(), as the generated file carries it.
    data: dict[str, Any] = eval(repr(records_to_python(build_records(zones()[zone]))))
    return data


def assert_same(requests: list[Request], records_of: Any = records) -> None:
    mismatches = []
    answered = 0
    for r in requests:
        want = dns_answer.answer(table(r.zone), r.wire, r.max_size, r.tcp)
        got = dns_resolve.answer(records_of(r.zone), r.wire, r.max_size, r.tcp)
        answered += want is not None
        if got != want:
            mismatches.append((r.label, r.zone, r.max_size, r.tcp, r.wire.hex(),
                               None if got is None else got.hex(),
                               None if want is None else want.hex()))
    if mismatches:  # not `assert`: pytest would print the whole list
        pytest.fail(f"{len(mismatches)} of {len(requests)} differ; first: {mismatches[0]}")
    # Not a comparison of two empty lists: most requests get a reply.
    assert answered > len(requests) // 2


def test_query_set_replies_are_those_of_the_precomputed_engine() -> None:
    settings = (*SETTINGS, (512, True), (1400, False), (100, True), (65535, False))
    assert_same([*with_settings(query_set(), settings), *with_settings(sizes(), settings)])


def test_every_name_and_type_of_the_test_zones() -> None:
    assert_same([r for zone in (*ZONE_FILES, SWEEP_ORIGIN) for r in every_name_and_type(zone)])


def test_dropped_messages_get_no_reply() -> None:
    requests = with_settings(dropped(), SETTINGS)
    assert [dns_resolve.answer(records(r.zone), r.wire, r.max_size, r.tcp)
            for r in requests] == [None] * len(requests)


def test_random_mutated_and_truncated_packets() -> None:
    assert_same([*random_requests(seed=20261203, count=2000),
                 *fuzz_requests(seed=4242, count=1000),
                 *(Request(f"prefix {i}", q.zone, cut, size, tcp)
                   for i, q in enumerate(query_set()[::7]) for cut in prefixes(q.wire)
                   for size, tcp in SETTINGS[:2])])


def test_every_name_length_under_a_wildcard() -> None:
    assert_same(sweep_requests())


def test_answers_past_the_compression_limit() -> None:
    requests = large_answers()[::2]
    longest = max(len(dns_answer.answer(table(r.zone), r.wire, r.max_size, r.tcp) or b"")
                  for r in requests)
    assert longest > 0x4000, "no answer passes the 16 KiB compression limit"
    assert_same(requests)


def test_names_on_either_side_of_the_compression_limit() -> None:
    requests = [Request(f"{i} MX", LIMIT_ORIGIN, make(f"q.{'e' * i}.{LIMIT_ORIGIN}", "MX"),
                        65535, True) for i in range(1, 64)]
    assert_same(requests)


def test_the_generated_zone() -> None:
    assert_same([*generated_zone_queries()[::3],
                 *every_name_and_type(GENERATED_ORIGIN, stride=29)])


def test_a_changed_record_table_is_caught() -> None:
    """The comparison sees one byte: an A record's address changed in the
    records fails it."""
    zone = "example.org."
    changed = copy.deepcopy(records(zone))
    a_rrset = next(i for i, rrset in enumerate(changed["rrsets"]) if rrset[0] == 1)
    first = changed["rrsets"][a_rrset][2]
    wire, refs, target, target_at = changed["rdatas"][first]
    changed["rdatas"][first] = (wire[:-1] + bytes([wire[-1] ^ 1]), refs, target, target_at)
    with pytest.raises(pytest.fail.Exception, match="differ"):
        assert_same(every_name_and_type(zone), lambda _: changed)


def test_the_python_records_are_deterministic() -> None:
    for origin, path in ZONE_FILES.items():
        again = dns.zone.from_file(path, origin=None, relativize=False)
        assert repr(records_to_python(build_records(again))) == repr(records(origin))


def test_large_zone_is_in_the_comparison() -> None:
    assert LARGE_ORIGIN in zones() and GENERATED_ORIGIN in zones()


def test_the_unspecialized_image_is_mypy_clean_and_standalone(tmp_path: Path) -> None:
    """The records are a literal and the engine is pasted in: no dnspython,
    nothing but the standard library, and mypy --strict passes."""
    image = compile_spec(ROOT / "examples" / "dns.spec", tmp_path, "python", "--no-specialize")
    assert imported_modules(image.read_text()) <= set(sys.stdlib_module_names) | {"__future__"}
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                             str(image)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout
