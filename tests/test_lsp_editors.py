"""The editor files: the grammars know the language, the copies agree, and
(where Vim is installed) the Vim syntax file highlights an example."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from specc.syntax.lexer import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
EDITORS = ROOT / "editors"
GRAMMAR = EDITORS / "spec.tmLanguage.json"
VIM_SYNTAX = EDITORS / "vim" / "syntax" / "spec.vim"
VSCODE = EDITORS / "vscode"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _regexes(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end") and isinstance(value, str):
                yield value
            else:
                yield from _regexes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _regexes(item)


def test_textmate_grammar_is_valid_and_knows_every_keyword() -> None:
    grammar = _load(GRAMMAR)
    assert grammar["scopeName"] == "source.spec"
    patterns = list(_regexes(grammar))
    for pattern in patterns:
        re.compile(pattern)  # Oniguruma accepts more, but these stay in the common subset
    words = {w for p in patterns for w in re.findall(r"[a-z][a-z0-9]*", p)}
    missing = sorted(k for k in KEYWORDS if k not in words)
    assert not missing, f"keywords missing from {GRAMMAR.name}: {missing}"
    include_targets = {v[1:] for p in [json.dumps(grammar)] for v in
                       re.findall(r'"include": "(#[^"]+)"', p)}
    assert include_targets <= set(grammar["repository"]), "an include names no rule"


def test_textmate_grammar_matches_examples() -> None:
    grammar = _load(GRAMMAR)["repository"]
    numbers = [re.compile(p["match"]) for p in grammar["numbers"]["patterns"]]
    first = {text: next(p.pattern for p in numbers if p.match(text))
             for text in ("10.0.0.2/24", "10.0.0.2", "250ms", "64KiB", "0x2a", "1_000")}
    assert "/" in first["10.0.0.2/24"] and "/" not in first["10.0.0.2"]
    assert "ms|" in first["250ms"] and "KiB" in first["64KiB"] and "0x" in first["0x2a"]
    config = re.compile(grammar["config-reference"]["match"])
    match = config.search("udp4.listen(config.port, answer)")
    assert match is not None and match.group(3) == "port"


def test_vscode_extension_carries_the_grammar() -> None:
    package = _load(VSCODE / "package.json")
    contributes = package["contributes"]
    (grammar,) = contributes["grammars"]
    copy = VSCODE / grammar["path"]
    assert copy.read_bytes() == GRAMMAR.read_bytes(), \
        "editors/vscode/syntaxes/ must hold a copy of editors/spec.tmLanguage.json"
    (language,) = contributes["languages"]
    assert language["extensions"] == [".spec"]
    assert (VSCODE / language["configuration"]).is_file()
    _load(VSCODE / language["configuration"])
    assert (VSCODE / package["main"]).is_file()
    settings = contributes["configuration"]["properties"]
    assert {"specc.target", "specc.defines", "specc.configFile"} <= set(settings)


def test_vim_syntax_knows_every_keyword() -> None:
    text = VIM_SYNTAX.read_text(encoding="utf-8")
    words = set(re.findall(r"[a-z][a-z0-9]*", text))
    missing = sorted(k for k in KEYWORDS if k not in words)
    assert not missing, f"keywords missing from {VIM_SYNTAX.name}: {missing}"


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")
def test_vim_highlights_an_example(tmp_path: Path) -> None:
    example = ROOT / "examples" / "dns.spec"
    rpm = tmp_path / "hello.spec"
    rpm.write_text("Name: hello\nVersion: 1.0\n%description\nHello.\n", encoding="utf-8")
    out = tmp_path / "groups.txt"
    script = tmp_path / "check.vim"
    probes = {"config": (4, 1), "port": (42, 22), "LogLevel.info": (12, 40),
              "answer": (36, 4), "address": (9, 25), "doc": (1, 1), "listen": (42, 8)}
    lines = [
        "set nocompatible",
        f"let &rtp = '{EDITORS / 'vim'},' . &rtp",
        "syntax on", "filetype on",
        f"edit {example}",
        "let out = [&filetype]",
        *[f"call add(out, synIDattr(synID({line}, {col}, 1), 'name'))"
          for line, col in probes.values()],
        f"edit {rpm}",
        "call add(out, synIDattr(synID(1, 1, 1), 'name'))",
        f"call writefile(out, '{out}')",
        "qa!",
    ]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run(["vim", "-N", "-u", "NONE", "-es", "-S", str(script)],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
    filetype, *groups, rpm_group = out.read_text(encoding="utf-8").splitlines()
    assert filetype == "spec"
    assert dict(zip(probes, groups, strict=True)) == {
        "config": "specDeclaration", "port": "specConfigKey", "LogLevel.info": "specEnumValue",
        "answer": "specDeclName", "address": "specAddress", "doc": "specDocComment",
        "listen": "specMethod"}
    ours = set(re.findall(r"^syn (?:keyword|match|region) (\w+)",
                          VIM_SYNTAX.read_text(encoding="utf-8"), re.MULTILINE))
    assert rpm_group and rpm_group not in ours, "an RPM spec file keeps Vim's own highlighting"
