"""The two answer engines of `dns_zone` side by side: answers precomputed at
compile time (specialized builds) against the zone's records with each
answer decided at run time (`specc compile --no-specialize`).

    .venv/bin/python bench/dns_engines.py [--runs N] [--repeats N] [--zones NAME,...]

Zones: examples/zones/example.org.zone with bench/dns.py's ten queries
(EXAMPLE_QUERIES), and bench/zonegen.py's zone (10,592 records) with its
query walk (2,000 queries).  The queries are those dnsperf sends in
bench/dns.py (no EDNS); the server's UDP size is 1232, over UDP.

Engines: "precomputed" is backends/dns/precompute.py's table, answered by
runtime/dns/dns_answer.c (C) and runtime/dns_answer.py (Python); "generic"
is backends/dns/record_table.py's records, answered by runtime/dns/dns_resolve.c
and runtime/dns_resolve.py.  For each zone and engine:

1. Table size.  C: the generated table source compiled alone
   (`gcc -O2 -c`), its object's .rodata (every allocated section's size
   is in the JSON: the generic engine's scratch is .bss).  Python: the
   bytes of the table literal the image carries, the repr() that
   backends/dns/component.py emits.
2. Build time at compile time, from the parsed zone, median of --runs
   runs: the engine's table (build_table / build_records), then the C
   source (table_to_c / records_to_c), that source through `gcc -O2 -c`,
   and the Python literal (repr / records_to_python + repr), each timed
   alone.
3. Answer time.  C: tests/c/dns_harness.c with the engine at -O2, in
   `-p PASSES` mode (every request read first, then PASSES walks over the
   whole query set, timed inside the harness), median of --repeats runs,
   ns/query.  Python: the engine's `answer` called directly, not through
   dns_zone.py's Impl, whose reply cache would answer the repeated
   queries; PASSES walks, median of --repeats, us/query.  The engines
   alternate between repeats (forward, then backward) so that a drift in
   the machine's load favours neither.
4. Every reply of the four (C and Python, each engine) byte-identical on
   the measured query set: the script exits 1, naming the first
   difference, when one differs.

Results: bench/results/dns-engines-DATE.{md,json}, with the machine and its
load before and after.  The machine is shared: compare the two engines
measured in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import zonegen  # bench/zonegen.py, before bench/ leaves sys.path
from machine import (  # bench/machine.py, before bench/ leaves sys.path
    BENCH,
    RESULTS,
    ROOT,
    argument_parser,
    leave_bench_path,
    load_average,
    machine,
    positive_int,
    write_results,
)

leave_bench_path(ROOT / "tests")

import dns.zone  # noqa: E402
from dns_queries import SERVER_MAX_UDP, make  # noqa: E402
from elftools.elf.constants import SH_FLAGS  # noqa: E402
from elftools.elf.elffile import ELFFile  # noqa: E402
from host_c import DNS_RUNTIME, compile_dns_harness, harness_frame, harness_replies  # noqa: E402

from specc.backends.dns.c_table import table_to_c  # noqa: E402
from specc.backends.dns.precompute import build_table  # noqa: E402
from specc.backends.dns.record_table import (  # noqa: E402
    RecordTable,
    build_records,
    records_to_c,
    records_to_python,
)
from specc.backends.python.runtime import dns_answer, dns_resolve  # noqa: E402

T = TypeVar("T")
ENGINES = ("precomputed", "generic")
ZONES = ("example.org", "generated")
GCC = "gcc"
# Queries answered per repeat (rounded up to whole passes over the set):
# about half a second each on this machine, so that a repeat outlasts the
# clock's and the scheduler's noise.
C_QUERIES = 2_000_000
PYTHON_QUERIES = 40_000
HARNESS_TIMEOUT_S = 300
ANSWERED = re.compile(r"answered (\d+) queries in ([\d.]+) s")


@dataclass
class Zone:
    name: str
    source: str  # where it comes from, for the report
    zone: dns.zone.Zone
    queries: list[tuple[str, bytes]]  # (label, wire)

    @property
    def records(self) -> int:
        return sum(len(rdataset) for node in self.zone.nodes.values() for rdataset in node)


@dataclass
class Built:
    """One engine's table for one zone, and how long each step took."""

    table: dict[str, Any]  # what the Python engine reads
    c_source: str
    python_literal: str
    build_s: list[float] = field(default_factory=list)
    c_emit_s: list[float] = field(default_factory=list)
    python_emit_s: list[float] = field(default_factory=list)


def example_queries() -> list[str]:
    """bench/dns.py's EXAMPLE_QUERIES, read from its source: that script is
    named dns.py and cannot be imported beside dnspython's `dns`."""
    tree = ast.parse((BENCH / "dns.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "EXAMPLE_QUERIES"):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list) and all(isinstance(q, str) for q in value)
            return value
    raise SystemExit("bench/dns.py has no EXAMPLE_QUERIES")


def wires(lines: list[str]) -> list[tuple[str, bytes]]:
    return [(line, make(*line.split())) for line in lines]


def load_zones(names: list[str]) -> list[Zone]:
    zones = []
    if "example.org" in names:
        path = ROOT / "examples" / "zones" / "example.org.zone"
        zones.append(Zone("example.org", "examples/zones/example.org.zone",
                          dns.zone.from_file(str(path), origin=None, relativize=False),
                          wires(example_queries())))
    if "generated" in names:
        text, _ = zonegen.zone_text()
        zones.append(Zone("generated", f"bench/zonegen.py ({zonegen.DEFAULT_HOSTS:,} hosts)",
                          dns.zone.from_text(text, origin=None, relativize=False),
                          wires(zonegen.queries_text().splitlines())))
    return zones


def timed(into: list[float], step: Callable[..., T], *args: Any, **options: Any) -> T:
    """step(*args, **options), its time in seconds appended to `into`."""
    start = time.perf_counter()
    result = step(*args, **options)
    into.append(time.perf_counter() - start)
    return result


def build(zone: dns.zone.Zone, engine: str, runs: int, name: str) -> Built:
    """The engine's table of `zone`, built `runs` times (each step timed);
    `name` is the C symbol of the table."""
    built: Built | None = None
    for _ in range(runs):
        build_s: list[float] = []
        c_emit_s: list[float] = []
        python_emit_s: list[float] = []
        if engine == "precomputed":
            table = timed(build_s, build_table, zone)
            c_source = timed(c_emit_s, table_to_c, table, name)
            literal = timed(python_emit_s, repr, table)
        else:
            records = timed(build_s, build_records, zone)
            c_source = timed(c_emit_s, records_to_c, records, name)
            table, literal = timed(python_emit_s, python_records, records)
        if built is None:
            built = Built(table, c_source, literal)
        elif c_source != built.c_source or literal != built.python_literal:
            raise SystemExit(f"{engine}: two builds of the same zone differ")
        built.build_s += build_s
        built.c_emit_s += c_emit_s
        built.python_emit_s += python_emit_s
    assert built is not None
    return built


def python_records(records: RecordTable) -> tuple[dict[str, object], str]:
    """The generic engine's Python table and its literal, as the image gets them."""
    table = records_to_python(records)
    return table, repr(table)


def symbol(zone_index: int) -> str:
    return f"bench_zone_{zone_index}"


def compile_object(source: Path, work: Path, runs: int) -> tuple[dict[str, int], list[float]]:
    """The allocated sections of `source` compiled alone at -O2 (name ->
    bytes), and the time of each of `runs` compilations."""
    out = work / f"{source.stem}.o"
    times: list[float] = []
    for _ in range(runs):
        timed(times, subprocess.run, [GCC, "-std=c11", "-O2", "-I", str(DNS_RUNTIME), "-c",
                                      str(source), "-o", str(out)],
              check=True, capture_output=True, timeout=600)
    with out.open("rb") as handle:
        sections = {section.name: section["sh_size"] for section in ELFFile(handle).iter_sections()
                    if section["sh_flags"] & SH_FLAGS.SHF_ALLOC and section["sh_size"]}
    return sections, times


def harness_passes(binary: Path, frames: bytes, count: int, passes: int
                   ) -> tuple[list[bytes | None], float]:
    """The harness's reply to each request, and its time per query in ns over `passes` walks."""
    proc = subprocess.run([str(binary), "-p", str(passes)], input=frames, capture_output=True,
                          timeout=HARNESS_TIMEOUT_S, check=False)
    stderr = proc.stderr.decode(errors="replace")
    found = ANSWERED.search(stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"{binary.name} -p {passes} exited {proc.returncode}: {stderr}")
    answered, seconds = int(found.group(1)), float(found.group(2))
    return list(harness_replies(proc.stdout, count)), seconds / answered * 1e9


def python_passes(answer: Callable[..., bytes | None], table: dict[str, Any],
                  queries: list[bytes], passes: int) -> float:
    """us per query of `answer` over `passes` walks over `queries`."""
    start = time.perf_counter()
    for _ in range(passes):
        for wire in queries:
            answer(table, wire, SERVER_MAX_UDP, False)
    return (time.perf_counter() - start) / (passes * len(queries)) * 1e6


def alternating(repeats: int) -> list[tuple[str, ...]]:
    return [ENGINES if r % 2 == 0 else ENGINES[::-1] for r in range(repeats)]


def check_identical(zone: Zone, replies: dict[str, list[bytes | None]]) -> int:
    """Exit 1 unless every engine gave every query the same reply; the number of replies."""
    reference_name, reference = next(iter(replies.items()))
    for name, got in replies.items():
        for (label, _), want, have in zip(zone.queries, reference, got, strict=True):
            if want != have:
                raise SystemExit(
                    f"{zone.name}: {label!r}: {name} replies "
                    f"{None if have is None else have.hex()}, {reference_name} "
                    f"{None if want is None else want.hex()}: the engines differ")
    answered = sum(reply is not None for reply in reference)
    if answered == 0:
        raise SystemExit(f"{zone.name}: no query got a reply")
    return answered


def measure(zones: list[Zone], runs: int, repeats: int, work: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    built: dict[str, list[Built]] = {engine: [] for engine in ENGINES}
    for index, zone in enumerate(zones):
        for engine in ENGINES:
            built[engine].append(build(zone.zone, engine, runs, symbol(index)))
            print(f"{zone.name}, {engine}: built in "
                  f"{statistics.median(built[engine][-1].build_s):.3f} s", flush=True)
    harnesses: dict[str, Path] = {}
    objects: dict[str, list[tuple[dict[str, int], list[float]]]] = {}
    for engine in ENGINES:
        directory = work / engine
        directory.mkdir()
        sources = [(symbol(i), b.c_source) for i, b in enumerate(built[engine])]
        harnesses[engine] = compile_dns_harness(GCC, directory / "harness", sources,
                                                records=engine == "generic", flags=("-O2",))
        objects[engine] = [compile_object(directory / f"{symbol(i)}.c", directory, runs)
                           for i in range(len(zones))]
    for index, zone in enumerate(zones):
        queries = [wire for _, wire in zone.queries]
        frames = b"".join(harness_frame(index, wire, SERVER_MAX_UDP, False) for wire in queries)
        c_passes = -(-C_QUERIES // len(queries))
        python = {"precomputed": dns_answer.answer, "generic": dns_resolve.answer}
        walks = -(-PYTHON_QUERIES // len(queries))
        c_ns: dict[str, list[float]] = {engine: [] for engine in ENGINES}
        python_us: dict[str, list[float]] = {engine: [] for engine in ENGINES}
        replies: dict[str, list[bytes | None]] = {}
        for order in alternating(repeats):
            for engine in order:
                got, ns = harness_passes(harnesses[engine], frames, len(queries), c_passes)
                replies[f"C {engine}"] = got
                c_ns[engine].append(ns)
        for engine in ENGINES:
            table = built[engine][index].table
            replies[f"Python {engine}"] = [python[engine](table, wire, SERVER_MAX_UDP, False)
                                           for wire in queries]
        answered = check_identical(zone, replies)
        for order in alternating(repeats):
            for engine in order:
                python_us[engine].append(python_passes(python[engine],
                                                       built[engine][index].table, queries,
                                                       walks))
        for engine in ENGINES:
            b = built[engine][index]
            row = {
                "zone": zone.name, "source": zone.source, "records": zone.records,
                "queries": len(queries), "replies": answered, "engine": engine,
                "c_object_sections": objects[engine][index][0],
                "c_compile_s": objects[engine][index][1],
                "c_source_bytes": len(b.c_source.encode()),
                "python_literal_bytes": len(b.python_literal.encode()),
                "build_s": b.build_s, "c_emit_s": b.c_emit_s, "python_emit_s": b.python_emit_s,
                "c_passes": c_passes, "c_ns_per_query": c_ns[engine],
                "python_passes": walks, "python_us_per_query": python_us[engine],
            }
            rows.append(row)
            print(f"{zone.name}, {engine}: C {statistics.median(c_ns[engine]):.0f} ns/query, "
                  f"Python {statistics.median(python_us[engine]):.2f} us/query", flush=True)
    return rows


def kb(n: int) -> str:
    return f"{n / 1000:,.1f} KB"


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s"


def report(rows: list[dict[str, Any]], runs: int, repeats: int, host: dict[str, str],
           load_before: str, gcc: str, argv: list[str]) -> str:
    date = datetime.date.today().isoformat()
    lines = [f"# DNS answer engines, precomputed against generic, {date}", "",
             "Precomputed: every answer built at compile time (specialized builds); generic: "
             "the zone's records, each answer decided at run time (`--no-specialize`).", ""]
    zones = list(dict.fromkeys(row["zone"] for row in rows))
    lines += ["## Zones", "", "| zone | from | records | queries (replied) |", "|---|---|---:|---:|"]
    for name in zones:
        row = next(r for r in rows if r["zone"] == name)
        lines.append(f"| {name} | {row['source']} | {row['records']:,} | "
                     f"{row['queries']:,} ({row['replies']:,}) |")
    lines += ["", "## Table size", "",
              "C: .rodata of the generated table source compiled alone (`gcc -O2 -c`), "
              "other allocated sections beside it; Python: bytes of the table literal in the "
              "image (`repr()`, as backends/dns/component.py emits it).", "",
              "| zone | engine | C .rodata | C other sections | C source | Python literal |",
              "|---|---|---:|---|---:|---:|"]
    for row in rows:
        sections = dict(row["c_object_sections"])
        rodata = sections.pop(".rodata", 0)
        other = ", ".join(f"{name} {size:,} B" for name, size in sorted(sections.items()))
        lines.append(f"| {row['zone']} | {row['engine']} | {kb(rodata)} | {other} | "
                     f"{kb(row['c_source_bytes'])} | {kb(row['python_literal_bytes'])} |")
    lines += ["", "## Build time (compile time, from the parsed zone)", "",
              f"Median of {runs} runs.  Table: `build_table` / `build_records`; C source: "
              "`table_to_c` / `records_to_c`; C object: the table source alone through "
              "`gcc -O2 -c`; Python literal: `repr` / `records_to_python` + `repr`.  Parsing "
              "the zone (common to both) is not included.", "",
              "| zone | engine | table | C source | C object | Python literal |",
              "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['zone']} | {row['engine']} | {seconds(row['build_s'])} | "
                     f"{seconds(row['c_emit_s'])} | {seconds(row['c_compile_s'])} | "
                     f"{seconds(row['python_emit_s'])} |")
    lines += ["", "## Answer time per query", "",
              f"Median of {repeats} repeats, engines alternating.  C: tests/c/dns_harness.c "
              "at -O2, `-p PASSES` (whole query set per pass, timed inside the harness); "
              "Python: the engine's `answer()` called directly (no reply cache).  Queries "
              f"without EDNS, server UDP size {SERVER_MAX_UDP}, UDP.  Range: fastest and "
              "slowest repeat.", "",
              "| zone | engine | C ns/query | C range | Python us/query | Python range |",
              "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        c, p = row["c_ns_per_query"], row["python_us_per_query"]
        lines.append(f"| {row['zone']} | {row['engine']} | {statistics.median(c):.0f} | "
                     f"{min(c):.0f}-{max(c):.0f} | {statistics.median(p):.2f} | "
                     f"{min(p):.2f}-{max(p):.2f} |")
    lines += ["", "Generic over precomputed (medians):", "",
              "| zone | C .rodata | table build | C answer | Python answer |",
              "|---|---:|---:|---:|---:|"]
    for name in zones:
        pre, gen = (next(r for r in rows if r["zone"] == name and r["engine"] == engine)
                    for engine in ENGINES)

        def ratio(key: str, pre: dict[str, Any] = pre, gen: dict[str, Any] = gen) -> str:
            a, b = gen[key], pre[key]
            if isinstance(a, dict):
                a, b = a.get(".rodata", 0), b.get(".rodata", 0)
            else:
                a, b = statistics.median(a), statistics.median(b)
            return f"{a / b:.2f}x" if b else ""

        lines.append(f"| {name} | {ratio('c_object_sections')} | {ratio('build_s')} | "
                     f"{ratio('c_ns_per_query')} | {ratio('python_us_per_query')} |")
    lines += ["", "Replies: all four (C and Python, precomputed and generic) gave byte-identical replies to every measured query.", "",
              f"Machine: `{host['uname']}`, {host['cpu']} ({host['nproc']} logical), "
              f"{host['python']}, {gcc}; load average {load_before} before and "
              f"{host['load_average']} after; commit {host['commit']}.", "",
              "Reproduce: `.venv/bin/python bench/dns_engines.py"
              + "".join(f" {arg}" for arg in argv) + "`", ""]
    return "\n".join(lines)


def zone_list(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = sorted(set(names) - set(ZONES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"zones are {', '.join(ZONES)}, comma-separated; got {text!r}")
    return names


def main(argv: list[str]) -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--runs", type=positive_int, default=3,
                        help="builds of each table, for the build time (default: 3)")
    parser.add_argument("--repeats", type=positive_int, default=5,
                        help="timed repeats of each engine's answers (default: 5)")
    parser.add_argument("--zones", type=zone_list, default=list(ZONES),
                        help=f"comma-separated, of {', '.join(ZONES)} (default: both)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="directory for the results (default: bench/results)")
    args = parser.parse_args(argv)
    gcc = subprocess.run([GCC, "--version"], capture_output=True, text=True, check=False)
    if gcc.returncode != 0:
        raise SystemExit("gcc is needed for the C engines")
    load_before = load_average()
    zones = load_zones(args.zones)
    with tempfile.TemporaryDirectory(prefix="specc-dns-engines-") as work:
        rows = measure(zones, args.runs, args.repeats, Path(work))
    host = machine()
    date = datetime.date.today().isoformat()
    gcc_version = gcc.stdout.splitlines()[0]
    record = {"date": date, "runs": args.runs, "repeats": args.repeats,
              "server_udp_size": SERVER_MAX_UDP, "edns": False, "gcc": gcc_version,
              "rows": rows, "machine": host, "load_average_before": load_before}
    markdown = report(rows, args.runs, args.repeats, host, load_before, gcc_version, argv)
    stem = write_results("dns-engines", date, record, markdown, args.out)
    print(markdown)
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
