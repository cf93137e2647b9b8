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
from specc.syntax.tokens import Token

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

_NUMBER_TAIL = r"(?![A-Za-z0-9_.])"
# Leading blanks are part of each match (one regex call per token, not two);
# a match of blanks alone, at the end of a line or file, has no group.
_TOKEN_RE = re.compile(
    r"""
    [ \t\r\f]*
    (?:
    (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<cidr>\d+\.\d+\.\d+\.\d+/\d+)(?![A-Za-z0-9_.])
  | (?P<ipv4>\d+\.\d+\.\d+\.\d+)(?![A-Za-z0-9_./])
  | (?P<duration>\d[\d_]*(?:ms|us|ns|s|m|h))(?![A-Za-z0-9_])
  | (?P<size>\d[\d_]*(?:B|KiB|MiB|GiB))(?![A-Za-z0-9_])
  | (?P<int>0x[0-9A-Fa-f_]+|0b[01_]+|\d[\d_]*)(?![A-Za-z0-9_])
  | (?P<badnum>\d[A-Za-z0-9_]*(?:\.\d+)*)
  | (?P<string>b?")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>\.\.|\?\?|==|!=|<=|>=|<<|>>|->|=>|\+=|-=|\*=|[(){}\[\],:;.=+\-*/%<>|^&?])
    )?
    """,
    re.VERBOSE,
)


@dataclass
class LexError:
    code: str
    span: Span
    message: str
    hint: str | None = None


@dataclass
class LexResult:
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
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return None


class _Frame:
    """An open bracket, and whether a `{` at its depth must open a block."""

    __slots__ = ("condition", "opener", "token")

    def __init__(self, opener: str, token: Token | None) -> None:
        self.opener = opener
        self.token = token
        self.condition = False


def _token_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line, tok.column, tok.end_line, tok.end_column, tok.start_pos,
                tok.end_pos)


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
    """
    raw, result = _raw_tokens(source, terminal_of, base_offset, text)
    result.tokens = _layout(raw, result.errors, source.path)
    return result


_KEYWORD_CACHE: dict[Callable[[str], str], dict[str, str]] = {}


def _keyword_terminals(terminal_of: Callable[[str], str]) -> dict[str, str]:
    table = _KEYWORD_CACHE.get(terminal_of)
    if table is None:
        table = {k: terminal_of(k) for k in KEYWORDS}
        _KEYWORD_CACHE[terminal_of] = table
    return table


def _raw_tokens(
    source: SourceFile, terminal_of: Callable[[str], str], base: int, text: str | None
) -> tuple[list[Token], LexResult]:
    body = source.text if text is None else text
    result = LexResult(tokens=[])
    raw: list[Token] = []
    line, column = source.position(base)
    line_start = base - (column - 1)  # offset of the current line's first character
    pending_doc: list[str] = []
    pos = 0
    n = len(body)
    match_at = _TOKEN_RE.match
    keyword_terminals = _keyword_terminals(terminal_of)

    def span(start: int, end: int) -> Span:
        return Span(source.path, line, start + base - line_start + 1, line,
                    end + base - line_start + 1, start + base, end + base)

    while pos < n:
        m = match_at(body, pos)
        kind = m.lastgroup  # type: ignore[union-attr]  # the pattern always matches
        if kind is None:
            pos = m.end()  # type: ignore[union-attr]
            if pos < n:
                bad = body[pos]
                result.errors.append(LexError("E0003", span(pos, pos + 1),
                                              f"invalid character {bad!r} in source"))
                pos += 1
            continue
        pos = m.start(kind)  # type: ignore[union-attr]
        end = m.end()  # type: ignore[union-attr]
        value = m.group(kind)  # type: ignore[union-attr]
        if kind == "nl":
            raw.append(Token("NL", "\n", pos + base, line, pos + base - line_start + 1, line,
                             pos + base - line_start + 2, end + base))
            line += 1
            line_start = end + base
            pos = end
            continue
        if kind == "comment":
            sp = span(pos, end)
            result.comments.append(Comment(sp, value))
            if value.startswith("##"):
                doc_line = value[2:]
                pending_doc.append(doc_line[1:] if doc_line.startswith(" ") else doc_line)
            pos = end
            continue
        if kind == "string":
            quote = pos + len(value) - 1
            close, problem = scan_string(body, quote)
            kind = "BYTES" if value.startswith("b") else "STRING"
            if problem is not None:
                # Stand in an empty literal for the broken one so that the parser
                # does not report the same mistake again.
                plain_close = _plain_string_end(body, quote)
                if plain_close is not None and "{" in body[quote:plain_close]:
                    result.errors.append(LexError(
                        "E0004", span(pos, plain_close),
                        "`{` in a string starts an interpolation, and this one is not closed",
                        hint="write `{{` for a literal `{`"))
                    close = plain_close
                else:
                    result.errors.append(LexError("E0004", span(pos, close), problem))
                value = '""' if kind == "STRING" else 'b""'
            else:
                value = body[pos:close]
            end = close
        elif kind == "name":
            kind = keyword_terminals.get(value, "NAME")
        elif kind == "punct":
            kind = "SEMICOLON" if value == ";" else terminal_of(value)
        elif kind == "badnum":
            result.errors.append(LexError(
                "E0006", span(pos, end), f"invalid number literal `{value}`",
                hint="integers are written 42, 0x2a, 0b101010 or 1_000; durations 250ms, 5s, "
                "2m, 1h; sizes 512B, 64KiB, 16MiB",
            ))
            kind = "INT"
            value = ""  # the parser makes this an error expression
        else:
            kind = str(kind).upper()
        if pending_doc:
            result.docs.setdefault(pos + base, "\n".join(pending_doc))
            pending_doc = []
        raw.append(Token(kind, value, pos + base, line, pos + base - line_start + 1, line,
                         end + base - line_start + 1, end + base))
        pos = end
    return raw, result


def _layout(raw: list[Token], errors: list[LexError], path: str) -> list[Token]:
    """Turn NL and `;` into statement separators where they end something, and
    mark struct-literal braces."""
    out: list[Token] = []
    frames = [_Frame("", None)]
    count = len(raw)
    i = 0
    while i < count:
        tok = raw[i]
        value = tok.value
        if tok.type == "NL" or tok.type == "SEMICOLON":
            if tok.type == "NL" and _declaration_follows(raw, i, frames):
                _close_brackets(frames, errors, path)
                if out and out[-1].type != "SEP":
                    out.append(tok.retyped("SEP"))
                i += 1
                continue
            if _ends_statement(out, raw, i, frames[-1]):
                out.append(tok.retyped("SEP"))
            i += 1
            continue
        kind = tok.type
        if kind in ("STRING", "BYTES", "NAME", "INT", "DURATION", "SIZE", "IPV4", "CIDR"):
            out.append(tok)
            i += 1
            continue
        frame = frames[-1]
        if value == "{":
            if frame.condition:
                frame.condition = False
            elif (out and out[-1].type == "NAME"
                  and not (len(out) > 1 and out[-2].value in _DECL_BEFORE_NAME)):
                tok = tok.retyped("SLBRACE")
            frames.append(_Frame("{", tok))
        elif value in ("(", "["):
            frames.append(_Frame(value, tok))
        elif value in ("}", ")", "]"):
            opener = {"}": "{", ")": "(", "]": "["}[value]
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
        i += 1
    _close_brackets(frames, errors, path)
    # A separator before the end of the file ends nothing.
    while out and out[-1].type == "SEP":
        out.pop()
    return out


def _declaration_follows(raw: list[Token], i: int, frames: list[_Frame]) -> bool:
    """Whether the newline at ``i``, inside an open `(` or `[`, is followed by
    a top-level declaration keyword at column 1."""
    if not any(f.opener in ("(", "[") for f in frames):
        return False
    following = raw[i + 1] if i + 1 < len(raw) else None
    return following is not None and following.column == 1 and \
        following.type not in ("STRING", "BYTES") and following.value in _DECLARATION_STARTS


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


def _ends_statement(out: list[Token], raw: list[Token], i: int, frame: _Frame) -> bool:
    if frame.opener in ("(", "["):
        return False
    if not out:
        return False
    previous = out[-1]
    if previous.type == "SEP":
        return False
    if previous.type not in ("STRING", "BYTES") and previous.value in _CONTINUE_AFTER:
        # `;` after an operator is still an (erroneous) separator for the parser to report.
        return raw[i].value == ";" and previous.value not in ("{", "(", "[")
    j = i + 1
    while j < len(raw) and raw[j].type == "NL":
        j += 1
    if j == len(raw):
        return False
    following = raw[j]
    return following.type in ("STRING", "BYTES") or following.value not in _CONTINUE_BEFORE
