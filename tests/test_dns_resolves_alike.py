"""backends/dns/resolve.py's `resolves_alike`, which lets the precompute skip
resolving the types of a name that are answered as an absent type is: for
every name of the test zones (and a name under each), and every type it
says resolves alike, resolving that type really gives the same resolution;
and it says so for most types, or the precompute would gain nothing."""

from __future__ import annotations

import dns.name
import dns.zone
import pytest
from dns_queries import ZONE_FILES

from specc.backends.dns.resolve import Resolution, ZoneModel, resolve, resolves_alike

# Every type the test zones have, the tested ones (ANY, DS, DNSKEY) and others.
QTYPES = range(1, 300)
ABSENT = 65400  # a private-use type no test zone has


def signature(resolution: Resolution) -> tuple[object, ...]:
    return (resolution.rcode, resolution.aa,
            tuple((i.section, i.owner, id(i.rdataset)) for i in resolution.items))


@pytest.mark.parametrize("origin", sorted(ZONE_FILES))
def test_types_said_to_resolve_alike_do(origin: str) -> None:
    zone = dns.zone.from_file(ZONE_FILES[origin], origin=None, relativize=False)
    model = ZoneModel(zone)
    names = [*model.existing, *(dns.name.Name((b"absent", *n.labels)) for n in model.existing)]
    alike = differ = 0
    for name in names:
        for class_any in (False, True):
            absent = resolve(model, name, ABSENT, class_any)
            for qtype in QTYPES:
                resolution = resolve(model, name, qtype, class_any)
                if resolves_alike(model, absent, qtype):
                    alike += 1
                    assert signature(resolution) == signature(absent), (name, qtype, class_any)
                else:
                    differ += 1
    assert alike > 10 * differ
