"""The python target's reply cache (backends/python/runtime/dns_zone.py)
answers every query exactly as the engine does without it: the same bytes,
with the query's own ID, for hits as for misses, past its bound too.

tests/test_python_dns.py checks a running python image (cache included)
against NSD over the network; this file checks the cache against the
uncached engine on the whole query set of tests/dns_queries.py.
"""

from __future__ import annotations

from typing import Any

import dns.zone
import pytest
from dns_queries import SERVER_MAX_UDP, ZONE_FILES, Query, dropped, opt, query_set, question, raw

from specc.backends.dns.precompute import build_table
from specc.backends.python.runtime import dns_zone
from specc.backends.python.runtime.dns_answer import answer


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, Any]]:
    return {origin: build_table(dns.zone.from_file(path, origin=None, relativize=False))
            for origin, path in ZONE_FILES.items()}


def cached_zone(table: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dns_zone.Impl:
    monkeypatch.setattr(dns_zone.Impl, "TABLE", table)
    return dns_zone.Impl(rt=None)  # type: ignore[arg-type]  # the component never uses rt


def with_id(wire: bytes, qid: int) -> bytes:
    return qid.to_bytes(2, "big") + wire[2:] if len(wire) >= 2 else wire


def check(zone: dns_zone.Impl, table: dict[str, Any], queries: list[Query],
          max_size: int, tcp: bool = False) -> list[str]:
    """Where `zone.answer` (`zone.answer_tcp` when `tcp`) differs from the engine."""
    wrong = []
    ask = zone.answer_tcp if tcp else zone.answer
    for number, query in enumerate(queries):
        # A miss, then a hit with another ID, then a hit with a third.
        for qid in (number & 0xFFFF, 0xFFFF - (number & 0xFFFF), 0x1234):
            wire = with_id(query.wire, qid)
            if ask(wire, max_size) != answer(table, wire, max_size, True if tcp else None):
                wrong.append(f"{query.label} (ID {qid:#06x}{', TCP' if tcp else ''})")
    return wrong


def test_cached_replies_equal_the_engines(tables: dict[str, dict[str, Any]],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for origin, table in tables.items():
        queries = [q for q in query_set() + dropped() if q.zone == origin]
        assert len(queries) > 100
        for max_size in (SERVER_MAX_UDP, 4096, 65535):
            zone = cached_zone(table, monkeypatch)
            wrong = check(zone, table, queries, max_size)
            assert not wrong, f"{len(wrong)} differ, e.g. {wrong[:5]}"
            assert zone.cache, "nothing was cached"


def test_tcp_replies_are_cached_apart_from_udp_ones(tables: dict[str, dict[str, Any]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same query and size over UDP and over TCP get different replies
    (TC and the optional records): one zone answering both keeps them apart."""
    for origin, table in tables.items():
        queries = [q for q in query_set() + dropped() if q.zone == origin]
        zone = cached_zone(table, monkeypatch)
        wrong = check(zone, table, queries, SERVER_MAX_UDP) + \
            check(zone, table, queries, SERVER_MAX_UDP, tcp=True)
        assert not wrong, f"{len(wrong)} differ, e.g. {wrong[:5]}"


def test_the_cache_stays_within_its_bound(tables: dict[str, dict[str, Any]],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    origin, table = next(iter(tables.items()))
    zone = cached_zone(table, monkeypatch)
    monkeypatch.setattr(dns_zone, "_CACHE_ENTRIES", 50)
    queries = [q for q in query_set() if q.zone == origin][:300]
    assert not check(zone, table, queries, SERVER_MAX_UDP)
    assert 0 < len(zone.cache) <= 50


def test_large_queries_are_answered_but_not_cached(tables: dict[str, dict[str, Any]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    table = tables["example.org."]
    zone = cached_zone(table, monkeypatch)
    # EDNS padding (option 12, RFC 7830) makes a query past the size limit.
    padding = b"\x00\x0c" + (600).to_bytes(2, "big") + bytes(600)
    for name in ("www.example.org.", "nope.example.org.", "example.org."):
        wire = raw(ar=1, body=question(name) + opt(rdata=padding))
        assert len(wire) > dns_zone._CACHE_QUERY_BYTES
        reply = zone.answer(wire, SERVER_MAX_UDP)
        assert reply is not None and reply == answer(table, wire, SERVER_MAX_UDP)
    assert not zone.cache
