"""``textDocument/semanticTokens/full``: colours that know what names mean.

Keywords, literals and comments come from re-running the tokenizer; names
come from the index (so a device, a config key and a local are told apart,
and declarations are marked).  Interpolated expressions inside a string are
cut out of the string token, so the names in them get their own colour.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from specc import ast
from specc.check.loader import prelude_path
from specc.lsp.convert import code_units
from specc.lsp.index import Index, walk
from specc.lsp.workspace import DocumentState
from specc.span import SourceFile
from specc.syntax.lexer import KEYWORDS, tokenize
from specc.syntax.parser import grammar
from specc.syntax.tokens import END, START, TYPE, VALUE

TOKEN_TYPES = ["namespace", "type", "class", "enum", "interface", "struct", "parameter",
               "variable", "property", "enumMember", "function", "method", "keyword",
               "comment", "string", "number"]
TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary", "documentation"]
LEGEND = lsp.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)

_TYPE = {name: i for i, name in enumerate(TOKEN_TYPES)}
DECLARATION, READONLY, DEFAULT_LIBRARY, DOCUMENTATION = (1 << i for i in range(4))

# symbol kind -> (token type, modifiers)
_SYMBOL_TOKENS: dict[str, tuple[str, int]] = {
    "function": ("function", 0),
    "builtin": ("function", DEFAULT_LIBRARY),
    "operation": ("method", 0),
    "device": ("variable", READONLY),
    "component": ("class", 0),
    "config-const": ("property", READONLY),
    "config-param": ("property", 0),
    "enum": ("enum", 0),
    "variant": ("enumMember", READONLY),
    "struct": ("struct", 0),
    "field": ("property", 0),
    "interface": ("interface", 0),
    "type": ("type", DEFAULT_LIBRARY),
    "let": ("variable", READONLY),
    "var": ("variable", 0),
    "global-var": ("variable", 0),
    "binding": ("variable", READONLY),
    "param": ("parameter", 0),
    "device-param": ("parameter", 0),
    "const-param": ("parameter", READONLY),
    "unikernel": ("namespace", 0),
}
_NUMBERS = frozenset({"INT", "DURATION", "SIZE", "IPV4", "CIDR"})
_STRINGS = frozenset({"STRING", "BYTES"})

# (start offset, end offset, token type index, modifier bits)
RawToken = tuple[int, int, int, int]


def semantic_tokens(state: DocumentState, encoding: str) -> lsp.SemanticTokens:
    source = state.source
    names = _name_tokens(state.index, state.path, source) if state.index is not None else []
    strings: list[RawToken] = []
    others: list[RawToken] = []
    lexed = tokenize(source, grammar().terminal_of)
    for tok in lexed.tokens:
        if tok[END] <= tok[START]:
            continue
        if tok[TYPE] in _STRINGS:
            strings.append((tok[START], tok[END], _TYPE["string"], 0))
        elif tok[TYPE] in _NUMBERS:
            others.append((tok[START], tok[END], _TYPE["number"], 0))
        elif tok[TYPE] != "NAME" and tok[VALUE] in KEYWORDS:
            others.append((tok[START], tok[END], _TYPE["keyword"], 0))
    for comment in lexed.comments:
        doc = DOCUMENTATION if comment.text.startswith("##") else 0
        others.append((comment.span.start, comment.span.end, _TYPE["comment"], doc))
    holes = _interpolations(state, source)
    tokens = names + others + [piece for s in strings for piece in _cut(s, holes)]
    return lsp.SemanticTokens(data=encode(_without_overlaps(tokens), source, encoding))


def _name_tokens(index: Index, path: str, source: SourceFile) -> list[RawToken]:
    out: list[RawToken] = []
    prelude = prelude_path()
    for o in index.by_file.get(path, ()):
        if isinstance(o.node, ast.TargetRef):
            continue  # the keyword `target`, coloured as one
        kind, modifiers = _SYMBOL_TOKENS.get(o.symbol.kind, ("variable", 0))
        if o.declaration:
            modifiers |= DECLARATION
        if o.symbol.span is not None and o.symbol.span.file == prelude:
            modifiers |= DEFAULT_LIBRARY
        out.append((o.span.start, o.span.end, _TYPE[kind], modifiers))
        node = o.node
        if isinstance(node, ast.EnumPat):
            out.append((node.enum_span.start, node.enum_span.end, _TYPE["enum"],
                        modifiers & DEFAULT_LIBRARY))
        elif isinstance(node, ast.ConfigRef) and \
                source.text.startswith("config", node.span.start):
            out.append((node.span.start, node.span.start + 6, _TYPE["keyword"], 0))
    return out


def _interpolations(state: DocumentState, source: SourceFile) -> list[tuple[int, int]]:
    """The spans of expressions interpolated into strings (cut out of the
    string's colour)."""
    program = state.program
    if program is None or state.checked_text != state.text:
        return []
    holes: list[tuple[int, int]] = []
    for decl in program.root.decls:
        for node in walk(decl):
            if isinstance(node, ast.StringLit):
                holes.extend((p.span.start, p.span.end) for p in node.parts
                             if not isinstance(p, str))
    return sorted(holes)


def _cut(token: RawToken, holes: list[tuple[int, int]]) -> list[RawToken]:
    start, end, kind, modifiers = token
    pieces = []
    for hole_start, hole_end in holes:
        if hole_end <= start or hole_start >= end:
            continue
        if hole_start > start:
            pieces.append((start, hole_start, kind, modifiers))
        start = max(start, hole_end)
    if start < end:
        pieces.append((start, end, kind, modifiers))
    return pieces


def _without_overlaps(tokens: list[RawToken]) -> list[RawToken]:
    out: list[RawToken] = []
    last_end = -1
    for token in sorted(tokens, key=lambda t: (t[0], -t[1])):
        if token[0] >= last_end and token[1] > token[0]:
            out.append(token)
            last_end = token[1]
    return out


def encode(tokens: list[RawToken], source: SourceFile, encoding: str) -> list[int]:
    """The LSP's relative encoding: per token, line delta, start delta (on the
    same line), length, type, modifiers; a token over several lines is split,
    one piece per line."""
    data: list[int] = []
    previous_line = previous_column = 0
    text = source.text
    for start, end, kind, modifiers in tokens:
        position = start
        while position < end:
            line, column = source.position(position)
            line_end = text.find("\n", position, end)
            piece_end = end if line_end < 0 else line_end
            if piece_end > position:
                line_text = source.line_text(line)
                units_before = code_units(line_text[: column - 1], encoding)
                length = code_units(text[position:piece_end], encoding)
                delta_line = line - 1 - previous_line
                delta_column = units_before - previous_column if delta_line == 0 \
                    else units_before
                data.extend((delta_line, delta_column, length, kind, modifiers))
                previous_line, previous_column = line - 1, units_before
            position = piece_end + 1 if line_end >= 0 else end
    return data
