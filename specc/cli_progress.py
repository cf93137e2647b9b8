"""What `specc compile` shows while it works: a rich status line on a
terminal once a build has taken a second (the C builds take several), and
with ``-v`` one line per step with its time.  A :class:`specc.builder.Listener`.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.status import Status

# How long a build runs before the progress line appears: a quick build
# should not flash one.
DELAY_SECONDS = 1.0

STEP_TEXT = {
    "check": "checking",
    "config": "reading the configuration",
    "devices": "building the device graph",
    "fold": "folding constants",
    "dce": "removing what cannot run",
    "emit": "generating and compiling the image",
    "manifest": "writing the manifest",
}


def is_terminal(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class BuildProgress:
    """The progress display of one build.  ``verbose`` prints each step's
    time; ``live`` allows the status line (a terminal, not ``-q``)."""

    def __init__(self, what: str, *, verbose: bool, live: bool,
                 stream: TextIO | None = None) -> None:
        self.what = what
        self.verbose = verbose
        self.live = live
        self.stream = stream if stream is not None else sys.stderr
        self.step = ""
        self._lock = threading.Lock()
        self._status: Status | None = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def __enter__(self) -> BuildProgress:
        if self.live:
            self._timer = threading.Timer(DELAY_SECONDS, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            status = self._status
            self._status = None
        if status is not None:
            status.stop()

    def _text(self) -> str:
        step = STEP_TEXT.get(self.step, self.step)
        return f"specc: building {self.what}: {step}..."

    def _show(self) -> None:
        from rich.console import Console
        from rich.status import Status

        with self._lock:
            if self._closed:
                return
            console = Console(file=self.stream, force_terminal=True, highlight=False)
            status = Status(self._text(), console=console, spinner="dots")
            status.start()
            self._status = status

    # ---- Listener
    def started(self, step: str) -> None:
        with self._lock:
            self.step = step
            if self._status is not None:
                self._status.update(self._text())

    def finished(self, step: str, seconds: float) -> None:
        if not self.verbose:
            return
        line = f"specc: {step:<9} {seconds * 1000:9.1f} ms"
        with self._lock:
            if self._status is not None:
                self._status.console.print(line)
                return
        print(line, file=self.stream, flush=True)
