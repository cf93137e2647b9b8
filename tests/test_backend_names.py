"""No back end or launcher names a prelude component or type (issue 8, item 2).

What a shipped component needs beyond its constant arguments is declared
with its implementation (specc/backends/components.py and the
`component.py` modules beside the implementations); the emitters, the boot
description and the launcher work from the `Image` alone.  This test reads
their code (identifiers and string literals, not comments or docstrings)
and fails on any prelude component, interface, struct or enum name.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from specc import ast
from specc.check.loader import load_prelude
from specc.diagnostics import DiagnosticSink

SPECC = Path(__file__).resolve().parents[1] / "specc"
# The code that must work from the Image alone.
CHECKED = sorted([*SPECC.glob("backends/c/*.py"), *SPECC.glob("backends/python/*.py"),
                  SPECC / "backends" / "__init__.py", SPECC / "backends" / "boot.py",
                  SPECC / "launch.py"])


def prelude_names() -> set[str]:
    module, _ = load_prelude(DiagnosticSink())
    kinds = (ast.ComponentDecl, ast.InterfaceDecl, ast.StructDecl, ast.EnumDecl)
    return {d.name for d in module.decls if isinstance(d, kinds)}


def code_words(path: Path) -> list[tuple[int, str]]:
    """(line, word) of every identifier and every word inside a string literal
    that is not a docstring (a string statement on its own)."""
    words: list[tuple[int, str]] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    for i, token in enumerate(tokens):
        if token.type == tokenize.NAME:
            words.append((token.start[0], token.string))
        elif token.type == tokenize.STRING:  # f-strings too, on Python 3.11
            before = next((t for t in reversed(tokens[:i])
                           if t.type not in (tokenize.NL, tokenize.COMMENT)), None)
            docstring = before is None or before.type in (tokenize.NEWLINE, tokenize.INDENT,
                                                          tokenize.DEDENT)
            if not docstring:
                words += [(token.start[0], w) for w in re.findall(r"\w+", token.string)]
    return words


def test_the_prelude_names_are_found() -> None:
    names = prelude_names()
    # The test is only as good as its list: the names issue 8 found in the
    # emitters and the launcher are among them.
    assert {"http_server", "Datagram", "Conn", "host_ip", "static_ipv4", "dns_zone"} <= names


def test_the_scanner_sees_code_and_strings(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""host_ip in a docstring is prose."""\n'
                      "# Datagram in a comment too\n"
                      "x = Conn\n"
                      "y = 'http_server'\n")
    assert [w for _, w in code_words(sample)] == ["x", "Conn", "y", "http_server"]


def test_no_emitter_or_launcher_names_a_prelude_component_or_type() -> None:
    names = prelude_names()
    found = [f"{path.relative_to(SPECC.parent)}:{line}: {word}"
             for path in CHECKED if path.exists()
             for line, word in code_words(path) if word in names]
    assert found == []
