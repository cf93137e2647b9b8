"""Parsing: tokens through the LALR tables of grammar/spec.lark into an AST,
recovering from syntax errors so that one run reports them all.

Recovery is panic mode at the statement level.  The driver keeps, for every
open brace depth, a copy of the parser state taken after the `{` or the last
separator at that depth.  On an unexpected token it reports it, restores the
copy for the current depth, skips to the next separator (or the closing
brace) at that depth, and carries on.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from specc import ast
from specc.diagnostics import DiagnosticSink, Note
from specc.span import SourceFile, Span
from specc.syntax.build import AstBuilder
from specc.syntax.lexer import KEYWORDS, tokenize
from specc.syntax.tables import Tables, load_tables
from specc.syntax.tokens import LINE, START, TYPE, VALUE, Token

MAX_SYNTAX_ERRORS = 50

_DESCRIBE = {
    "NAME": "a name", "INT": "an integer", "STRING": "a string", "BYTES": "a bytes literal",
    "DURATION": "a duration", "SIZE": "a size", "IPV4": "an IPv4 address",
    "CIDR": "an address with prefix", "SEP": "a newline or `;`", "SLBRACE": "`{`",
    "$END": "the end of the file", "EXPR": "an expression",
}  # fmt: skip


# Words after which a name is being declared.
_DECLARING_WORDS = frozenset({"let", "var", "const", "param", "fn", "struct", "enum",
                              "interface", "component"})

# The tokens after which the driver takes or drops a recovery checkpoint.
_CHECKPOINT_KINDS = frozenset({"SEP", "LBRACE", "SLBRACE", "RBRACE"})

# Tokens that can start an expression: listed as one "an expression".
_EXPRESSION_START = frozenset({
    "NAME", "INT", "STRING", "BYTES", "DURATION", "SIZE", "IPV4", "CIDR", "TRUE", "FALSE", "NONE",
    "TARGET", "CONFIG", "LPAR", "SOME", "LSQB", "IF", "MATCH", "MINUS", "NOT",
})


@dataclass(frozen=True)
class Grammar:
    """The grammar's tables (specc/syntax/tables.py) and its terminal names."""

    tables: Tables
    terminal_names: dict[str, str]  # "==" -> "__ANON_6"
    terminal_text: dict[str, str]  # "__ANON_6" -> "=="
    # (length, nonterminal, passes its only child through) of each rule
    machine_rules: list[tuple[int, str, bool]]
    # (state below, nonterminal, lookahead) -> the top state once the
    # nonterminal's goto and the pass-through reductions that lookahead then
    # causes are done; filled as parsing meets them (a pure function of the tables).
    gotos_through: dict[tuple[int, str, str], int] = field(default_factory=dict, compare=False)

    def terminal_of(self, text: str) -> str:
        return self.terminal_names.get(text, "UNKNOWN")

    def describe(self, terminal: str) -> str:
        if terminal in _DESCRIBE:
            return _DESCRIBE[terminal]
        return f"`{self.terminal_text.get(terminal, terminal)}`"

    def goto_through(self, below: int, origin: str, kind: str) -> int:
        """The state on top after reducing to ``origin`` above ``below`` with
        lookahead ``kind``: its goto, then every `?rule: x` reduction (one per
        precedence level) that only changes the top state, in one step."""
        top = self.tables.gotos[below][origin]
        actions = self.tables.actions
        rules = self.machine_rules
        while True:
            action = actions[top].get(kind)
            if action is None or action[0] or not rules[action[1]][2]:
                break
            top = self.tables.gotos[below][rules[action[1]][1]]
        self.gotos_through[below, origin, kind] = top
        return top


@functools.cache
def grammar() -> Grammar:
    tables = load_tables()
    names = tables.terminal_names
    rules = [(r.size, r.origin, r.passthrough) for r in tables.rules]
    return Grammar(tables, names, {v: k for k, v in names.items()}, rules)


def make_callback(method: Callable[[list[Any]], Any],
                  placeholders: tuple[bool, ...]) -> Callable[[list[Any]], Any]:
    """A reduction callback; `[optional]` parts that were absent become None,
    so every builder method sees its rule's children at fixed positions.
    The parser passes each callback a list of its own, so the Nones go in place."""
    absent = [k for k, missing in enumerate(placeholders) if missing]
    if not absent:
        return method
    if len(absent) == 1:
        (at,) = absent

        def with_placeholder(children: list[Any]) -> Any:
            children.insert(at, None)
            return method(children)

        return with_placeholder

    def with_placeholders(children: list[Any]) -> Any:
        for k in absent:  # ascending: each index is already where it ends up
            children.insert(k, None)
        return method(children)

    return with_placeholders


def parse_module(source: SourceFile, sink: DiagnosticSink) -> ast.Module:
    """Parse one file.  Syntax errors go to ``sink``; the module holds every
    declaration that could be recovered."""
    session = _ParseSession(source, sink)
    lexed = tokenize(source, grammar().terminal_of)
    session.docs.update(lexed.docs)
    for error in lexed.errors:
        sink.add(error.code, error.span, error.message, hint=error.hint)
        session.lexical_error_starts.add(error.span.start)
    result = session.drive(lexed.tokens, "file")
    decls: tuple[ast.Decl, ...] = result if isinstance(result, tuple) else ()
    return ast.Module(source.path, decls, tuple(lexed.comments),
                      frozenset(session.broken_names))


def parse_expression(source: SourceFile, sink: DiagnosticSink, start: int = 0,
                     end: int | None = None) -> ast.Expr:
    """Parse ``source.text[start:end]`` as one expression (a `-D` value, say)."""
    session = _ParseSession(source, sink)
    stop = len(source.text) if end is None else end
    return session.parse_fragment(start, source.text[start:stop])


class _ParseSession:
    def __init__(self, source: SourceFile, sink: DiagnosticSink) -> None:
        self.source = source
        self.sink = sink
        self.docs: dict[int, str] = {}
        self.error_count = 0
        # Names declared by statements that syntax errors made the parser skip.
        self.broken_names: set[str] = set()
        # A token the tokenizer already complained about gets no second message.
        self.lexical_error_starts: set[int] = set()
        # The builder reads doc comments through this dict, filled once lexing is done.
        self.builder = AstBuilder(source.path, self.docs, self.report, self.parse_fragment)
        # None: the rule passes its only child through, no call needed (a
        # `?rule: x`, or a rule of one child whose callback is AstBuilder.first).
        self.callbacks: list[Callable[[list[Any]], Any] | None] = []
        for rule in grammar().tables.rules:
            method = None if rule.passthrough else getattr(self.builder, rule.callback)
            if method is None or (method is AstBuilder.first and rule.size == 1
                                  and not any(rule.placeholders)):
                self.callbacks.append(None)
            else:
                self.callbacks.append(make_callback(method, rule.placeholders))

    def report(self, code: str, span: Span, message: str) -> None:
        self.sink.add(code, span, message)

    def parse_fragment(self, offset: int, text: str) -> ast.Expr:
        """Parse an interpolated `{expr}` found at ``offset`` in the file."""
        simple = self.simple_path(offset, text)
        if simple is not None:
            return simple
        lexed = tokenize(self.source, grammar().terminal_of, base_offset=offset, text=text)
        for error in lexed.errors:
            self.sink.add(error.code, error.span, error.message, hint=error.hint)
        result = self.drive(lexed.tokens, "expr", end=offset + len(text))
        if result is None or isinstance(result, tuple):
            return ast.ErrorExpr(self.source.span(offset, offset + len(text)))
        expr: ast.Expr = result
        return expr

    def simple_path(self, offset: int, text: str) -> ast.Expr | None:
        """Most interpolations are a name or a dotted path (`{port}`, `{d.src}`,
        `{config.port}`), or a call of one with such paths as its arguments
        (`{label(c)}`, `{len(r.tags)}`); build those directly rather than
        through the parser (a call through it cost some 150,000 instructions)."""
        if not text.isascii():
            # Identifiers are ASCII (LANGUAGE.md section 2): the tokenizer reports
            # anything else, so leave it to the full parse.
            return None
        stripped = text.strip(" \t")
        start = offset + len(text) - len(text.lstrip(" \t"))
        # An interpolation holds no newline: every span here is on the line of
        # its start, so one offset-to-position lookup does for all of them.
        path = self.source.path
        line, column = self.source.position(start)
        shift = column - start

        def at(begin: int, end: int) -> Span:
            return Span(path, line, begin + shift, line, end + shift, begin, end)

        opening = stripped.find("(")
        if opening < 0:
            return _path(stripped, start, at, callee=False)
        # `callee(a, b.c)`: nothing but blanks after each `,` and around the
        # arguments, no trailing `,`, no brackets inside.
        if not stripped.endswith(")") or stripped.find(")") != len(stripped) - 1 or \
                "(" in stripped[opening + 1:]:
            return None
        callee = _path(stripped[:opening], start, at, callee=True)
        if callee is None:
            return None
        inside = stripped[opening + 1:-1]
        args: list[ast.Arg] = []
        if inside.strip(" \t"):
            position = start + opening + 1
            for piece in inside.split(","):
                blanks = len(piece) - len(piece.lstrip(" \t"))
                value = _path(piece.strip(" \t"), position + blanks, at, callee=False)
                if value is None:
                    return None
                args.append(ast.Arg(value.span, None, None, value))
                position += len(piece) + 1
        end = start + len(stripped)
        return ast.Call(at(start, end), callee, tuple(args))

    def drive(self, tokens: list[Token], start: str, end: int | None = None) -> Any:
        """Feed ``tokens`` to the automaton for ``start``; ``end`` is where the
        input ends (the end of the file, or of an interpolation).

        This loop is :meth:`_Machine.feed` written out once for all tokens,
        with the tables in local variables: it runs for every token of every
        file, and a method call and attribute lookups per token cost about as
        much as the automaton's own work.  :meth:`_Machine.feed` still does the
        end of input and the recovery in :meth:`finish`.
        """
        g = grammar()
        state = _Machine(g, self.callbacks, start)
        states = state.state_stack
        values = state.value_stack
        actions = g.tables.actions
        rules = g.machine_rules
        callbacks = self.callbacks
        through_cache = g.gotos_through
        goto_through = g.goto_through
        errors_before = self.error_count
        # checkpoints[d]: (token index, state stack, value stack) after the last
        # `{` or separator at brace depth d; opened[d]: the token that opened d.
        checkpoints: list[tuple[int, list[Any], list[Any]]] = [(0, list(states), [])]
        opened: list[Token | None] = [None]
        last_error_index = -1
        last_error_line = -1
        i = 0
        count = len(tokens)
        while i < count:
            tok = tokens[i]
            kind = tok[TYPE]
            while True:
                action = actions[states[-1]].get(kind)
                if action is None:
                    break
                shift, arg = action
                if shift:
                    states.append(arg)
                    values.append(tok)
                    break
                size, origin, through = rules[arg]
                if through:
                    state.pass_through(kind)  # only after a shift; a goto takes these at once
                    continue
                # Reduce; the goto and the pass-through reductions after it in one lookup.
                if size == 1:
                    callback = callbacks[arg]
                    if callback is not None:  # else the child is the value
                        values[-1] = callback([values[-1]])
                    below = states[-2]
                    top = through_cache.get((below, origin, kind))
                    states[-1] = goto_through(below, origin, kind) if top is None else top
                    continue
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                else:
                    children = []
                value = callbacks[arg](children)  # type: ignore[misc]
                below = states[-1]
                top = through_cache.get((below, origin, kind))
                states.append(goto_through(below, origin, kind) if top is None else top)
                values.append(value)
            if action is None:
                if tok[LINE] != last_error_line:
                    self.syntax_error(tok, state.expected())
                    last_error_line = tok[LINE]
                if self.error_count >= MAX_SYNTAX_ERRORS:
                    return None
                depth = len(checkpoints) - 1
                begin, stack, saved = checkpoints[depth]
                states[:] = stack
                values[:] = saved
                resume = self.skip(tokens, i, depth)
                if resume == i and i == last_error_index:
                    resume += 1  # no progress: drop the offending token
                self.note_broken(tokens[begin:max(resume, i + 1)])
                last_error_index = i
                i = resume
                continue
            if kind in _CHECKPOINT_KINDS:
                if kind == "SEP":
                    checkpoints[-1] = (i + 1, states[:], values[:])
                elif kind == "RBRACE":
                    if len(checkpoints) > 1:
                        checkpoints.pop()
                        opened.pop()
                else:
                    checkpoints.append((i + 1, states[:], values[:]))
                    opened.append(tok)
            i += 1
        return self.finish(state, tokens, opened, checkpoints, end,
                           reported=self.error_count > errors_before)

    def note_broken(self, tokens: list[Token]) -> None:
        """Remember the names that skipped tokens declared, so that their uses
        are not reported as unknown on top of the syntax error."""
        for first, second in itertools.pairwise(tokens):
            if second[TYPE] == "NAME" and first[VALUE] in _DECLARING_WORDS:
                self.broken_names.add(second[VALUE])
        if len(tokens) > 1 and tokens[0][TYPE] == "NAME" and tokens[1][VALUE] == "=":
            self.broken_names.add(tokens[0][VALUE])

    @staticmethod
    def skip(tokens: list[Token], i: int, depth: int) -> int:
        """Index to resume at: after the next separator at ``depth``, or at the
        `}` that closes it."""
        level = depth
        count = len(tokens)
        while i < count:
            kind = tokens[i][TYPE]
            if kind in ("LBRACE", "SLBRACE"):
                level += 1
            elif kind == "RBRACE":
                if level == depth:
                    return i
                level -= 1
            elif kind == "SEP" and level == depth:
                return i + 1
            i += 1
        return count

    def finish(self, state: _Machine, tokens: list[Token], opened: list[Token | None],
               checkpoints: list[tuple[int, list[Any], list[Any]]], end: int | None,
               *, reported: bool) -> Any:
        """Feed the end of input.  When it comes too early, report it once and
        recover what was complete: close the open blocks from the innermost
        checkpoint outwards, dropping only the unfinished statement."""
        at = len(self.source.text) if end is None else end
        end_token = self.synthetic("$END", at)
        try:
            return state.feed(end_token)
        except _Unexpected as error:
            unclosed = [tok for tok in opened if tok is not None]
            if unclosed:
                tok = unclosed[-1]
                self.error_count += 1
                self.sink.add(
                    "E0002", self.point(at), "unexpected end of file: a `{` is not closed",
                    notes=[Note("the unclosed `{` is here", self.builder.tspan(tok))],
                    hint="add the missing `}`",
                )
            elif not reported:
                self.syntax_error(end_token, error.expected, at_end=end is not None)
        for depth in range(len(checkpoints) - 1, -1, -1):
            _, stacks, values = checkpoints[depth]
            state.state_stack[:] = stacks
            state.value_stack[:] = values
            try:
                for _ in range(depth):
                    state.feed(self.synthetic("RBRACE", at, "}"))
                return state.feed(end_token)
            except _Unexpected:
                continue
        return None

    def synthetic(self, kind: str, offset: int, value: str = "") -> Token:
        line, column = self.source.position(offset)
        return (kind, value, offset, line, column, column, offset)

    def point(self, offset: int) -> Span:
        return self.source.span(offset, offset)

    def syntax_error(self, tok: Token, expected: set[str], *, at_end: bool = False) -> None:
        self.error_count += 1
        if tok[START] in self.lexical_error_starts and tok[TYPE] != "$END":
            return
        g = grammar()
        if tok[TYPE] == "$END":
            found = "the end of the file"
            span = self.point(tok[START])
        else:
            found = f"`{tok[VALUE]}`"
            if tok[TYPE] == "SEP":
                found = "end of line" if tok[VALUE] == "\n" else "`;`"
            span = self.builder.tspan(tok)
        if {"NAME", "INT", "STRING"} <= expected:
            expected = {t for t in expected if t not in _EXPRESSION_START} | {"EXPR"}
        wanted = sorted({g.describe(t) for t in expected if t != "SLBRACE" or "LBRACE" not in expected})
        message = f"unexpected {found}"
        if tok[TYPE] == "$END":
            message = "unexpected end of interpolation" if at_end else "unexpected end of file"
        if 0 < len(wanted) <= 8:
            message += "; expected " + _one_of(wanted)
        code = "E0002" if tok[TYPE] == "$END" else "E0001"
        self.sink.add(code, span, message)


def _path(text: str, start: int, at: Callable[[int, int], Span], *,
          callee: bool) -> ast.Expr | None:
    """The tree of ``text``, at offset ``start``, when it is a name or a
    dotted path with no blanks in it (a ``callee`` neither the configuration
    nor the target); None for anything else."""
    parts = text.split(".")
    for part in parts:
        # An ASCII word is an identifier exactly when it is a name,
        # [A-Za-z_][A-Za-z0-9_]*.
        if not part.isidentifier():
            return None
    if not KEYWORDS.isdisjoint(parts[1:]) or (
            parts[0] in KEYWORDS and (callee or parts[0] not in ("config", "target"))):
        return None
    position = start
    if parts[0] == "config":
        if len(parts) < 2:
            return None
        key_span = at(start + 7, start + 7 + len(parts[1]))
        expr: ast.Expr = ast.ConfigRef(at(start, key_span.end), parts[1], key_span)
        position = key_span.end
        rest = parts[2:]
    elif parts[0] == "target":
        expr = ast.TargetRef(at(position, position + 6))
        position += 6
        rest = parts[1:]
    else:
        expr = ast.Name(at(position, position + len(parts[0])), parts[0])
        position += len(parts[0])
        rest = parts[1:]
    for name in rest:
        name_span = at(position + 1, position + 1 + len(name))
        expr = ast.Field(at(start, name_span.end), expr, name, name_span)
        position = name_span.end
    return expr


def _one_of(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return "one of " + ", ".join(items)


class _Unexpected(Exception):
    def __init__(self, expected: set[str]) -> None:
        super().__init__()
        self.expected = expected


class _Machine:
    """The LALR(1) automaton over the integer-indexed tables of :class:`Grammar`."""

    def __init__(self, g: Grammar, callbacks: list[Callable[[list[Any]], Any] | None],
                 start: str) -> None:
        t = g.tables
        self.actions = t.actions
        self.gotos = t.gotos
        self.rules = g.machine_rules
        self.callbacks = callbacks
        self.end_state = t.end_states[start]
        self.chains = t.chains
        self.state_stack: list[int] = [t.start_states[start]]
        self.value_stack: list[Any] = []

    def feed(self, tok: Token) -> Any:
        """Shift ``tok`` after every reduction it causes; at `$END`, the result."""
        states = self.state_stack
        values = self.value_stack
        kind = tok[TYPE]
        is_end = kind == "$END"
        while True:
            action = self.actions[states[-1]].get(kind)
            if action is None:
                raise _Unexpected(self.expected())
            shift, arg = action
            if shift:
                states.append(arg)
                values.append(tok)
                return None
            size, origin, through = self.rules[arg]
            if through:
                self.pass_through(kind)
                if is_end and states[-1] == self.end_state:
                    return values[-1]
                continue
            callback = self.callbacks[arg]
            if size:
                children = values[-size:]
                del states[-size:]
                del values[-size:]
            else:
                children = []
            value = children[0] if callback is None else callback(children)
            states.append(self.gotos[states[-1]][origin])
            values.append(value)
            if is_end and states[-1] == self.end_state:
                return values[-1]

    def expected(self) -> set[str]:
        """The terminals the top state can take: what a syntax error lists."""
        return {t for t in self.actions[self.state_stack[-1]] if t.isupper() or t == "$END"}

    def pass_through(self, kind: str) -> None:
        """A chain of `?rule: x` reductions (one per precedence level) only
        changes the top state; take the whole chain in one step."""
        states = self.state_stack
        below = states[-2]
        key = (below, states[-1], kind)
        top = self.chains.get(key)
        if top is None:
            top = self.follow_chain(below, states[-1], kind)
            self.chains[key] = top
        states[-1] = top

    def follow_chain(self, below: int, top: int, kind: str) -> int:
        while True:
            action = self.actions[top].get(kind)
            if action is None or action[0] or not self.rules[action[1]][2]:
                return top
            top = self.gotos[below][self.rules[action[1]][1]]
