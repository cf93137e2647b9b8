"""The hooks of `dns_zone` and `dns_over_tcp` (backends/components.py).

`dns_zone(zone)`: the zone's answers, precomputed at compile time
(`precompute.build_table`), reach the implementation as `TABLE` (Python) or
`SC_DNS_TABLE` (C, a `struct dns_table` in a generated file).  Unspecialized
(`--no-specialize`), every target gets the zone's records instead
(`record_table.build_records`) and decides each answer at run time: the C
targets as `SC_DNS_RECORDS` (a `struct dns_records`, dns_resolve.c), the
Python target as `RECORDS` (`record_table.records_to_python`,
runtime/dns_resolve.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from specc.backends.components import CParts, Hooks, InstanceView, register
from specc.values import ZoneV


@dataclass(frozen=True)
class AnswerTable:
    """Every answer of one zone (the format of `precompute.build_table`)."""

    table: Mapping[str, Any]

    def describe(self) -> str:
        return f"dns answer table: {len(self.table.get('nodes', {}))} names"

    def python_constants(self) -> Mapping[str, str]:
        from specc.backends.python.plain_literal import plain_literal

        # GENERIC and RECORDS are scalars: the engine not used folds away.
        return {"TABLE": plain_literal(self.table), "GENERIC": "False", "RECORDS": "None"}

    def c_parts(self, symbol: str) -> CParts:
        from specc.backends.c.build import RUNTIME_DIR
        from specc.backends.dns.c_table import table_to_c

        return CParts((f"#define SC_DNS_TABLE {symbol}_table",),
                      ((f"table_{symbol}.c", table_to_c(dict(self.table), f"{symbol}_table")),),
                      (str(RUNTIME_DIR / "dns" / "dns_answer.c"),))


@dataclass(frozen=True)
class ZoneRecords:
    """One zone, unspecialized: its records, for the generic engine of the
    C targets (dns_resolve.c) and of the Python target (dns_resolve.py)."""

    zone: ZoneV

    def describe(self) -> str:
        return f"dns record table: {len(self.zone.zone.nodes)} owner names"

    def python_constants(self) -> Mapping[str, str]:
        from specc.backends.dns.record_table import build_records, records_to_python
        from specc.backends.python.plain_literal import plain_literal

        records = records_to_python(build_records(self.zone.zone))
        return {"GENERIC": "True", "RECORDS": plain_literal(records), "TABLE": "None"}

    def c_parts(self, symbol: str) -> CParts:
        from specc.backends.c.build import RUNTIME_DIR
        from specc.backends.dns.record_table import build_records, records_to_c

        text = records_to_c(build_records(self.zone.zone), f"{symbol}_records")
        return CParts((f"#define SC_DNS_RECORDS {symbol}_records",),
                      ((f"records_{symbol}.c", text),),
                      (str(RUNTIME_DIR / "dns" / "dns_resolve.c"),))


def answer_table(instance: InstanceView) -> tuple[AnswerTable | ZoneRecords, ...]:
    from specc.backends.dns.precompute import build_table

    zone = instance.const("zone")
    assert isinstance(zone, ZoneV)
    if not instance.specialized:
        return (ZoneRecords(zone),)
    return (AnswerTable(build_table(zone.zone)),)


# dns_zone.c's answer buffer is max(max_size, 512) bytes, max_size a u16;
# dns_over_tcp.c keeps ANSWER_ARENA (65535 + 1024) free for each answer.
register(Hooks(data=answer_table, event_arena=65535 + 16), "c/runtime/components/dns_zone.c",
         "python/runtime/dns_zone.py")
register(Hooks(listens={"serve": "tcp"}, event_arena=65535 + 1024 + 16),
         "c/runtime/components/dns_over_tcp.c", "python/runtime/dns_over_tcp.py")
