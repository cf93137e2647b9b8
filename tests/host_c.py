"""Compiling the C runtime's network stack for the host, outside any image:
the host self-tests of tests/test_hvt_net.py (net/selftest_host.c) and
tests/test_hvt_tcp.py (net/selftest_tcp_host.c), and the strict-warnings
builds of their sources; and the DNS engines' host harness (tests/c/dns_harness.c)
that tests/test_dns_c.py, tests/test_dns_resolve.py and bench/dns_engines.py
build over generated tables and feed framed requests."""

from __future__ import annotations

import struct
import subprocess
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from specc.backends.c.build import LIB_DIR, PLATFORM_DIR, RUNTIME_DIR

DNS_RUNTIME = RUNTIME_DIR / "dns"
DNS_HARNESS = Path(__file__).resolve().parent / "c" / "dns_harness.c"

SANITIZERS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all")
# Beyond build.py's flags: pedantic C11, conversions and shadowing.
STRICT = ("-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wconversion",
          "-Wshadow", "-Wcast-align", "-Wstrict-prototypes")


def compile_host_test(cc: str, sources: Sequence[Path], out: Path) -> tuple[str, ...]:
    """Compile a host self-test (its own source first) into `out` with
    AddressSanitizer and UBSan if this gcc has them, else without them and
    with a warning; the sanitizer flags it was built with (none: empty)."""
    base = [cc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-I", str(PLATFORM_DIR),
            *map(str, sources), "-o", str(out)]
    last_error = ""
    for flags in (SANITIZERS, ()):
        proc = subprocess.run([*base, *flags], capture_output=True, text=True, timeout=120,
                              check=False)
        if proc.returncode == 0:
            if not flags:
                warnings.warn(f"{sources[0].name} runs without AddressSanitizer/UBSan: this gcc "
                              "lacks them", stacklevel=2)
            return flags
        last_error = proc.stderr
    pytest.fail(f"{sources[0].name} does not compile:\n{last_error}")


def compile_strict(cc: str, source: Path, out: Path) -> None:
    """`source` compiles to an object without a warning under STRICT."""
    proc = subprocess.run([cc, *STRICT, "-I", str(PLATFORM_DIR), "-c", str(source),
                           "-o", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def run_fmt_harness(cc: str, harness_source: str, directory: Path,
                    *defines: str) -> subprocess.CompletedProcess[str]:
    """Build a host harness for lib/fmt.c (its `main` compares the formatter
    with the C library) with ``defines`` and run it."""
    harness = directory / "harness.c"
    harness.write_text(harness_source)
    exe = directory / "harness"
    subprocess.run([cc, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-format",
                    *defines, "-I", str(LIB_DIR), "-I", str(PLATFORM_DIR), str(harness),
                    str(LIB_DIR / "fmt.c"), "-o", str(exe)], check=True, timeout=60)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=10, check=False)


def skip_without_sanitizers(cc: str, directory: Path) -> None:
    """Skip the calling test unless ``cc`` links a program with ASan and
    UBSan (Debian's libasan/libubsan), probed in ``directory``."""
    probe = subprocess.run([cc, "-fsanitize=address,undefined", "-x", "c", "-",
                            "-o", str(directory / "probe")],
                           input="int main(void) { return 0; }\n", capture_output=True,
                           text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"gcc cannot build with sanitizers (libasan/libubsan): {probe.stderr}")


def compile_dns_harness(cc: str, binary: Path, tables: Sequence[tuple[str, str]], *,
                        records: bool, flags: Sequence[str]) -> Path:
    """Build `binary`: tests/c/dns_harness.c with dns_resolve.c over record
    tables (`records`), else with dns_answer.c over precomputed ones.
    `tables` are (symbol, generated C source defining it) in zone id order;
    the sources and the harness's list of tables are written beside
    `binary`.  RuntimeError with gcc's message when it does not build."""
    kind, header = (("struct dns_records", "dns_resolve.h") if records
                    else ("struct dns_table", "dns_answer.h"))
    sources = [DNS_HARNESS, DNS_RUNTIME / ("dns_resolve.c" if records else "dns_answer.c")]
    for symbol, text in tables:
        path = binary.parent / f"{symbol}.c"
        path.write_text(text)
        sources.append(path)
    listing = binary.parent / f"{binary.name}_tables.c"
    symbols = [symbol for symbol, _ in tables]
    listing.write_text(
        f'#include "{header}"\n' +
        "".join(f"extern const {kind} {symbol};\n" for symbol in symbols) +
        f"const {kind} *const dns_harness_tables[] = {{" +
        ", ".join(f"&{symbol}" for symbol in symbols) + "};\n" +
        f"const size_t dns_harness_table_count = {len(symbols)};\n")
    command = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", *flags,
               *(["-DHARNESS_RECORDS"] if records else []), "-I", str(DNS_RUNTIME),
               *map(str, [*sources, listing]), "-o", str(binary)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{DNS_HARNESS.name} does not build:\n{proc.stderr}")
    return binary


def harness_frame(zone: int, wire: bytes, max_size: int, tcp: bool | None,
                  out_cap: int = 0) -> bytes:
    """One request to tests/c/dns_harness.c (its frame format is described there)."""
    return struct.pack("!BBIII", zone, 2 if tcp is None else int(tcp), max_size, out_cap,
                       len(wire)) + wire


def harness_replies(stdout: bytes, count: int) -> Iterator[bytes | None]:
    """The harness's `count` replies (None: dropped) from its output."""
    position = 0
    for _ in range(count):
        (length,) = struct.unpack_from("!I", stdout, position)
        position += 4
        yield stdout[position:position + length] if length else None
        position += length
    if position != len(stdout):
        raise RuntimeError("the harness wrote more replies than asked")
