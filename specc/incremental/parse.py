"""Parsing a document again after an edit, one declaration at a time.

:class:`IncrementalParser` keeps, for one document, the trees of the pieces
(:mod:`specc.incremental.chunks`) of the text it parsed last.  A new text is
split again; a piece whose text was seen before reuses its tree (moved with
:mod:`specc.incremental.relocate` if it now starts elsewhere), and only new
pieces are parsed, each on its own.

The pieces' trees put together are the tree of the whole text when each
piece parses without a diagnostic: a token never spans lines, so the tokens
of the whole text are the pieces' tokens, with one separator between pieces
(the tokenizer ends a line after a complete declaration); and the grammar's
file is a separated list of declarations, so being LALR (unambiguous) it
can only parse the whole as the pieces' declarations in order.  A piece
that ends inside an open brace, bracket or string does get a diagnostic, so
a split at a line that only looked like the top level is never trusted.
The one thing that does cross a piece's end without a diagnostic is a `##`
doc comment after its last token (it documents the next declaration): then,
and whenever a piece has a diagnostic, the whole text is parsed, which is
what gives the syntax errors their exact positions and recovery.
"""

from __future__ import annotations

from dataclasses import dataclass

from specc import ast
from specc.diagnostics import DiagnosticSink
from specc.incremental.chunks import Chunk, split
from specc.incremental.relocate import Relocator
from specc.span import SourceFile
from specc.syntax.parser import parse_module

# Up to this many new pieces are parsed one by one, whatever the text's size.
_FEW = 2


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A piece's declarations and comments, at its place in the document."""

    decls: tuple[ast.Decl, ...]
    comments: tuple[ast.Comment, ...]


@dataclass
class ParseStats:
    """What the last :meth:`IncrementalParser.parse` did (for tests and timings)."""

    chunks: int = 0
    parsed: int = 0  # pieces parsed on their own
    moved: int = 0  # pieces whose tree was reused at a new place
    full: bool = False  # the whole text was parsed


class IncrementalParser:
    """Parses successive texts of one file (the path never changes)."""

    def __init__(self) -> None:
        # (chunk text, start, line) -> the piece's tree there, for the last text.
        self._placed: dict[tuple[str, int, int], _Parsed] = {}
        # chunk text -> its tree where it was last placed (to move it from).
        self._texts: dict[str, tuple[Chunk, _Parsed]] = {}
        self.stats = ParseStats()

    def parse(self, source: SourceFile, sink: DiagnosticSink) -> ast.Module:
        """The module :func:`specc.syntax.parser.parse_module` gives for ``source``."""
        chunks = split(source.text)
        self.stats = ParseStats(chunks=len(chunks))
        new = sum(1 for c in chunks
                  if (c.text, c.start, c.line) not in self._placed and c.text not in self._texts)
        if new > max(_FEW, len(chunks) // 4):
            # Mostly new text (the document was just opened, or pasted over):
            # one parse of the whole is cheaper than many small ones.
            return self._full(source, sink, chunks)
        placed: dict[tuple[str, int, int], _Parsed] = {}
        texts: dict[str, tuple[Chunk, _Parsed]] = {}
        for chunk in chunks:
            key = (chunk.text, chunk.start, chunk.line)
            piece = self._placed.get(key)
            if piece is None:
                piece = self._piece(source.path, chunk)
            if piece is None:
                self._keep(chunks, placed, texts)
                return self._full(source, sink, chunks)
            placed[key] = piece
            texts[chunk.text] = (chunk, piece)
        self._placed, self._texts = placed, texts
        decls = tuple(d for p in placed.values() for d in p.decls)
        comments = tuple(c for p in placed.values() for c in p.comments)
        return ast.Module(source.path, decls, comments, frozenset())

    def _piece(self, path: str, chunk: Chunk) -> _Parsed | None:
        """``chunk``'s tree, moved from where its text was before or parsed; None
        when it cannot stand on its own."""
        seen = self._texts.get(chunk.text)
        if seen is not None:
            before, piece = seen
            self.stats.moved += 1
            move = Relocator(chunk.line - before.line, chunk.start - before.start)
            return _Parsed(move.decls(piece.decls), move.comments(piece.comments))
        self.stats.parsed += 1
        sink = DiagnosticSink()
        try:
            module = parse_module(SourceFile(path, chunk.text), sink)
        except RecursionError:  # the whole text's parse decides how that is reported
            return None
        if len(sink) or _doc_runs_on(module.decls, module.comments):
            return None
        if chunk.start == 0:
            return _Parsed(module.decls, module.comments)
        move = Relocator(chunk.line - 1, chunk.start)
        return _Parsed(move.decls(module.decls), move.comments(module.comments))

    def _keep(self, chunks: list[Chunk], placed: dict[tuple[str, int, int], _Parsed],
              texts: dict[str, tuple[Chunk, _Parsed]]) -> None:
        """After a failed split: keep, for the next text, the trees of every
        piece of this one that has one (the pieces after a syntax error are
        still good), and nothing else (so that memory stays bounded)."""
        keys = {(c.text, c.start, c.line) for c in chunks}
        present = {c.text for c in chunks}
        self._placed = {k: v for k, v in self._placed.items() if k in keys} | placed
        self._texts = {k: v for k, v in self._texts.items() if k in present} | texts

    def _full(self, source: SourceFile, sink: DiagnosticSink, chunks: list[Chunk]) -> ast.Module:
        self.stats.full = True
        before = len(sink)
        module = parse_module(source, sink)
        if len(sink) == before:
            self._adopt(chunks, module)
        return module

    def _adopt(self, chunks: list[Chunk], module: ast.Module) -> None:
        """Keep the pieces of ``module``, a whole text parsed without a
        diagnostic, as if each had been parsed on its own: its tokens are the
        same there, so its tree is (see the module's docstring), provided no
        declaration crosses from one piece into the next."""
        placed: dict[tuple[str, int, int], _Parsed] = {}
        texts: dict[str, tuple[Chunk, _Parsed]] = {}
        decls, comments = module.decls, module.comments
        d = c = 0
        for chunk in chunks:
            end = chunk.start + len(chunk.text)
            first_decl, first_comment = d, c
            while d < len(decls) and decls[d].span.start < end:
                if decls[d].span.end > end:
                    return  # the split is not at the top level here: keep nothing
                d += 1
            while c < len(comments) and comments[c].span.start < end:
                c += 1
            piece = _Parsed(decls[first_decl:d], comments[first_comment:c])
            if _doc_runs_on(piece.decls, piece.comments):
                continue
            placed[(chunk.text, chunk.start, chunk.line)] = piece
            texts[chunk.text] = (chunk, piece)
        self._placed, self._texts = placed, texts


def _doc_runs_on(decls: tuple[ast.Decl, ...], comments: tuple[ast.Comment, ...]) -> bool:
    """Whether a `##` comment comes after a piece's last declaration: in the
    whole text it would document the next piece's first declaration."""
    end = decls[-1].span.end if decls else -1
    return any(c.text.startswith("##") and c.span.start >= end for c in comments)
