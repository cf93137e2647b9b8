"""Long transfers over a lossy link, hvt beside unix (root only).

    .venv/bin/python bench/tcp_lossy.py [--fetches N] [--slow-fetches M]

examples/http.spec serves examples/site plus a 1 MiB and a 3 MiB file of
seeded random bytes, as an hvt image on a tap and as a unix image, on the
bridge of tests/lossy_link.py, whose nftables drops 5% of the frames both
ways and sends 25% to a slow htb class (reordering both ways):

- N (200) fetches of the 1 MiB file per target, each on a new connection;
- then every port of the bridge capped at 1 Mbit/s, M (5) fetches of the
  3 MiB file per target (25 s each at the very least).

Every body is compared byte for byte with the file; a fetch that fails or
takes longer than its bound (60 s, 600 s on the slow link) counts as
failed.  Results: bench/results/hvt-tcp-lossy-DATE.{md,json}, with the
machine, the load average, the link's counters (frames dropped, sent to the
slow class, the client's out-of-order segments) and the hvt image's own TCP
counters.  This is the long form of tests/test_hvt_tcp_netns.py's lossy case,
too slow for the suite.
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import (  # bench/machine.py, first: see there
    ROOT,
    argument_parser,
    leave_bench_path,
    machine,
    positive_int,
    write_results,
)

leave_bench_path(ROOT / "tests")

import lossy_link  # noqa: E402
from servers import compile_spec  # noqa: E402
from test_hvt_tcp_netns import Running, World, boot_hvt, boot_unix, fetch  # noqa: E402

BIG, BIGGER = "big.bin", "big3.bin"


def make_site(into: Path) -> Path:
    site = into / "site"
    shutil.copytree(ROOT / "examples" / "site", site)
    rng = random.Random(11)
    (site / BIG).write_bytes(rng.randbytes(1 << 20))
    (site / BIGGER).write_bytes(rng.randbytes(3 << 20))
    return site


def fetches(world: World, target: str, name: str, count: int, bound: float) -> dict[str, Any]:
    content = (world.site / name).read_bytes()
    times, failures = [], []
    for i in range(count):
        start = time.monotonic()
        try:
            ok = fetch(world, world.http(target), "/" + name, timeout=bound) == content
        except (OSError, AssertionError) as error:
            ok = False
            failures.append(f"{i}: {type(error).__name__}: {error}"[:200])
        else:
            if not ok:
                failures.append(f"{i}: wrong bytes")
        times.append(time.monotonic() - start)
        print(f"  {target} {name} {i + 1}/{count}: {times[-1]:.2f} s{'' if ok else ' FAILED'}",
              file=sys.stderr, flush=True)
    return {"fetches": count, "byte_exact": count - len(failures), "failures": failures,
            "seconds_total": round(sum(times), 2), "seconds_median": round(
                statistics.median(times), 3), "seconds_max": round(max(times), 2),
            "mbit_per_s": round(count * len(content) * 8 / sum(times) / 1e6, 2)}


def run_phase(world: World, name: str, count: int, bound: float, drop: int, reorder: int,
              rate: str) -> dict[str, Any]:
    results: dict[str, Any] = {"link": {"drop_percent": drop, "reorder_percent": reorder,
                                        "rate": rate}}
    for target in ("hvt", "unix"):
        hvt: Running = world.images["hvt http"]
        before = hvt.counters()
        world.link.impair(drop=drop, reorder=reorder, rate=rate)
        row = fetches(world, target, name, count, bound)
        row["link_counters"] = world.link.counters()
        if target == "hvt":
            after = hvt.counters()
            row["image_tcp_counters"] = {k: after[k] - before[k] for k in after
                                         if after[k] != before[k]}
        results[target] = row
        world.link.clear()
    return results


def main() -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--fetches", type=positive_int, default=200)
    parser.add_argument("--slow-fetches", type=positive_int, default=5)
    args = parser.parse_args()
    why = lossy_link.why_not_available()
    if why is not None:
        print(f"bench/tcp_lossy.py: cannot run: {why}", file=sys.stderr)
        return 1
    before = machine()
    with tempfile.TemporaryDirectory(prefix="tcp-lossy-") as tmp:
        work = Path(tmp)
        site = make_site(work)
        spec = ROOT / "examples" / "http.spec"
        hvt_image = compile_spec(spec, work / "hvt", "hvt", "-D", f"site={site}")
        unix_image = compile_spec(spec, work / "unix", "unix", "-D", f"site={site}")
        with lossy_link.link(f"sctb{os.getpid()}", taps=1) as link:
            world = World(link, site)
            world.images["hvt http"] = boot_hvt(link, hvt_image, "tap0", work)
            world.images["unix http"] = boot_unix(link, unix_image)
            try:
                results = {
                    "1 MiB, lossy": run_phase(world, BIG, args.fetches, 60, 5, 25, "1gbit"),
                    "3 MiB, lossy at 1 Mbit/s": run_phase(world, BIGGER, args.slow_fetches,
                                                          600, 5, 25, "1mbit"),
                }
            finally:
                for running in world.images.values():
                    running.stop()
    report = {"machine": before, "load_average_after": machine()["load_average"],
              "results": results}
    date = datetime.date.today().isoformat()
    lines = [f"# Long TCP transfers over a lossy link, {date}", "",
             f"Machine: {before['cpu']} ({before['nproc']} cores), commit {before['commit']}; "
             f"load average {before['load_average']} before, {report['load_average_after']} "
             "after (the machine is shared).", "",
             "Link (tests/lossy_link.py): 5% of frames dropped both ways, 25% through a slow "
             "htb class (reordered both ways); the second phase also caps every port at 1 Mbit/s.",
             "", "| phase | target | byte-exact | total | median | max | Mbit/s | "
                 "dropped | reordered | client out-of-order |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for phase, rows in results.items():
        for target in ("hvt", "unix"):
            r = rows[target]
            c = r["link_counters"]
            lines.append(f"| {phase} | {target} | {r['byte_exact']}/{r['fetches']} | "
                         f"{r['seconds_total']} s | {r['seconds_median']} s | {r['seconds_max']} s"
                         f" | {r['mbit_per_s']} | {c['dropped']} | {c['reordered']} | "
                         f"{c['client_out_of_order']} |")
    lines.append("")
    for phase, rows in results.items():
        lines.append(f"hvt image's TCP counters, {phase}: {rows['hvt']['image_tcp_counters']}")
        lines.append("")
        for target in ("hvt", "unix"):
            for failure in rows[target]["failures"]:
                lines.append(f"- {phase}, {target}: {failure}")
    text = "\n".join(lines) + "\n"
    stem = write_results("hvt-tcp-lossy", date, report, text)
    print(text)
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
