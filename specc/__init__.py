"""specc: a type-safe configuration and specialization compiler for unikernels.

Library use::

    import specc
    result = specc.check_file("dns.spec", target="hvt")
    for diagnostic in result.diagnostics: ...

The entry points are imported lazily: every module of the compiler imports
``specc.<something>``, and pulling the whole pipeline (``specc.api``) in from
here would make each of those imports slow and circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specc.api import check_file, check_source

__version__ = "0.1.0"

__all__ = ["__version__", "check_file", "check_source"]

_LAZY = frozenset({"check_file", "check_source"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from specc import api

        return getattr(api, name)
    raise AttributeError(f"module 'specc' has no attribute {name!r}")
