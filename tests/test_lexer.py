"""The tokenizer's layout decisions, token by token: which newlines and `;`
become separators, which `{` opens a struct literal, where string literals
end, and the positions of each token (specc/syntax/lexer.py scans and lays
out in one pass; these pin what the parser relies on)."""

from __future__ import annotations

import pytest

from specc.span import SourceFile
from specc.syntax.lexer import tokenize
from specc.syntax.parser import grammar
from specc.syntax.tokens import COLUMN, END, END_COLUMN, LINE, START, TYPE, VALUE, Token

Shown = tuple[str, int, int]

CASES: list[tuple[str, str, list[Shown], list[Shown]]] = [
    ("blank lines and `;` after a separator add nothing; a line starting with `.` continues",
     "let a = 1\n\n;;\nlet b = a\n  .c\n",
     [("let", 1, 1), ("NAME a", 1, 5), ("=", 1, 7), ("INT 1", 1, 9), ("SEP", 1, 10),
      ("let", 4, 1), ("NAME b", 4, 5), ("=", 4, 7), ("NAME a", 4, 9), (".", 5, 3),
      ("NAME c", 5, 4)],
     []),
    ("a declaration keyword at column 1, after a blank line, ends an unclosed `(`",
     "f(a,\n\nfn g() {}\n",
     [("NAME f", 1, 1), ("(", 1, 2), ("NAME a", 1, 3), (",", 1, 4), ("SEP", 2, 1), ("fn", 3, 1),
      ("NAME g", 3, 4), ("(", 3, 5), (")", 3, 6), ("{", 3, 8), ("}", 3, 9)],
     [("E0007", 1, 2)]),
    ("string literals: interpolations, one holding a string of its own, bytes",
     's = "x{y}z" + "{f("q{r}")}" + b"\\x41"\n',
     [("NAME s", 1, 1), ("=", 1, 3), ('STRING "x{y}z"', 1, 5), ("+", 1, 13),
      ('STRING "{f("q{r}")}"', 1, 15), ("+", 1, 29), ('BYTES b"\\x41"', 1, 31)],
     []),
    ("unclosed literals stand in as empty ones, with one error each",
     'a = "{x\nb = b"q\n',
     [("NAME a", 1, 1), ("=", 1, 3), ('STRING ""', 1, 5), ("SEP", 1, 8), ("NAME b", 2, 1),
      ("=", 2, 3), ('BYTES b""', 2, 5)],
     [("E0004", 1, 5), ("E0004", 2, 5)]),
    ("a backslash before a newline does not carry a string onto the next line: the literal "
     "ends unclosed there, and the tokens below keep their own lines",
     'a = "x\\\n b"\nc = 1\n',
     [("NAME a", 1, 1), ("=", 1, 3), ('STRING ""', 1, 5), ("SEP", 1, 8), ('BYTES b""', 2, 2),
      ("SEP", 2, 4), ("NAME c", 3, 1), ("=", 3, 3), ("INT 1", 3, 5)],
     [("E0004", 1, 5), ("E0004", 2, 2)]),
    ("a `{` after a name opens a struct literal, except right after a condition",
     "if a { b } else { S { c: 1 } }\nt = T {\n}\n",
     [("if", 1, 1), ("NAME a", 1, 4), ("{", 1, 6), ("NAME b", 1, 8), ("}", 1, 10),
      ("else", 1, 12), ("{", 1, 17), ("NAME S", 1, 19), ("SLBRACE", 1, 21), ("NAME c", 1, 23),
      (":", 1, 24), ("INT 1", 1, 26), ("}", 1, 28), ("}", 1, 30), ("SEP", 1, 31),
      ("NAME t", 2, 1), ("=", 2, 3), ("NAME T", 2, 5), ("SLBRACE", 2, 7), ("}", 3, 1)],
     []),
    ("a newline after an operator continues; `;` separates; a stray `]` is an error",
     "a = 1 ?? \n 2; b\n]\n",
     [("NAME a", 1, 1), ("=", 1, 3), ("INT 1", 1, 5), ("??", 1, 7), ("INT 2", 2, 2),
      ("SEP", 2, 3), ("NAME b", 2, 5), ("]", 3, 1)],
     [("E0007", 3, 1)]),
]


def shown(tok: Token) -> str:
    if tok[TYPE] in ("NAME", "INT", "STRING", "BYTES", "DURATION", "SIZE", "IPV4", "CIDR"):
        return f"{tok[TYPE]} {tok[VALUE]}"
    if tok[TYPE] in ("SEP", "SLBRACE"):
        return tok[TYPE]
    # A keyword or mark: its grammar terminal, named by its text.
    assert tok[TYPE] == ("SEMICOLON" if tok[VALUE] == ";" else grammar().terminal_of(tok[VALUE]))
    return tok[VALUE]


@pytest.mark.parametrize(("why", "text", "tokens", "errors"), CASES, ids=[c[0] for c in CASES])
def test_layout(why: str, text: str, tokens: list[Shown], errors: list[Shown]) -> None:
    lexed = tokenize(SourceFile("t.spec", text), grammar().terminal_of)
    assert [(shown(t), t[LINE], t[COLUMN]) for t in lexed.tokens] == tokens, why
    assert [(e.code, e.span.line, e.span.column) for e in lexed.errors] == errors, why
    for tok in lexed.tokens:  # offsets and columns agree with the text
        if tok[VALUE] not in ('""', 'b""'):  # not a stand-in for a broken literal
            assert text[tok[START]:tok[END]] == tok[VALUE]
        assert tok[END_COLUMN] - tok[COLUMN] == tok[END] - tok[START]

def test_a_fragment_is_placed_in_its_file() -> None:
    # An interpolation is tokenized on its own, at its offset in the file.
    text = 'let s = "{f(a, b)}"\n'
    start = text.index("f")
    lexed = tokenize(SourceFile("t.spec", text), grammar().terminal_of, base_offset=start,
                     text="f(a, b)")
    assert [(shown(t), t[LINE], t[COLUMN], t[START]) for t in lexed.tokens] == [
        ("NAME f", 1, 11, 10), ("(", 1, 12, 11), ("NAME a", 1, 13, 12), (",", 1, 14, 13),
        ("NAME b", 1, 16, 15), (")", 1, 17, 16)]
