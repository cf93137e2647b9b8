"""The formatter and the shipped files agree (issue 12, item 1): every
``.spec`` of examples/ and tests/data, and every ```spec block of the docs,
is already in the layout ``specc fmt`` prints.

Doc blocks that are statements rather than declarations are checked inside
a ``main`` block.  A block may opt out with ``<!-- specc fmt: off ... -->``
on the line before its fence (it shows a layout on purpose, like ``;``
between statements); a block with syntax errors is only allowed in the
section of a syntax-error code (``### E000N``)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from specc.fmt import format_text

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
MARKDOWN = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md", ROOT / "examples" / "README.md"])
BLOCK = re.compile(r"^```spec\n(.*?)^```", re.S | re.M)
OPT_OUT = "<!-- specc fmt: off"
SYNTAX_SECTION = re.compile(r"^### E000\d ", re.M)


def shipped_specs() -> list[Path]:
    files = sorted((ROOT / "examples").rglob("*.spec")) + sorted((ROOT / "tests" / "data").rglob("*.spec"))
    assert len(files) >= 8, files
    return files


def fmt_check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPECC, "fmt", "--check", *map(str, paths)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_every_shipped_spec_is_formatted() -> None:
    result = fmt_check(shipped_specs())
    assert result.returncode == 0, f"not formatted:\n{result.stdout}{result.stderr}"


def test_fmt_check_would_fail_on_an_unaligned_devices_block(tmp_path: Path) -> None:
    # The check above can fail: the examples' own layout, with the alignment
    # taken out, is reported.
    text = (ROOT / "examples" / "dns.spec").read_text()
    assert "  db      = dns_zone(config.zone)\n" in text
    spec = tmp_path / "dns.spec"
    spec.write_text(text.replace("  db      = dns_zone(config.zone)\n",
                                 "  db = dns_zone(config.zone)\n"))
    result = fmt_check([spec])
    assert result.returncode == 1 and str(spec) in result.stdout


def doc_blocks() -> list[tuple[str, int, str, bool, bool]]:
    """(file, line, text, opted out, in a syntax-error section) of each block."""
    found = []
    for md in MARKDOWN:
        text = md.read_text()
        for match in BLOCK.finditer(text):
            before = text[:match.start()]
            line = before.count("\n") + 1
            previous = before.rstrip("\n").rsplit("\n", 1)[-1]
            headings = re.findall(r"^#{1,6} .*$", before, re.M)
            in_syntax = bool(headings) and SYNTAX_SECTION.match(headings[-1]) is not None
            found.append((md.relative_to(ROOT).as_posix(), line, match.group(1),
                          previous.startswith(OPT_OUT), in_syntax))
    return found


def test_the_docs_have_blocks_to_check() -> None:
    blocks = doc_blocks()
    assert len(blocks) > 70
    assert sum(1 for b in blocks if b[3]) <= 3, "few blocks opt out of the canonical layout"


def test_every_doc_block_is_formatted(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for path, line, text, opted_out, in_syntax_section in doc_blocks():
        if opted_out:
            continue
        where = f"{path}:{line}"
        # A block of statements is checked as the body of `main`.
        for candidate in (text, "main {\n" + textwrap.indent(text, "  ") + "}\n"):
            result = format_text(candidate, where)
            assert result.internal_error is None, f"{where}: {result.internal_error}"
            if result.text is not None:
                spec = tmp_path / f"{path.replace('/', '_')}_{line}.spec"
                spec.write_text(candidate)
                files[str(spec)] = where
                break
        else:
            assert in_syntax_section, f"{where} has syntax errors outside a syntax-error section"
    assert len(files) > 60
    check = fmt_check([Path(f) for f in files])
    unformatted = [files[line] for line in check.stdout.split()]
    assert check.returncode == 0 and not unformatted, f"not formatted: {unformatted} {check.stderr}"
