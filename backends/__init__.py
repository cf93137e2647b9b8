"""The back ends: pure functions of an `Image` (passes/image.py).

`emit_image(image, output_dir)` writes the image for its target and returns
an `EmittedImage`.  A spec the target cannot build raises `BackendError`
(reported as E0701 at its span); the implementation of a component of the
user's own that does not build raises `ImplementationError` (E0702); a
failing toolchain raises `specc.backends.c.build.BuildError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from specc.span import Span

if TYPE_CHECKING:
    from specc.passes.image import Image


class BackendError(Exception):
    """Something in the image the target cannot build (E0701 at ``span``)."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


class ImplementationError(BackendError):
    """A component of the user's own whose implementation does not build
    (E0702 at ``span``, the `impl` line): it does not compile, or it lacks an
    operation the image calls.  ``notes`` say what the compiler said and where
    the component is built."""

    def __init__(self, message: str, span: Span | None,
                 notes: tuple[tuple[str, Span | None], ...] = ()) -> None:
        super().__init__(message, span)
        self.notes = notes


@dataclass(frozen=True)
class EmittedImage:
    path: str  # the image file
    # Absolute paths of every specc run-time and template file it was built from.
    runtime_sources: tuple[str, ...]


def emit_image(image: Image, output_dir: str) -> EmittedImage:
    """Write the image of ``image.target`` into ``output_dir``."""
    if image.target == "python":
        from specc.backends.python.emit import write_python

        return write_python(image, output_dir)
    from specc.backends.c.emit import build_c

    return build_c(image, output_dir)


__all__ = ["BackendError", "EmittedImage", "ImplementationError", "emit_image"]
