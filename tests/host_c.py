"""Compiling the C runtime's network stack for the host, outside any image:
the host self-tests of tests/test_hvt_net.py (net/selftest_host.c) and
tests/test_hvt_tcp.py (net/selftest_tcp_host.c), and the strict-warnings
builds of their sources."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path

import pytest

from specc.backends.c.build import LIB_DIR, PLATFORM_DIR

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
