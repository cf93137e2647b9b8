"""lib/fmt.c's small build (SC_FMT_FULL 0), which a specialized image whose
C code is all the runtime's own compiles (backends/c/features.py): every
format string of the runtime an image can link stays inside what it
handles, and for those it prints what the host's snprintf prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from host_c import run_fmt_harness

from specc.backends.c.build import LIB_DIR, PLATFORM_DIR, RUNTIME_DIR, find_cc

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler")

# What SC_FMT_FULL 0 handles: lib/fmt.c's comment, which this mirrors.
SMALL_CONVERSION = re.compile(r"%(?:%|0?[1-9]?[0-9]*(?:ll|l|z)?[dusxp])")
ANY_CONVERSION = re.compile(r"%[-+ #0]*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?(?:hh|h|ll|l|z|j|t)?.")
FORMAT_CALL = re.compile(r"\b(?:console_v?printf|fmt_v?snprintf)\s*\(")
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def image_sources() -> list[Path]:
    """Every runtime C file an application image may link: not the test programs."""
    return sorted(p for p in RUNTIME_DIR.rglob("*.c")
                  if not p.name.startswith("selftest") and p.parent != LIB_DIR)


def arguments(text: str, start: int) -> str:
    """The text of a call's arguments, from after its `(` to the matching `)`."""
    depth, i = 1, start
    while depth and i < len(text):
        literal = STRING.match(text, i) if text[i] == '"' else None
        if literal is not None:  # a parenthesis in a string is not one
            i = literal.end()
            continue
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def format_strings(text: str) -> list[str]:
    """The format of each formatting call with a literal one: its first run
    of adjacent string literals (console_printf's first argument,
    fmt_snprintf's third).  Definitions and pass-throughs have none."""
    found = []
    for call in FORMAT_CALL.finditer(text):
        args = arguments(text, call.end())
        first = STRING.search(args)
        if first is None:
            continue
        pieces, position = [], first.start()
        while (match := STRING.match(args, position)) is not None:
            pieces.append(match.group(1))
            position = match.end()
            position += len(args[position:]) - len(args[position:].lstrip())
        found.append("".join(pieces))
    return found


def test_the_scan_finds_the_runtime_format_strings() -> None:
    """The scan below sees what it should: a known call of platform.c."""
    strings = format_strings((PLATFORM_DIR / "hvt" / "platform.c").read_text())
    assert r"platform: abort: %s\n" in strings
    assert any("need %lu KiB" in s for s in strings)


def test_every_runtime_format_is_in_the_small_set() -> None:
    outside, scanned = [], 0
    for path in image_sources():
        for text in format_strings(path.read_text()):
            scanned += 1
            for conversion in ANY_CONVERSION.findall(text):
                if SMALL_CONVERSION.fullmatch(conversion) is None:
                    outside.append(f"{path.relative_to(RUNTIME_DIR)}: {conversion!r} in {text!r}")
    assert scanned >= 20  # platform, clock, traps, virtio-net, DHCP: not a scan that sees nothing
    assert outside == [], "lib/fmt.c's SC_FMT_FULL 0 does not handle these:\n" + \
        "\n".join(outside)


HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stddef.h>
#include "fmt.h"
void platform_console_write(const char *buf, size_t len) { fwrite(buf, 1, len, stdout); }
static int bad;
#define CHECK(...) do { char a[256], b[256]; \
    int na = fmt_snprintf(a, sizeof a, __VA_ARGS__), nb = snprintf(b, sizeof b, __VA_ARGS__); \
    if (na != nb || strcmp(a, b) != 0) { printf("MISMATCH %s: [%s] %d vs [%s] %d\n", \
        #__VA_ARGS__, a, na, b, nb); bad = 1; } } while (0)
#define AS_WRITTEN(f, ...) do { char a[64]; fmt_snprintf(a, sizeof a, f, __VA_ARGS__); \
    if (strcmp(a, f) != 0) { printf("NOT AS WRITTEN %s: [%s]\n", f, a); bad = 1; } } while (0)
int main(void) {
    CHECK("plain"); CHECK("%d|%d|%u|%d", -42, 0, 4000000000u, -2147483647 - 1);
    CHECK("%5d|%05d|%05d|%3u|%2d", 42, 42, -42, 7u, 12345);
    CHECK("%x|%08x|%02x|%02x|%x", 255u, 0xbeefu, 7u, 0xabu, 0u);
    CHECK("%lld|%llu|%llx|%lu|%lx|%03lu|%zu", -9223372036854775807LL - 1,
          18446744073709551615ULL, 0xfedcba9876543210ULL, 4000000000ul, 0xdeadbeefcafeUL,
          7ul, (size_t)12345);
    CHECK("%s|%10s|%s", "abc", "abc", "");
    CHECK("%p|%%|100%%", (void *)0x1234);
    AS_WRITTEN("%c", 'a'); AS_WRITTEN("%-5d", 1); AS_WRITTEN("%.2s", "abc");
    AS_WRITTEN("%X", 1u); AS_WRITTEN("%hd", 1);
    console_printf("console %s %d\n", "ok", 1);
    return bad;
}
"""


@needs_cc
def test_the_small_formatter_matches_the_c_library(tmp_path: Path) -> None:
    cc = find_cc()
    assert cc is not None
    run = run_fmt_harness(cc, HARNESS, tmp_path, "-DSC_FMT_FULL=0")
    assert run.returncode == 0, run.stdout
    assert run.stdout == "console ok 1\n"
