"""Copy the complete-file code blocks of the language brief into the tests.

The brief (``LANGUAGE.md``) lives outside the repository, in ``../shared``,
which a fresh clone (CI) does not have; so every fenced code block of it that
is a whole application file (it has a ``unikernel`` line) is copied to
``tests/data/language_blocks/<name>.spec``, and ``tests/test_examples_check.py``
checks those copies.  The zone files the blocks read (``zones/...``) are copied
from ``examples/zones`` next to them, so that relative paths resolve.

Run from anywhere, after the brief changes::

    python tests/data/extract_language_blocks.py [path/to/LANGUAGE.md]
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "LANGUAGE.md"
OUT = HERE / "language_blocks"
ZONES = ROOT / "examples" / "zones"

FENCE = re.compile(r"^(?P<indent>[ \t]*)```")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")
UNIKERNEL = re.compile(r"^unikernel\b", re.MULTILINE)
HEADER = "# Copied from LANGUAGE.md ({where}) by tests/data/extract_language_blocks.py.\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def complete_blocks(markdown: str) -> list[tuple[str, str]]:
    """(file name, file text) for each fenced block that is a whole file."""
    found: list[tuple[str, str]] = []
    heading = "preamble"
    counts: dict[str, int] = {}
    block: list[str] | None = None
    indent = ""
    for line in markdown.split("\n"):
        fence = FENCE.match(line)
        if block is None:
            if fence is not None:
                block, indent = [], fence.group("indent")
                continue
            title = HEADING.match(line)
            if title is not None:
                heading = title.group("title")
            continue
        if fence is not None:
            text = "\n".join(block) + "\n"
            if UNIKERNEL.search(text):
                counts[heading] = counts.get(heading, 0) + 1
                name = "section_" + _slug(heading) + (f"_{counts[heading]}" if counts[heading] > 1 else "")
                found.append((f"{name}.spec", HEADER.format(where=heading) + text))
            block = None
            continue
        block.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    return found


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    blocks = complete_blocks(source.read_text(encoding="utf-8"))
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    for name, text in blocks:
        (OUT / name).write_text(text, encoding="utf-8")
    shutil.copytree(ZONES, OUT / "zones")
    print(f"wrote {len(blocks)} block(s) from {source} to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
