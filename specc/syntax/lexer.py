"""The tokenizer: source text to the token stream the LALR grammar reads.

Besides splitting text into tokens it makes the three decisions a
context-free grammar cannot make cheaply (LANGUAGE.md section 2 and 8):

* which newlines end a statement (they become ``SEP``; the others vanish),
* which ``{`` opens a struct literal (``SLBRACE``) rather than a block,
* where a string literal ends, interpolations and nested strings included.

It also collects comments and ``##`` doc comments, keyed by the line of the
declaration they document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from specc.ast import Comment
from specc.span import SourceFile, Span
from specc.syntax.tokens import COLUMN, END, END_COLUMN, LINE, START, TYPE, VALUE, Token

KEYWORDS = frozenset(
    ["unikernel", "use", "enum", "struct", "config", "const", "param", "requires", "devices", "interface", "component", "impl", "targets", "drop", "when", "fn", "main", "let", "var", "if", "then", "else", "match", "while", "for", "in", "return", "break", "continue", "and", "or", "not", "as", "true", "false", "none", "some", "target"]
)

PUNCTUATION = (
    "..", "??", "==", "!=", "<=", ">=", "<<", ">>", "->", "=>", "+=", "-=", "*=",
    "(", ")", "{", "}", "[", "]", ",", ":", ";", ".", "=", "+", "-", "*", "/", "%",
    "<", ">", "|", "^", "&", "?",
)  # fmt: skip

# A line ending with one of these continues on the next line.
_CONTINUE_AFTER = frozenset(
    {"??", "or", "and", "not", "==", "!=", "<", "<=", ">", ">=", "|", "^", "&", "<<", ">>",
     "+", "-", "*", "/", "%", "=", "=>", ",", "then", "else", "->", ":", ".", "as", "+=",
     "-=", "*=", "{", "(", "[", ".."}
)  # fmt: skip
# A line starting with one of these continues the previous line.
_CONTINUE_BEFORE = frozenset({"then", "else", ".", "|", "}", ")", "]"})
# `NAME {` after these words is a declaration body or block, not a struct literal.
_DECL_BEFORE_NAME = frozenset({"enum", "struct", "interface", "->"})
# Words that start a top-level declaration.  One at the start of a line
# inside an unclosed `(` or `[` means the bracket was never closed (`fn f(a:
# u16 -> u16 {`): the bracket ends there, so one broken header does not
# swallow the rest of the file.
_DECLARATION_STARTS = frozenset({"fn", "main", "struct", "enum", "interface", "component",
                                 "config", "devices", "unikernel", "use", "var"})
# After these keywords a `{` at the same bracket depth opens the statement's
# block, so a struct literal there must be parenthesized.
_CONDITION_KEYWORDS = frozenset({"if", "while", "match", "for"})

# One pattern for every token.  Leading blanks are part of each match, and
# every other character is some group (``bad`` when nothing else takes it),
# so one ``finditer`` walks the whole text; only a match of blanks alone, at
# the end of the text, has no group.  The alternatives start with different
# characters, except ``string`` and ``quote`` before ``name`` (``b"``), so
# their order only matters among those and among the numbers.  ``string`` is a whole literal whose
# interpolations hold no braces, quotes or newlines: it ends exactly where
# scan_string would end it (every character has one reading), and the
# quantifiers are possessive so that a literal left open costs no
# backtracking.  Any other literal is ``quote``, and scan_string reads it.
_TOKEN_RE = re.compile(
    r"""
    [ \t\r\f]*
    (?:
    (?P<string>b?"(?:[^"\\\n{]++|\\[^\n]|\{\{|\{[^{}"\n]*+\})*+")
  | (?P<quote>b?")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>\.\.|\?\?|==|!=|<=|>=|<<|>>|->|=>|\+=|-=|\*=|[(){}\[\],:;.=+\-*/%<>|^&?])
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<cidr>\d+\.\d+\.\d+\.\d+/\d+)(?![A-Za-z0-9_.])
  | (?P<ipv4>\d+\.\d+\.\d+\.\d+)(?![A-Za-z0-9_./])
  | (?P<duration>\d[\d_]*(?:ms|us|ns|s|m|h))(?![A-Za-z0-9_])
  | (?P<size>\d[\d_]*(?:B|KiB|MiB|GiB))(?![A-Za-z0-9_])
  | (?P<int>0x[0-9A-Fa-f_]+|0b[01_]+|\d[\d_]*)(?![A-Za-z0-9_])
  | (?P<badnum>\d[A-Za-z0-9_]*(?:\.\d+)*)
  | (?P<bad>[^ \t\r\f])
    )?
    """,
    re.VERBOSE,
)
_NUMBER_KINDS = {"cidr": "CIDR", "ipv4": "IPV4", "duration": "DURATION", "size": "SIZE",
                 "int": "INT"}
_LITERALS = frozenset({"STRING", "BYTES", "NAME", "INT", "DURATION", "SIZE", "IPV4", "CIDR"})
_STRINGS = ("STRING", "BYTES")
_CLOSERS = {"}": "{", ")": "(", "]": "["}
# The keywords and marks that _bracket has something to do for.
_LAYOUT_WORDS = frozenset({"{", "(", "[", *_CLOSERS, *_CONDITION_KEYWORDS, "then"})


@dataclass
class LexError:
    """A problem the tokenizer found, reported as a diagnostic."""

    code: str
    span: Span
    message: str
    hint: str | None = None


@dataclass
class LexResult:
    """The tokens of a text, its comments and doc comments, and the problems
    found.  (Each record here has a docstring: dataclasses makes a missing one
    with inspect.signature, at every import.)"""

    tokens: list[Token]
    comments: list[Comment] = field(default_factory=list)
    # Doc comments by the offset of the first token after them: the one that
    # starts the documented declaration (other tokens on its line get none).
    docs: dict[int, str] = field(default_factory=dict)
    errors: list[LexError] = field(default_factory=list)


def scan_string(text: str, pos: int) -> tuple[int, str | None]:
    """Find the end of the string literal whose opening quote is at ``pos``.

    Returns (offset just after the closing quote, None), or (offset where
    scanning stopped, reason) when the literal is unterminated.  Interpolated
    expressions may contain strings of their own.
    """
    i = pos + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return i + 1, None
        if ch == "\n":
            return i, "string literal is not closed before the end of the line"
        if ch == "\\":
            # A backslash does not carry a string onto the next line: the
            # literal ends unclosed there, and the newline is counted as one.
            if text.startswith("\n", i + 1):
                return i + 1, "string literal is not closed before the end of the line"
            i += 2
            continue
        if ch == "{":
            if text.startswith("{{", i):
                i += 2
                continue
            end, problem = _scan_interpolation(text, i)
            if problem is not None:
                return end, problem
            i = end
            continue
        i += 1
    return n, "string literal is not closed before the end of the file"


def _scan_interpolation(text: str, pos: int) -> tuple[int, str | None]:
    depth = 0
    i = pos
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1, None
        elif ch == '"':
            end, problem = scan_string(text, i)
            if problem is not None:
                return end, problem
            i = end
            continue
        elif ch == "\n":
            return i, "interpolation `{...}` is not closed before the end of the line"
        i += 1
    return n, "interpolation `{...}` is not closed before the end of the file"


def _plain_string_end(text: str, quote: int) -> int | None:
    """End of a string literal read without interpolation, if it closes on its line."""
    i = quote + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\":
            if text.startswith("\n", i + 1):
                return None
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return None


class _Frame:
    """An open bracket, and whether a `{` at its depth must open a block."""

    __slots__ = ("condition", "opener", "parens", "token")

    def __init__(self, opener: str, token: Token | None, below: _Frame | None) -> None:
        self.opener = opener
        self.token = token
        self.condition = False
        # How many of this bracket and those it is in are `(` or `[`.
        self.parens: int = (0 if below is None else below.parens) + (opener in ("(", "["))


def _token_span(path: str, tok: Token) -> Span:
    line = tok[LINE]
    return Span(path, line, tok[COLUMN], line, tok[END_COLUMN], tok[START], tok[END])


_TERMINALS: dict[Callable[[str], str], tuple[dict[str, str], dict[str, str]]] = {}


def _terminals(terminal_of: Callable[[str], str]) -> tuple[dict[str, str], dict[str, str]]:
    """The terminal of each keyword and of each punctuation mark, asked once."""
    tables = _TERMINALS.get(terminal_of)
    if tables is None:
        words = {k: terminal_of(k) for k in KEYWORDS}
        marks = {p: "SEMICOLON" if p == ";" else terminal_of(p) for p in PUNCTUATION}
        tables = _TERMINALS[terminal_of] = (words, marks)
    return tables


def tokenize(
    source: SourceFile,
    terminal_of: Callable[[str], str],
    base_offset: int = 0,
    text: str | None = None,
) -> LexResult:
    """Tokenize ``text`` (by default the whole file).

    ``terminal_of`` maps a keyword or punctuation string to the grammar's
    terminal name.  ``base_offset`` places a fragment (an interpolation)
    inside the file so that its spans point into the user's text.

    One pass: each token is scanned and laid out (separators, struct-literal
    braces) at once.  A newline or `;` is decided when the token after it is
    known (see :func:`_separators`), so those since the last other token
    wait in ``run``.  This is the hot loop of parsing: per-token work is
    written out here rather than in helpers.
    """
    body = source.text if text is None else text
    base = base_offset
    path = source.path
    words, marks = _terminals(terminal_of)
    result = LexResult(tokens=[])
    out = result.tokens
    comments = result.comments
    docs = result.docs
    errors = result.errors
    bracket_errors: list[LexError] = []  # reported after the others, as ever
    frames = [_Frame("", None, None)]
    run: list[tuple[str, int, int, int]] = []  # (";" or "\n", offset, line, column)
    pending_doc: list[str] = []
    line, col = source.position(base)  # a character's column is its index in body + col

    def span(start: int, end: int) -> Span:
        return Span(path, line, start + col, line, end + col, start + base, end + base)

    pos = 0
    scan = _TOKEN_RE.finditer
    while True:
        resume = -1
        for m in scan(body, pos):
            kind = m.lastgroup
            if kind == "name" or kind == "punct":  # most tokens: the short way
                start, end = m.span(kind)
                value = body[start:end]
                if kind == "name":
                    terminal = words.get(value, "NAME")
                elif value == ";":
                    if pending_doc:
                        docs.setdefault(start + base, "\n".join(pending_doc))
                        pending_doc = []
                    run.append((";", start + base, line, start + col))
                    continue
                else:
                    terminal = marks.get(value) or terminal_of(value)
                if pending_doc:
                    docs.setdefault(start + base, "\n".join(pending_doc))
                    pending_doc = []
                tok = (terminal, value, start + base, line, start + col, end + col, end + base)
                if run:
                    _separators(run, tok, out, frames, bracket_errors, path)
                if value in _LAYOUT_WORDS:
                    _bracket(tok, out, frames, bracket_errors, path)
                else:
                    out.append(tok)
                continue
            if kind is None:  # blanks at the end
                break
            start, end = m.span(kind)
            if kind == "nl":
                run.append(("\n", start + base, line, start + col))
                line += 1
                col = -start  # the next line starts at end = start + 1, column 1
                continue
            if kind == "comment":
                value = body[start:end]
                comments.append(Comment(span(start, end), value))
                if value.startswith("##"):
                    doc_line = value[2:]
                    pending_doc.append(doc_line[1:] if doc_line.startswith(" ") else doc_line)
                continue
            if kind == "bad":
                errors.append(LexError("E0003", span(start, start + 1),
                                       f"invalid character {body[start]!r} in source"))
                continue
            value = body[start:end]
            if pending_doc:
                docs.setdefault(start + base, "\n".join(pending_doc))
                pending_doc = []
            if kind == "name":
                terminal = words.get(value, "NAME")
            elif kind == "punct":
                if value == ";":
                    run.append((";", start + base, line, start + col))
                    continue
                terminal = marks.get(value) or terminal_of(value)
            elif kind == "string":
                terminal = "BYTES" if value[0] == "b" else "STRING"
            elif kind == "quote":
                terminal = "BYTES" if value[0] == "b" else "STRING"
                end, value = _string(body, start, end - 1, errors, span)
                resume = end  # past what the pattern can see: scan on from there
            elif kind == "badnum":
                errors.append(LexError(
                    "E0006", span(start, end), f"invalid number literal `{value}`",
                    hint="integers are written 42, 0x2a, 0b101010 or 1_000; durations 250ms, "
                    "5s, 2m, 1h; sizes 512B, 64KiB, 16MiB",
                ))
                terminal = "INT"
                value = ""  # the parser makes this an error expression
            else:
                terminal = _NUMBER_KINDS[kind]
            tok = (terminal, value, start + base, line, start + col, end + col, end + base)
            if run:
                _separators(run, tok, out, frames, bracket_errors, path)
            if terminal in _LITERALS:
                out.append(tok)
            else:
                _bracket(tok, out, frames, bracket_errors, path)
            if resume >= 0:
                break
        if resume < 0:
            break
        pos = resume
    if run:
        _separators(run, None, out, frames, bracket_errors, path)
    _close_brackets(frames, bracket_errors, path)
    errors.extend(bracket_errors)
    # A separator before the end of the file ends nothing.
    while out and out[-1][TYPE] == "SEP":
        out.pop()
    return result


def _string(body: str, start: int, quote: int, errors: list[LexError],
            span: Callable[[int, int], Span]) -> tuple[int, str]:
    """(end, token text) of the string literal at ``start`` whose opening
    quote is at ``quote``, for those the pattern does not read whole."""
    close, problem = scan_string(body, quote)
    if problem is None:
        return close, body[start:close]
    # Stand in an empty literal for the broken one so that the parser
    # does not report the same mistake again.
    plain_close = _plain_string_end(body, quote)
    if plain_close is not None and "{" in body[quote:plain_close]:
        errors.append(LexError(
            "E0004", span(start, plain_close),
            "`{` in a string starts an interpolation, and this one is not closed",
            hint="write `{{` for a literal `{`"))
        close = plain_close
    else:
        errors.append(LexError("E0004", span(start, close), problem))
    return close, '""' if quote == start else 'b""'


def _bracket(tok: Token, out: list[Token], frames: list[_Frame], errors: list[LexError],
             path: str) -> None:
    """Lay out a keyword or punctuation mark: open or close a bracket, mark a
    struct literal's `{`, note a condition's keyword."""
    value = tok[VALUE]
    frame = frames[-1]
    if value == "{":
        if frame.condition:
            frame.condition = False
        elif (out and out[-1][TYPE] == "NAME"
              and not (len(out) > 1 and out[-2][VALUE] in _DECL_BEFORE_NAME)):
            tok = ("SLBRACE", *tok[VALUE:])
        frames.append(_Frame("{", tok, frame))
    elif value == "(" or value == "[":
        frames.append(_Frame(value, tok, frame))
    elif value in _CLOSERS:
        opener = _CLOSERS[value]
        for depth in range(len(frames) - 1, 0, -1):
            if frames[depth].opener == opener:
                del frames[depth:]
                break
        else:
            errors.append(LexError("E0007", _token_span(path, tok),
                                   f"`{value}` does not close any `{opener}`"))
    elif value in _CONDITION_KEYWORDS:
        frame.condition = True
    elif value == "then":
        frame.condition = False
    out.append(tok)


def _separators(run: list[tuple[str, int, int, int]], following: Token | None,
                out: list[Token], frames: list[_Frame], errors: list[LexError],
                path: str) -> None:
    """Decide the newlines and `;` of ``run`` (all those since the last other
    token, in order), now that ``following`` is known (None: the end of the
    text): each becomes a SEP or vanishes."""
    last = len(run) - 1
    if last == 0 and following is not None:  # one newline or `;` before a token: most of them
        value, start, line, column = run[0]
        frame = frames[-1]
        if not frame.parens:
            run.clear()
            if not out:
                return
            previous = out[-1]
            if previous[TYPE] == "SEP":
                return
            if previous[TYPE] not in _STRINGS and previous[VALUE] in _CONTINUE_AFTER:
                if value == ";" and previous[VALUE] not in ("{", "(", "["):
                    out.append(("SEP", value, start, line, column, column + 1, start + 1))
            elif following[TYPE] in _STRINGS or following[VALUE] not in _CONTINUE_BEFORE:
                out.append(("SEP", value, start, line, column, column + 1, start + 1))
            return
    for k, (value, start, line, column) in enumerate(run):
        frame = frames[-1]
        if value == "\n" and k == last and following is not None and frame.parens and \
                following[COLUMN] == 1 and following[TYPE] not in _STRINGS and \
                following[VALUE] in _DECLARATION_STARTS:
            # Inside an open `(` or `[`, a top-level declaration keyword at
            # column 1 on the next line ends the brackets.
            _close_brackets(frames, errors, path)
            if out and out[-1][TYPE] != "SEP":
                out.append(("SEP", value, start, line, column, column + 1, start + 1))
            continue
        if frame.opener == "(" or frame.opener == "[" or not out:
            continue
        previous = out[-1]
        if previous[TYPE] == "SEP":
            continue
        if previous[TYPE] not in _STRINGS and previous[VALUE] in _CONTINUE_AFTER:
            # `;` after an operator is still an (erroneous) separator for the parser to report.
            ends = value == ";" and previous[VALUE] not in ("{", "(", "[")
        elif any(run[j][0] == ";" for j in range(k + 1, last + 1)):
            ends = True  # the next token that is not a newline is a `;`
        else:
            ends = following is not None and (following[TYPE] in _STRINGS
                                               or following[VALUE] not in _CONTINUE_BEFORE)
        if ends:
            out.append(("SEP", value, start, line, column, column + 1, start + 1))
    run.clear()


def _close_brackets(frames: list[_Frame], errors: list[LexError], path: str) -> None:
    """End every open bracket: each unclosed `(` and `[` is an error (an
    unclosed `{` is reported by the parser, with the block it opens)."""
    for frame in frames[1:]:
        if frame.opener in ("(", "[") and frame.token is not None:
            closer = ")" if frame.opener == "(" else "]"
            errors.append(LexError("E0007", _token_span(path, frame.token),
                                   f"`{frame.opener}` is never closed",
                                   hint=f"add the missing `{closer}`"))
    del frames[1:]
