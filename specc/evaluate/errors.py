"""Why an evaluation stopped."""

from __future__ import annotations

from specc.span import Span


class EvalError(Exception):
    """A constant computation that is wrong: it traps (overflow, division by
    zero, a bad index) or runs out of steps.  At compile time it is an error.
    A trap (E0304) also has ``runtime``: what a running image prints at the
    same position for the same trap (the diagnostic's ``message`` says more)."""

    def __init__(self, code: str, span: Span, message: str, runtime: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.span = span
        self.message = message
        self.runtime = runtime


class NotConstant(Exception):
    """The value is known only at run time (a param, a device operation, ...)."""

    def __init__(self, reason: str, span: Span) -> None:
        super().__init__(reason)
        self.reason = reason
        self.span = span
