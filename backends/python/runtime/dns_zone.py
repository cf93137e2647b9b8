"""dns_zone(zone): authoritative answers, every one precomputed at compile time."""

from __future__ import annotations

from typing import Any, Final

from .core import Runtime
from .dns_answer import answer

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
        reply = answer(self.TABLE, query, size, tcp)
        if len(query) <= _CACHE_QUERY_BYTES:
            if len(self.cache) >= _CACHE_ENTRIES:
                self.cache.clear()
            self.cache[key] = None if reply is None else reply[2:]
        return reply
