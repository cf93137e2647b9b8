"""bench/zonegen.py: the generated zone of bench/dns.py is a valid zone of at
least 10,000 records (issue 13), the same bytes every time, and its query
walk asks names that exist, names that do not and names under delegations."""

from __future__ import annotations

import sys
from pathlib import Path

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "bench"))  # at the back: bench/dns.py must not hide dnspython

import zonegen  # noqa: E402


def test_the_zone_parses_and_has_ten_thousand_records(tmp_path: Path) -> None:
    zone_path, queries_path = tmp_path / "z.zone", tmp_path / "q.txt"
    records = zonegen.write(zone_path, queries_path)
    assert records >= 10_000
    zone = dns.zone.from_file(str(zone_path), origin=zonegen.ORIGIN, relativize=False)
    parsed = sum(len(rdataset) for _, rdataset in zone.iterate_rdatasets())
    assert parsed == records


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    first = zonegen.zone_text(), zonegen.queries_text()
    assert (zonegen.zone_text(), zonegen.queries_text()) == first
    assert zonegen.zone_text(100) != first[0]


def test_the_query_walk_covers_answers_misses_and_referrals(tmp_path: Path) -> None:
    zone_path, queries_path = tmp_path / "z.zone", tmp_path / "q.txt"
    zonegen.write(zone_path, queries_path)
    zone = dns.zone.from_file(str(zone_path), origin=zonegen.ORIGIN, relativize=False)
    names = set(zone.nodes)
    delegations = {name for name, node in zone.nodes.items()
                   if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) and name != zone.origin}
    exact = missing = referral = 0
    for line in queries_path.read_text().splitlines():
        text, _ = line.split()
        name = dns.name.from_text(text)
        if name in names:
            exact += 1
        elif any(name.is_subdomain(d) for d in delegations):
            referral += 1
        elif not name.is_subdomain(dns.name.from_text(f"wild.{zonegen.ORIGIN}")):
            missing += 1
    assert exact > 1000 and missing > 100 and referral > 100
