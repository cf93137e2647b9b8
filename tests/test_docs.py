"""The language reference documents every diagnostic code, with an example
that really produces it (issue 2, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from specc.api import check_source
from specc.codes import CODES

DOC = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text()
# Codes whose examples need other files, a back end or the middle end to show,
# and E0008, whose example is abridged (the real one is 400 terms long).
NOT_FROM_CHECK = {"E0008", "E0104", "E0105", "E0110", "E9001"} | {c for c in CODES if c[1:3] in ("04", "06",
                                                                             "07", "08")} | \
    {"E0303", "E0304", "W0003", "W0004"}
# Command-line errors (E08xx) are shown by a command; tests/test_cli_errors.py runs each one.
COMMAND_LINE_CODES = {c for c in CODES if c.startswith("E08")}


def section(code: str) -> str:
    match = re.search(rf"^### {code} .*?(?=^### |\Z)", DOC, re.M | re.S)
    assert match is not None, f"docs/language.md has no section for {code}"
    return match.group(0)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_has_a_section_with_an_example(code: str) -> None:
    example = "```text\nspecc " if code in COMMAND_LINE_CODES else "```spec"
    assert example in section(code), f"{code} has no example"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_in_the_table_with_its_title(code: str) -> None:
    assert re.search(rf"^\| \[{code}\]\(#{code.lower()}--[^)]*\) \| "
                     rf"{re.escape(CODES[code].title)}( \(warning\))? \|$", DOC, re.M), code


@pytest.mark.parametrize("code", sorted(set(CODES) - NOT_FROM_CHECK))
def test_the_example_produces_its_code(code: str) -> None:
    example = re.search(r"```spec\n(.*?)```", section(code), re.S)
    assert example is not None
    codes = {d.code for d in check_source(example.group(1), "example.spec").diagnostics}
    assert code in codes, f"the example of {code} gives {sorted(codes)}"
