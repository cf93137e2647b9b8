"""dns_zone(zone): authoritative answers, every one precomputed at compile time,
or (built with --no-specialize) decided at run time from the zone's records."""

from __future__ import annotations

from typing import Any, Final

from .core import Runtime
from .dns_answer import answer
from .dns_resolve import answer as answer_from_records

# Replies remembered by the query they answer (bench/dns.py: most of the
# python target's time per query went to parsing and composing the same few
# replies again).  Bounded: past this many the cache starts over.
_CACHE_ENTRIES = 4096
# Larger queries are answered without the cache (they are rare and would
# make the keys large).
_CACHE_QUERY_BYTES = 512


class Impl:
    # The answer table of backends/dns/precompute.py, built from the zone.
    TABLE: Final[dict[Any, Any]] = {}
    # Unspecialized: the zone's records (backends/dns/record_table.py's
    # records_to_python) for the generic engine, dns_resolve.py.  GENERIC is
    # a scalar constant, so each image keeps one engine (specialize.py folds
    # the branch in _reply and the linker drops the other engine's code).
    GENERIC: Final[bool] = False
    RECORDS: Final[dict[Any, Any] | None] = None

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # (over TCP, UDP size, query without its ID) -> reply without its ID, or None.
        self.cache: dict[tuple[bool, int, bytes], bytes | None] = {}

    def answer(self, query: bytes, max_size: int) -> bytes | None:
        # max_size 65535: as over TCP (answer()'s tcp=None), as before answer_tcp.
        return self._reply(query, max_size, max_size >= 65535)

    def answer_tcp(self, query: bytes, udp_size: int) -> bytes | None:
        return self._reply(query, udp_size, True)

    def _reply(self, query: bytes, size: int, tcp: bool) -> bytes | None:
        # The reply is a function of the query's bytes, the size and the
        # transport alone, and its ID is the query's (its first two bytes):
        # everything after the ID can be reused for another query with the
        # same bytes.
        key = (tcp, size, query[2:])
        try:
            cached = self.cache[key]
        except KeyError:
            pass
        else:
            return None if cached is None else query[:2] + cached
        if self.GENERIC:
            assert self.RECORDS is not None
            reply = answer_from_records(self.RECORDS, query, size, tcp)
        else:
            reply = answer(self.TABLE, query, size, tcp)
        if len(query) <= _CACHE_QUERY_BYTES:
            if len(self.cache) >= _CACHE_ENTRIES:
                self.cache.clear()
            self.cache[key] = None if reply is None else reply[2:]
        return reply
