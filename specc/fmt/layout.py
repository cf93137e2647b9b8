"""Comments and the containers they live in.

Every construct that holds a sequence (a block's statements, a call's
arguments, a struct's fields, ...) is laid out by :meth:`Layout.vertical`
(one item per line) or :meth:`Layout.commas` (a group: all on one line if it
fits, else one item per line with trailing commas).  Both place the comments
found between their brackets:

* a comment on the opening bracket's line stays there;
* a comment on its own line goes, on its own line, before the item it
  precedes (blank lines around it are kept, at most one; none between a
  ``##`` doc comment and its item);
* a comment after an item on that item's last line stays at the end of it;
* comments after the last item stay before the closing bracket.

A comment inside an item that no inner container placed (in the middle of
an expression, say) moves to its own line before the item: it is never lost.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from specc.ast import Comment
from specc.fmt.doc import (
    BREAK,
    HARDLINE,
    LINE,
    SOFTLINE,
    Doc,
    comment,
    concat,
    flat_text,
    group,
    if_break,
    is_hard,
    nest,
)
from specc.span import Span


class Spanned(Protocol):
    @property
    def span(self) -> Span: ...


T = TypeVar("T", bound=Spanned)


@dataclass
class Entry:
    """One item of a container, with the comments placed around it."""

    doc: Doc
    start: int
    leading: list[Comment] = field(default_factory=list)
    hoisted: list[Comment] = field(default_factory=list)
    trailing: Comment | None = None
    blank_before: bool = False  # the user left a blank line before it (or its comments)

    @property
    def has_comments(self) -> bool:
        return bool(self.leading or self.hoisted or self.trailing)


@dataclass
class Contents:
    """A container's items and the comments that are not any item's."""

    entries: list[Entry]
    opener: Comment | None = None  # on the opening bracket's line
    dangling: list[Comment] = field(default_factory=list)  # after the last item
    blank_before_dangling: bool = False

    @property
    def has_comments(self) -> bool:
        return bool(self.opener or self.dangling or any(e.has_comments for e in self.entries))


def is_doc_comment(c: Comment) -> bool:
    return c.text.startswith("##")


class Layout:
    """The source text, its comments (each placed once), and the containers."""

    def __init__(self, text: str, comments: Sequence[Comment]) -> None:
        self.text = text
        self.comments = sorted(comments, key=lambda c: c.span.start)
        self.starts = [c.span.start for c in self.comments]
        self.placed = [False] * len(self.comments)

    # ------------------------------------------------------------ comments
    def take(self, lo: int, hi: int) -> list[Comment]:
        """The comments not yet placed that start in [lo, hi); now placed."""
        taken: list[Comment] = []
        index = bisect.bisect_left(self.starts, lo)
        while index < len(self.comments) and self.starts[index] < hi:
            if not self.placed[index]:
                self.placed[index] = True
                taken.append(self.comments[index])
            index += 1
        return taken

    def take_trailing(self, end: int, hi: int) -> Comment | None:
        """The comment after ``end`` on the same line, before ``hi``, if any."""
        index = bisect.bisect_left(self.starts, end)
        while index < len(self.comments) and self.placed[index]:
            index += 1
        if index == len(self.comments) or self.starts[index] >= hi:
            return None
        if "\n" in self.text[end:self.starts[index]]:
            return None
        self.placed[index] = True
        return self.comments[index]

    def has_comments(self, lo: int, hi: int) -> bool:
        """Whether a comment not yet placed starts in [lo, hi)."""
        index = bisect.bisect_left(self.starts, lo)
        while index < len(self.comments) and self.starts[index] < hi:
            if not self.placed[index]:
                return True
            index += 1
        return False

    def unplaced(self) -> list[Comment]:
        return [c for c, done in zip(self.comments, self.placed, strict=True) if not done]

    def blank(self, start: int, end: int) -> bool:
        """Whether the user left a blank line between offsets ``start`` and ``end``."""
        return self.text.count("\n", start, end) >= 2

    def find(self, start: int, char: str) -> int:
        """The offset of the first ``char`` at or after ``start`` outside comments.

        Only used over stretches that hold blanks, comments, commas and
        closing parentheses (between a name and its `(`, say)."""
        text = self.text
        i = start
        while i < len(text):
            ch = text[i]
            if ch == char:
                return i
            if ch == "#":
                newline = text.find("\n", i)
                i = len(text) if newline < 0 else newline
                continue
            i += 1
        raise ValueError(f"no `{char}` after offset {start}")

    def slice(self, span: Span) -> str:
        return self.text[span.start:span.end]

    # ------------------------------------------------------------ containers
    def contents(self, items: Sequence[T], render: Callable[[T], Doc], lo: int, hi: int) -> Contents:
        """Lay out ``items`` found between the opening bracket at offset ``lo``
        (-1 for the file) and the closing one at ``hi``, placing comments."""
        result = Contents([])
        previous = lo + 1
        for index, item in enumerate(items):
            span = item.span
            leading = self.take(previous, span.start)
            if index == 0 and lo >= 0 and leading and "\n" not in self.text[lo:leading[0].span.start]:
                result.opener = leading.pop(0)
                previous = result.opener.span.end
            first = leading[0].span.start if leading else span.start
            blank = index > 0 and self.blank(previous, first)
            doc = render(item)
            hoisted = self.take(span.start, span.end)
            following = items[index + 1].span.start if index + 1 < len(items) else hi
            trailing = self.take_trailing(span.end, following)
            result.entries.append(Entry(doc, span.start, leading, hoisted, trailing, blank))
            previous = trailing.span.end if trailing else span.end
        dangling = self.take(previous, hi)
        if not items and lo >= 0 and dangling and "\n" not in self.text[lo:dangling[0].span.start]:
            result.opener = dangling.pop(0)
            previous = result.opener.span.end
        result.dangling = dangling
        result.blank_before_dangling = bool(dangling) and bool(items) and self.blank(
            previous, dangling[0].span.start)
        return result

    def comment_lines(self, entry: Entry) -> list[Doc]:
        """The comments before an item, each followed by a line break."""
        comments = list(entry.leading)
        # Comments moved out of the item go after the leading ones, but not
        # between a doc comment and its declaration.
        at = len(comments)
        while at > 0 and is_doc_comment(comments[at - 1]):
            at -= 1
        comments[at:at] = entry.hoisted
        parts: list[Doc] = []
        for index, c in enumerate(comments):
            parts += [comment(c.text), HARDLINE]
            if c in entry.hoisted:
                continue
            after = comments[index + 1] if index + 1 < len(comments) else None
            if after is not None and after not in entry.hoisted:
                if self.blank(c.span.end, after.span.start):
                    parts.append(HARDLINE)
            elif after is None and not is_doc_comment(c) and self.blank(c.span.end, entry.start):
                parts.append(HARDLINE)
        return parts

    def dangling_lines(self, comments: list[Comment]) -> list[Doc]:
        """Comments on lines of their own, separated by line breaks."""
        parts: list[Doc] = []
        for index, c in enumerate(comments):
            if index:
                parts.append(HARDLINE)
                if self.blank(comments[index - 1].span.end, c.span.start):
                    parts.append(HARDLINE)
            parts.append(comment(c.text))
        return parts

    @staticmethod
    def opener_doc(contents: Contents) -> Doc:
        if contents.opener is None:
            return ""
        return concat("  ", comment(contents.opener.text), BREAK)

    def vertical(self, items: Sequence[T], render: Callable[[T], Doc], lo: int, hi: int,
                 open_: str = "{", close: str = "}") -> Doc:
        """``{`` items one per line ``}``; ``{}`` when there is nothing inside."""
        return self.lines(self.contents(items, render, lo, hi), open_, close)

    def aligned(self, items: Sequence[T], key: Callable[[T], Doc], separator: str,
                value: Callable[[T], Doc], lo: int, hi: int) -> Doc:
        """``{`` one ``key separator value`` per line ``}``, the separators of
        neighbouring items in one column (``udp4    = udp(ip)``).

        A run of aligned items ends at a blank line and around an item whose
        value always spans lines (a block, a ``match``): its key keeps one
        space.  The runs depend only on the program and its blank lines, never
        on the width, so formatting stays a fixed point."""
        contents = self.contents(items, value, lo, hi)
        keys = [flat_text(key(item)) for item in items]
        runs: list[list[int]] = []
        current: list[int] = []
        for index, entry in enumerate(contents.entries):
            alone = keys[index] is None or is_hard(entry.doc)
            if (alone or entry.blank_before) and current:
                runs.append(current)
                current = []
            if not alone:
                current.append(index)
        if current:
            runs.append(current)
        width = [0] * len(items)
        for run in runs:
            widest = max((len(keys[i] or "") for i in run), default=0)
            for i in run:
                width[i] = widest
        for index, entry in enumerate(contents.entries):
            text = keys[index]
            head: Doc = key(items[index]) if text is None else text.ljust(width[index])
            entry.doc = concat(head, separator, entry.doc)
        return self.lines(contents, "{", "}")

    def lines(self, contents: Contents, open_: str, close: str) -> Doc:
        if not contents.entries and not contents.has_comments:
            return open_ + close
        parts: list[Doc] = []
        for index, entry in enumerate(contents.entries):
            parts.append(HARDLINE)
            if index and entry.blank_before:
                parts.append(HARDLINE)
            parts += self.comment_lines(entry)
            parts.append(entry.doc)
            if entry.trailing is not None:
                parts += ["  ", comment(entry.trailing.text)]
        if contents.dangling:
            parts.append(HARDLINE)
            if contents.blank_before_dangling:
                parts.append(HARDLINE)
            parts += self.dangling_lines(contents.dangling)
        return concat(open_, self.opener_doc(contents), nest(*parts), HARDLINE, close)

    def commas(self, items: Sequence[T], render: Callable[[T], Doc], lo: int, hi: int,
               open_: str, close: str, *, pad: bool = False) -> Doc:
        """``(a, b)`` if it fits, else one item per line with a trailing comma.
        ``pad`` puts spaces inside the brackets of the one-line form (``{ a }``)."""
        contents = self.contents(items, render, lo, hi)
        if not contents.entries and not contents.has_comments:
            return open_ + close
        line = LINE if pad else SOFTLINE
        commented = contents.has_comments
        parts: list[Doc] = [BREAK] if commented else []
        last = len(contents.entries) - 1
        for index, entry in enumerate(contents.entries):
            if index and commented and entry.blank_before:
                parts.append(HARDLINE)
            parts.append(LINE if index else line)
            parts += self.comment_lines(entry)
            parts += [entry.doc, "," if index < last else if_break(",")]
            if entry.trailing is not None:
                parts += ["  ", comment(entry.trailing.text)]
        if contents.dangling:
            parts.append(HARDLINE)
            if contents.blank_before_dangling:
                parts.append(HARDLINE)
            parts += self.dangling_lines(contents.dangling)
        return group(open_, self.opener_doc(contents), nest(*parts), line, close)
