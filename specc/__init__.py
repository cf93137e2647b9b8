"""specc: a type-safe configuration and specialization compiler for unikernels.

Library use::

    import specc
    result = specc.check_file("dns.spec", target="hvt")
    for diagnostic in result.diagnostics: ...
    built = specc.build("dns.spec", target="unix", output_dir="out")
    if built.ok: ...

The entry points are imported lazily: every module of the compiler imports
``specc.<something>``, and pulling the whole pipeline (``specc.api``) in from
here would make each of those imports slow and circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specc import dataclass_code

if TYPE_CHECKING:
    from specc.api import check_file, check_source
    from specc.builder import BuildResult, build

# Before any module of specc makes a record: their methods, compiled at setup.
dataclass_code.install()

__version__ = "0.1.0"

__all__ = ["BuildResult", "__version__", "build", "check_file", "check_source"]

_LAZY = {"check_file": "specc.api", "check_source": "specc.api", "build": "specc.builder",
         "BuildResult": "specc.builder"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'specc' has no attribute {name!r}")
