"""A generated zone of 10,592 records (4,775 hosts) and a query mix for it,
for bench/dns.py (issue 13: "a generated zone of at least 10,000 records").

    .venv/bin/python bench/zonegen.py OUT.zone OUT.queries [HOSTS]

The zone is deterministic (no randomness, no clock): the same HOSTS give the
same bytes.  Every host has an A record; every second an AAAA, every third
a TXT, every fifth an MX, every seventh a CNAME alias; every fiftieth name
is delegated to its own name server with glue, and one wildcard answers
under `*.wild`.  The query mix walks the zone in a fixed stride: existing
names and types, names that do not exist (NXDOMAIN), types a name lacks
(NODATA), aliases, names under delegations (referrals) and wildcard hits.
"""

from __future__ import annotations

import sys
from pathlib import Path

from machine import argument_parser, positive_int  # bench/machine.py: bench/ is on sys.path

ORIGIN = "bench.example."
DEFAULT_HOSTS = 4775  # 10,592 records


def _address(i: int) -> str:
    # 10.0.0.0/8 keeps every host distinct up to 16M hosts.
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def zone_text(hosts: int = DEFAULT_HOSTS) -> tuple[str, int]:
    """The zone file and how many records it holds."""
    lines = [f"$ORIGIN {ORIGIN}", "$TTL 3600",
             "@ IN SOA ns1 hostmaster 2026120301 7200 3600 1209600 300",
             "@ IN NS ns1", "@ IN NS ns2",
             "ns1 IN A 192.0.2.53", "ns2 IN A 198.51.100.53",
             "*.wild IN A 192.0.2.99", "*.wild IN TXT \"wildcard\""]
    for i in range(hosts):
        name = f"h{i:05d}"
        lines.append(f"{name} IN A {_address(i)}")
        if i % 2 == 0:
            lines.append(f"{name} IN AAAA 2001:db8::{i >> 16:x}:{i & 0xFFFF:x}")
        if i % 3 == 0:
            lines.append(f"{name} IN TXT \"host {i} of the generated zone\"")
        if i % 5 == 0:
            lines.append(f"{name} IN MX 10 h{(i + 1) % hosts:05d}")
        if i % 7 == 0:
            lines.append(f"alias{i:05d} IN CNAME {name}")
        if i % 50 == 0:
            lines.append(f"sub{i:05d} IN NS ns.sub{i:05d}")
            lines.append(f"ns.sub{i:05d} IN A 192.0.2.{(i // 50) % 250 + 1}")
    records = sum(1 for line in lines if not line.startswith("$"))
    return "\n".join(lines) + "\n", records


def queries_text(hosts: int = DEFAULT_HOSTS, count: int = 2000) -> str:
    """`NAME TYPE` lines for dnsperf: a fixed walk over answers, aliases,
    NODATA, NXDOMAIN, referrals and wildcard hits."""
    out = []
    for k in range(count):
        i = (k * 7919) % hosts  # a prime stride visits hosts in a scattered order
        kind = k % 10
        if kind in (0, 1, 2):
            out.append(f"h{i:05d}.{ORIGIN} A")
        elif kind == 3:
            out.append(f"h{i - i % 2:05d}.{ORIGIN} AAAA")
        elif kind == 4:
            out.append(f"h{i - i % 5:05d}.{ORIGIN} MX")
        elif kind == 5:
            out.append(f"alias{i - i % 7:05d}.{ORIGIN} A")
        elif kind == 6:
            out.append(f"nothere{i:05d}.{ORIGIN} A")
        elif kind == 7:
            out.append(f"www.sub{i - i % 50:05d}.{ORIGIN} A")
        elif kind == 8:
            out.append(f"x{i}.wild.{ORIGIN} A")
        else:
            out.append(f"h{i | 1:05d}.{ORIGIN} AAAA" if (i | 1) < hosts else f"{ORIGIN} SOA")
    return "\n".join(out) + "\n"


def write(zone: Path, queries: Path, hosts: int = DEFAULT_HOSTS) -> int:
    """Write both files; return the number of records in the zone."""
    text, records = zone_text(hosts)
    zone.write_text(text)
    queries.write_text(queries_text(hosts))
    return records


def main(argv: list[str]) -> int:
    arguments = argument_parser(__doc__, __file__)
    arguments.add_argument("zone", type=Path, metavar="OUT.zone", help="the zone file to write")
    arguments.add_argument("queries", type=Path, metavar="OUT.queries",
                           help="the dnsperf query file to write")
    arguments.add_argument("hosts", nargs="?", type=positive_int, default=DEFAULT_HOSTS,
                           metavar="HOSTS", help=f"hosts in the zone (default: {DEFAULT_HOSTS})")
    args = arguments.parse_args(argv)
    records = write(args.zone, args.queries, args.hosts)
    print(f"{args.zone}: {records} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
