"""The LALR tables of grammar/spec.lark as plain data, shipped in the package.

lark computes the tables; specc's own driver (parser.py) runs them.  They
are generated once into ``specc/syntax/tables.json`` (``python -m
specc.syntax.tables``), with the SHA-256 of the grammar they were computed
from, so that a run of `specc check` reads one JSON file and does not even
import lark (about 40 ms of start-up).  The hash is checked on every load:
when the grammar changed and the file was not regenerated, or the file is
missing or unreadable, the tables are computed with lark in memory for this
process, and nothing is written anywhere.  JSON holds no code, and the file
is read only from the package itself, never from a shared directory.

The generated file has one parser state a line, so that a grammar change
shows as a readable diff; it is written with ``PYTHONHASHSEED=0`` because
lark numbers its states in an order that depends on the hash seed.

Decoding that JSON was about 4% of the instructions of `specc check` on a
small spec, and importing json 1% (issue 13): scripts/setup.sh also keeps
the decoded data in marshal's format beside it (``tables.marshal``, ``python
-m specc.syntax.tables --decoded``), which loads in a third of the time,
with the grammar's digest (hashlib and OpenSSL, 2.5% more, need not load).
It holds the bytes of the tables.json it was decoded from, the grammar's
text and the interpreter's version, and is used only when all three are
what they are now (compared byte for byte), else, or when it is missing or
damaged, the JSON is decoded and the digest computed.
"""

from __future__ import annotations

import marshal
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specc.records import Record

FORMAT = 4
TABLES_FILE = Path(__file__).resolve().parent / "tables.json"
DECODED_FILE = os.path.join(os.path.dirname(__file__), "tables.marshal")
DECODED_FORMAT = "specc-tables-decoded-2"


@dataclass(frozen=True, repr=False)
class Rule(Record):
    """A grammar rule, as the driver reduces it."""

    size: int  # symbols on the right-hand side
    origin: str  # the nonterminal it reduces to (for the goto)
    callback: str  # the AstBuilder method: the rule's alias, else its name
    passthrough: bool  # `?rule: x` with one child: the value is the child itself
    placeholders: tuple[bool, ...]  # where `[optional]` parts were absent: insert None


@dataclass(frozen=True, repr=False)
class Tables(Record):
    """The LALR tables: what parser.py's driver runs."""

    terminal_names: dict[str, str]  # "==" -> "__ANON_6"
    # actions[state][terminal] = [1, next state] (shift) or [0, rule index] (reduce)
    actions: list[dict[str, list[int]]]
    gotos: list[dict[str, int]]  # gotos[state][nonterminal] = next state
    rules: list[Rule]
    start_states: dict[str, int]
    end_states: dict[str, int]
    # (state below, top state, lookahead) -> top state after pass-through
    # reductions; filled as parsing meets them (a pure function of the tables).
    chains: dict[tuple[int, int, str], int] = field(default_factory=dict, compare=False)


# Package data of specc.grammar, found from this file's place in the package
# rather than with importlib.resources, whose import (with specc.check.loader
# doing the same) was about 4% of `specc check` on a small spec (issue 13).
GRAMMAR_FILE = Path(__file__).parent.parent / "grammar" / "spec.lark"


def grammar_text() -> str:
    return GRAMMAR_FILE.read_text(encoding="utf-8")


def grammar_digest(text: str) -> str:
    import hashlib  # here: with the decoded copy, a check computes no digest

    return hashlib.sha256(f"{FORMAT}\n{text}".encode()).hexdigest()


def load_tables(path: Path = TABLES_FILE) -> Tables:
    """The shipped tables when they were made from this grammar, else lark's."""
    text = grammar_text()
    tables = read_tables(path, text)
    return tables if tables is not None else compute_tables(text)


def read_tables(path: Path, grammar: str) -> Tables | None:
    """The tables in ``path``, or None unless it holds tables of ``grammar``
    (by its digest), in this format."""
    try:
        with open(path, "rb") as handle:
            data, digest = decoded(handle.read(), grammar)
        if not isinstance(data, dict) or data.get("format") != FORMAT or \
                data.get("grammar_sha256") != digest:
            return None
        return from_json(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # no file, or not one this version wrote: use lark


def decoded(raw: bytes, grammar: str, decoded_file: str | None = None) -> tuple[Any, str]:
    """``json.loads(raw)`` and ``grammar_digest(grammar)``: from the decoded
    copy when it was made from ``raw`` and ``grammar``."""
    try:
        with open(DECODED_FILE if decoded_file is None else decoded_file, "rb") as handle:
            stored = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        stored = None
    if isinstance(stored, tuple) and len(stored) == 6 and \
            stored[:4] == (DECODED_FORMAT, sys.version, raw, grammar):
        return stored[4], stored[5]
    import json

    return json.loads(raw), grammar_digest(grammar)


def write_decoded(path: Path = TABLES_FILE, decoded_file: str | None = None,
                  grammar: str | None = None) -> None:
    """Keep the decoded ``path`` and the digest of ``grammar`` (the grammar
    file's) for :func:`decoded`: written to a temporary file and renamed over
    the old one, so a reader sees one or the other."""
    import json

    raw = path.read_bytes()
    text = grammar_text() if grammar is None else grammar
    target = DECODED_FILE if decoded_file is None else decoded_file
    temporary = f"{target}.{os.getpid()}"
    try:
        with open(temporary, "wb") as out:
            out.write(marshal.dumps((DECODED_FORMAT, sys.version, raw, text, json.loads(raw),
                                     grammar_digest(text))))
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def from_json(data: dict[str, Any]) -> Tables:
    rules = [Rule(int(size), str(origin), str(callback), bool(through),
                  tuple(bool(p) for p in placeholders))
             for size, origin, callback, through, placeholders in data["rules"]]
    tables = Tables(data["terminal_names"], data["actions"], data["gotos"], rules,
                    data["start_states"], data["end_states"])
    if not isinstance(tables.actions, list) or len(tables.actions) != len(tables.gotos):
        raise ValueError("malformed tables")
    return tables


def to_json(tables: Tables, digest: str) -> str:
    """The file's text: deterministic, one state or rule a line."""
    import json

    def line(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    def block(items: list[Any]) -> str:
        return "[\n" + ",\n".join(line(item) for item in items) + "\n]"

    rules = [[r.size, r.origin, r.callback, r.passthrough, list(r.placeholders)]
             for r in tables.rules]
    parts = [f'"format":{FORMAT}', f'"grammar_sha256":{line(digest)}',
             f'"terminal_names":{line(tables.terminal_names)}',
             f'"start_states":{line(tables.start_states)}',
             f'"end_states":{line(tables.end_states)}',
             f'"rules":{block(rules)}', f'"actions":{block(tables.actions)}',
             f'"gotos":{block(tables.gotos)}']
    return "{\n" + ",\n".join(parts) + "\n}\n"


def compute_tables(text: str) -> Tables:
    import lark

    parser = lark.Lark(text, parser="lalr", lexer="basic", start=["file", "expr"],
                       keep_all_tokens=True, maybe_placeholders=True)
    names: dict[str, str] = {}
    for terminal in parser.terminals:
        if isinstance(terminal.pattern, lark.lexer.PatternStr):
            names[str(terminal.pattern.value)] = str(terminal.name)
    table = parser.parser.parser.parser.parse_table
    rule_index: dict[Any, int] = {}
    rules: list[Rule] = []
    count = len(table.states)
    if sorted(table.states) != list(range(count)):
        raise RuntimeError("lark's parser states are not numbered 0..n-1")
    actions: list[dict[str, list[int]]] = [{} for _ in range(count)]
    gotos: list[dict[str, int]] = [{} for _ in range(count)]
    for state, row in table.states.items():
        acts: dict[str, list[int]] = {}
        goto: dict[str, int] = {}
        for symbol, (action, arg) in row.items():
            if action.name == "Shift":
                if symbol.isupper() or symbol.startswith("$"):
                    acts[str(symbol)] = [1, arg]
                else:
                    goto[str(symbol)] = arg
            else:
                if arg not in rule_index:
                    rule_index[arg] = len(rules)
                    rules.append(_rule(arg))
                acts[str(symbol)] = [0, rule_index[arg]]
        actions[state] = acts
        gotos[state] = goto
    return Tables(names, actions, gotos, rules, dict(table.start_states),
                  dict(table.end_states))


def _rule(rule: Any) -> Rule:
    empty = tuple(bool(e) for e in (rule.options.empty_indices or ()))
    passthrough = bool(rule.options.expand1 and len(rule.expansion) == 1 and rule.alias is None
                       and not any(empty))
    # Plain strings, not lark's Token (a str subclass).
    origin = str(rule.origin.name)
    return Rule(len(rule.expansion), origin, str(rule.alias or origin), passthrough, empty)


def canonical(tables: Tables) -> Tables:
    """The same automaton with its states and rules numbered in one fixed
    order (breadth first from the sorted start symbols, symbols sorted), so
    that the same grammar always gives the same file: lark numbers its states
    in an order that varies from run to run."""
    from collections import deque

    states: dict[int, int] = {}  # lark's number -> ours
    queue = deque(tables.start_states[name] for name in sorted(tables.start_states))
    while queue:
        state = queue.popleft()
        if state in states:
            continue
        states[state] = len(states)
        row = tables.actions[state]
        queue.extend(row[t][1] for t in sorted(row) if row[t][0])
        queue.extend(tables.gotos[state][n] for n in sorted(tables.gotos[state]))
    if len(states) != len(tables.actions):
        raise RuntimeError("some parser states cannot be reached from a start state")
    old = sorted(states, key=states.__getitem__)
    rules: dict[int, int] = {}
    for state in old:
        row = tables.actions[state]
        for terminal in sorted(row):
            if not row[terminal][0]:
                rules.setdefault(row[terminal][1], len(rules))
    actions = [{t: [1, states[a]] if shift else [0, rules[a]]
                for t, (shift, a) in sorted(tables.actions[s].items())} for s in old]
    gotos = [{n: states[g] for n, g in sorted(tables.gotos[s].items())} for s in old]
    return Tables(dict(sorted(tables.terminal_names.items())), actions, gotos,
                  [tables.rules[r] for r in sorted(rules, key=rules.__getitem__)],
                  {k: states[v] for k, v in sorted(tables.start_states.items())},
                  {k: states[v] for k, v in sorted(tables.end_states.items())})


def generated_text() -> str:
    """What ``tables.json`` holds for the grammar as it is now."""
    text = grammar_text()
    return to_json(canonical(compute_tables(text)), grammar_digest(text))


def write_tables(path: Path = TABLES_FILE) -> None:
    """Compute the tables with lark and write them to ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(generated_text(), encoding="utf-8")
    os.replace(temporary, path)


if __name__ == "__main__":
    if sys.argv[1:] == ["--decoded"]:
        try:
            write_decoded()
        except OSError as error:  # a read-only installation decodes the JSON each run
            print(f"specc.syntax.tables: tables.marshal not written: {error}", file=sys.stderr)
    else:
        write_tables(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLES_FILE)
