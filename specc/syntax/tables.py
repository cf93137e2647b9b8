"""The LALR tables of grammar/spec.lark as plain data, cached on disk.

lark computes the tables; specc's own driver (parser.py) runs them.  The
tables are re-indexed by integers, because the driver runs for every token,
and kept in a pickle in the temporary directory, keyed by the grammar's
hash, so that a run of `specc check` does not even import lark (about 40 ms
of start-up) unless the grammar changed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

FORMAT = 3


@dataclass(frozen=True)
class Rule:
    size: int  # symbols on the right-hand side
    origin: str  # the nonterminal it reduces to (for the goto)
    callback: str  # the AstBuilder method: the rule's alias, else its name
    passthrough: bool  # `?rule: x` with one child: the value is the child itself
    placeholders: tuple[bool, ...]  # where `[optional]` parts were absent: insert None


@dataclass(frozen=True)
class Tables:
    terminal_names: dict[str, str]  # "==" -> "__ANON_6"
    # actions[state][terminal] = (True, next state) or (False, rule index)
    actions: dict[int, dict[str, tuple[bool, int]]]
    gotos: dict[int, dict[str, int]]
    rules: list[Rule]
    start_states: dict[str, int]
    end_states: dict[str, int]
    # (state below, top state, lookahead) -> top state after pass-through
    # reductions; filled as parsing meets them (a pure function of the tables).
    chains: dict[tuple[int, int, str], int] = field(default_factory=dict, compare=False)


def load_tables() -> Tables:
    text = resources.files("specc.grammar").joinpath("spec.lark").read_text(encoding="utf-8")
    digest = hashlib.sha256(f"{FORMAT}\n{text}".encode()).hexdigest()[:32]
    path = os.path.join(tempfile.gettempdir(), f"specc-tables-{digest}.pickle")
    try:
        with open(path, "rb") as handle:
            tables = pickle.load(handle)
        if isinstance(tables, Tables):
            return tables
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError, TypeError):
        pass  # no cache yet, or an unreadable one: compute the tables again
    tables = compute_tables(text)
    temporary = f"{path}.{os.getpid()}"
    try:
        with open(temporary, "wb") as handle:
            pickle.dump(tables, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only temporary directory only costs start-up time
    return tables


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
    actions: dict[int, dict[str, tuple[bool, int]]] = {}
    gotos: dict[int, dict[str, int]] = {}
    for state, row in table.states.items():
        acts: dict[str, tuple[bool, int]] = {}
        goto: dict[str, int] = {}
        for symbol, (action, arg) in row.items():
            if action.name == "Shift":
                if symbol.isupper() or symbol.startswith("$"):
                    acts[str(symbol)] = (True, arg)
                else:
                    goto[str(symbol)] = arg
            else:
                if arg not in rule_index:
                    rule_index[arg] = len(rules)
                    rules.append(_rule(arg))
                acts[str(symbol)] = (False, rule_index[arg])
        actions[state] = acts
        gotos[state] = goto
    return Tables(names, actions, gotos, rules, dict(table.start_states),
                  dict(table.end_states))


def _rule(rule: Any) -> Rule:
    empty = tuple(bool(e) for e in (rule.options.empty_indices or ()))
    passthrough = bool(rule.options.expand1 and len(rule.expansion) == 1 and rule.alias is None
                       and not any(empty))
    # Plain strings: lark's Token would make unpickling import lark.
    origin = str(rule.origin.name)
    return Rule(len(rule.expansion), origin, str(rule.alias or origin), passthrough, empty)
