"""kv_ro(files): a read-only key-value store baked into the image."""

from __future__ import annotations

from typing import Final

from .core import Runtime


class Impl:
    # (relative path, contents) for every file of the directory, sorted by path.
    FILES: Final[tuple[tuple[str, bytes], ...]] = ()

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.table = dict(self.FILES)

    def get(self, key: str) -> bytes | None:
        return self.table.get(key)

    def keys(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.FILES)
