"""Constants the Python target writes into the image without parsing them.

A component's hook hands each constant over as Python source, which
`specialize.py` parses so that scalars can be folded, and `link.prune`
parses again with the whole file.  A precomputed table is megabytes of
source (a zone of 10,000 records: 6 MB, 600,000 AST nodes) that neither
can fold or prune anything in; parsing, walking and writing it back took
most of the target's compile time.  A `PlainLiteral` is source that the
specializer leaves as text: the class gets a placeholder name in its
place, and the text is put back after pruning (see `emit.py`).

That is byte-identical to parsing it because the text is what `ast.unparse`
writes for it: `plain_literal` only makes one of `repr()` of data built of
dicts, lists and tuples over ints, bools, None, bytes and printable ASCII
strings without quotes or backslashes.  For those `ast.unparse` writes each
constant as its `repr()`, each container with the same brackets and ", "
separators as `repr()`, a tuple always in parentheses (an assignment's value
and a container's items are not in a bare tuple's context), a negative int
as "-" and its digits; and the text names nothing that pruning could need.
Anything else (floats, sets, subclasses such as IntEnum, whose `repr()` is
no Python, containers nested deeper than MAX_DEPTH, which CPython's own
parser may refuse) stays plain source, parsed as before.
"""

from __future__ import annotations

_SCALARS = frozenset({int, bool, type(None), bytes})
_CONTAINERS = frozenset({dict, list, tuple})
MAX_DEPTH = 64  # far below the 200 nested brackets CPython's tokenizer takes


class PlainLiteral(str):
    """Python source of a container of plain data: written as it is."""


def plain_literal(value: object) -> str:
    """`repr(value)`, as a `PlainLiteral` when it may skip the parser."""
    text = repr(value)
    return PlainLiteral(text) if type(value) in _CONTAINERS and is_plain(value) else text


def is_plain(value: object) -> bool:
    """Whether `value` holds only what the module docstring allows (iterative:
    tables nest, but some are wide)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        # Exact types (`kind`): a subclass may repr() as something else.
        if kind is str and isinstance(item, str):
            if not _plain_string(item):
                return False
        elif depth >= MAX_DEPTH:
            return False
        elif kind is dict and isinstance(item, dict):
            stack.extend((inner, depth + 1) for inner in (*item.keys(), *item.values()))
        elif kind in (list, tuple) and isinstance(item, list | tuple):
            stack.extend((inner, depth + 1) for inner in item)
        else:
            return False
    return True


def _plain_string(text: str) -> bool:
    return text.isascii() and text.isprintable() and not any(c in text for c in "'\"\\")
