"""Make-syntax dependency files, as ``gcc -MD -MF FILE`` writes them.

``specc compile --depfile FILE`` (and ``BuildResult.depfile``) gives one rule
whose target is the image's path exactly as the build named it, so that
``-include out/dns.d`` in a Makefile, or ``depfile = ...`` in a ``build.ninja``
rule, attaches it to the rule that runs specc::

    out/dns.hvt: \\
      /src/dns.spec \\
      /src/zones/example.org.zone \\
      ...

    /src/zones/example.org.zone:

Every input after the first also gets an empty rule of its own (gcc's
``-MP``): when a file is deleted, make rebuilds the image instead of
stopping with "no rule to make target".
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

# `#include "x"` and `#include <x>`; the quoted form also searches the
# including file's directory.
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
_C_SUFFIXES = (".c", ".h", ".S", ".inc")


def escape(path: str) -> str:
    """A path as make (and ninja's depfile reader) reads it back: spaces and
    `#` escaped with a backslash, `$` doubled."""
    out = path.replace("$", "$$")
    out = re.sub(r"(\\*)([ #])", lambda m: m.group(1) * 2 + "\\" + m.group(2), out)
    return out.replace("\t", "\\\t")


def depfile_text(target: str, inputs: Sequence[str]) -> str:
    """The rule ``target: inputs``, one input a line, then an empty rule per input."""
    lines = [f"{escape(target)}:" + (" \\" if inputs else "")]
    for index, path in enumerate(inputs):
        last = index == len(inputs) - 1
        lines.append(f"  {escape(path)}" + ("" if last else " \\"))
    text = "\n".join(lines) + "\n"
    for path in inputs[1:]:
        text += f"\n{escape(path)}:\n"
    return text


def with_includes(sources: Iterable[str], search: Sequence[str],
                  exclude: str | None = None) -> list[str]:
    """``sources`` and every file they `#include`, transitively, that exists
    in the including file's directory or in ``search`` (the ``-I`` and
    ``-isystem`` directories), in the order first met.  Files under
    ``exclude`` (the generated sources: outputs, not inputs) are read for
    their includes but left out of the result."""
    seen: set[str] = set()
    order: list[str] = []
    queue = [os.path.abspath(s) for s in sources]
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        generated = exclude is not None and path.startswith(os.path.abspath(exclude) + os.sep)
        if not generated:
            order.append(path)
        if not path.endswith(_C_SUFFIXES):
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        for match in _INCLUDE.finditer(text):
            kind, name = match.group(1), match.group(2)
            places = [os.path.dirname(path)] if kind == '"' else []
            for directory in [*places, *search]:
                candidate = os.path.normpath(os.path.join(directory, name))
                if os.path.isfile(candidate):
                    queue.append(candidate)
                    break
    return order
