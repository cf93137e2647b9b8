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
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from specc.dataclass_code import cached_exec

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


_T = TypeVar("_T")


def assigned_at_run_time(cls: type[_T]) -> type[_T]:
    """Make a frozen dataclass cheap to build: apply below ``@dataclass(frozen=True, ...)``.

    A frozen dataclass's generated ``__init__`` sets each field through
    ``object.__setattr__``, which costs about five times a plain assignment;
    for the records a check makes by the ten thousand (spans, the checker's
    symbols) that was a sixth of the instructions of checking a large file
    (issue 13).  This gives ``cls`` an ``__init__`` of plain assignments, with
    the same parameters and defaults, and object's own ``__setattr__`` and
    ``__delattr__``.  To mypy the class is still frozen, so nothing in specc
    may assign to one; equality, hashing, ``repr``, pickling,
    :func:`dataclasses.fields` and :func:`dataclasses.replace` are the
    dataclass's own.  Only fields with a plain default (or none) are handled:
    anything else (a default factory, ``init=False``, ``__post_init__``) is
    refused at import rather than built wrong.
    """
    if not getattr(getattr(cls, "__dataclass_params__", None), "frozen", False):
        raise TypeError(f"{cls.__qualname__} is not a frozen dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__qualname__} has a __post_init__")
    params = []
    body = []
    defaults: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if not f.init or f.default_factory is not MISSING:
            raise TypeError(f"{cls.__qualname__}.{f.name}: only plain defaults are handled")
        if f.default is MISSING:
            params.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    self.{f.name} = {f.name}")
    code = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    namespace = dict(defaults)
    cached_exec(code, namespace)  # our own code, made from the dataclass fields above
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    delattr(cls, "__setattr__")
    delattr(cls, "__delattr__")
    return cls
