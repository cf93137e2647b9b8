"""One ``__repr__`` for specc's dataclasses, shared instead of generated.

``@dataclass`` compiles a ``__repr__`` for every class it decorates, at
import; over the hundred-odd classes ``specc check`` imports that was about
7% of the instructions it ran on a small spec (issue 13), for a method only
tracebacks, test failures and debugging ever call.  A dataclass that
subclasses :class:`Record` and passes ``repr=False`` gets this one instead,
which returns the same text: the class's qualified name and each field that
has ``repr=True``, in order, as ``name=repr(value)``, and ``...`` for an
object already being shown further up the same thread's call.

(The other import-time cost of a dataclass that a class can avoid: without
a docstring, dataclasses makes one from the class's signature, with
:func:`inspect.signature`, about 4% of ``specc check`` on a small spec; most
of the records it imports have one.)
"""

from __future__ import annotations

import _thread
from dataclasses import fields

# (id of the object, thread): the reprs in progress, as dataclasses keeps them.
_running: set[tuple[int, int]] = set()


class Record:
    """A base for dataclasses declared with ``repr=False``; adds no slots and
    no instance dictionary of its own."""

    __slots__ = ()

    def __repr__(self) -> str:
        key = id(self), _thread.get_ident()
        if key in _running:
            return "..."
        _running.add(key)
        try:
            shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                              for f in fields(self) if f.repr)  # type: ignore[arg-type]
            return f"{self.__class__.__qualname__}({shown})"
        finally:
            _running.discard(key)
