"""dns_zone(zone): authoritative answers, every one precomputed at compile time."""

from __future__ import annotations

from typing import Any, Final

from .core import Runtime
from .dns_answer import answer


class Impl:
    # The answer table of backends/dns/precompute.py, built from the zone.
    TABLE: Final[dict[Any, Any]] = {}

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def answer(self, query: bytes, max_size: int) -> bytes | None:
        return answer(self.TABLE, query, max_size)
