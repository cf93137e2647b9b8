"""The catalogue of diagnostic codes.

Codes are stable: a code, once shipped, keeps its meaning.  ``docs/language.md``
shows an example of each, and ``tests/golden`` holds at least one case per code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from specc.records import Record

if TYPE_CHECKING:
    from specc.diagnostics import Severity


@dataclass(frozen=True, slots=True, repr=False)
class CodeEntry(Record):
    """A diagnostic code of the catalogue: its title and whether it is an error."""

    code: str
    title: str
    is_error: bool = True

    @property
    def severity(self) -> Severity:
        from specc.diagnostics import Severity

        return Severity.ERROR if self.is_error else Severity.WARNING


_ENTRIES = [
    # Lexical and syntax (E00xx)
    CodeEntry("E0001", "syntax error: unexpected token"),
    CodeEntry("E0002", "unexpected end of file"),
    CodeEntry("E0003", "invalid character"),
    CodeEntry("E0004", "unterminated string or bytes literal"),
    CodeEntry("E0005", "invalid escape sequence"),
    CodeEntry("E0006", "invalid literal"),
    CodeEntry("E0007", "unbalanced bracket"),
    CodeEntry("E0008", "nested too deeply"),
    # Names and declarations (E01xx)
    CodeEntry("E0101", "unknown name"),
    CodeEntry("E0102", "duplicate declaration"),
    CodeEntry("E0103", "unknown type"),
    CodeEntry("E0104", "used file cannot be read"),
    CodeEntry("E0105", "cycle between used files"),
    CodeEntry("E0106", "misplaced or missing unikernel line"),
    CodeEntry("E0107", "unknown config key"),
    CodeEntry("E0108", "unknown field or enum value"),
    CodeEntry("E0109", "unknown device operation"),
    CodeEntry("E0110", "misplaced declaration"),
    CodeEntry("E0111", "missing `main`"),
    # Types (E02xx)
    CodeEntry("E0201", "type mismatch"),
    CodeEntry("E0202", "integer literal out of range"),
    CodeEntry("E0203", "wrong number of arguments"),
    CodeEntry("E0204", "unknown named argument"),
    CodeEntry("E0205", "non-exhaustive match"),
    CodeEntry("E0206", "operator does not apply to these types"),
    CodeEntry("E0207", "invalid conversion with `as`"),
    CodeEntry("E0208", "not callable"),
    CodeEntry("E0209", "missing return value"),
    CodeEntry("E0210", "assignment to something that is not a `var`"),
    CodeEntry("E0211", "`break` or `continue` outside a loop"),
    CodeEntry("E0212", "argument given twice or missing"),
    CodeEntry("E0213", "type cannot be inferred"),
    CodeEntry("E0214", "values of this type cannot be compared"),
    CodeEntry("E0215", "match arm used as a value is not an expression"),
    CodeEntry("E0216", "struct literal fields do not match the struct"),
    CodeEntry("E0217", "component does not provide its interface"),
    CodeEntry("E0218", "invalid component item"),
    CodeEntry("E0219", "unknown target"),
    CodeEntry("E0220", "invalid pattern"),
    CodeEntry("E0221", "component or device used in the wrong place"),
    CodeEntry("E0222", "devices form a cycle"),
    # Stages (E03xx)
    CodeEntry("E0301", "runtime value where a compile-time constant is required"),
    CodeEntry("E0302", "compile-time-only value used at run time"),
    CodeEntry("E0303", "compile-time evaluation ran out of steps"),
    CodeEntry("E0304", "compile-time trap (overflow, division by zero, bad index)"),
    # Configuration (E04xx)
    CodeEntry("E0401", "unknown config key in an override"),
    CodeEntry("E0402", "override value does not fit the key's type"),
    CodeEntry("E0403", "`requires` does not hold"),
    CodeEntry("E0404", "a param cannot be overridden at compile time"),
    CodeEntry("E0405", "config file cannot be read"),
    CodeEntry("E0406", "config keys depend on each other in a cycle"),
    # Compile-time data (E05xx)
    CodeEntry("E0501", "zone file cannot be read or parsed"),
    CodeEntry("E0502", "directory cannot be read"),
    # Devices (E06xx)
    CodeEntry("E0601", "component not available on this target"),
    # Back ends (E07xx)
    CodeEntry("E0701", "the target cannot build this spec"),
    CodeEntry("E0702", "a component's own implementation does not build"),
    # The command line (E08xx)
    CodeEntry("E0801", "unknown option or command"),
    CodeEntry("E0802", "invalid option value or use"),
    CodeEntry("E0803", "unknown target on the command line"),
    CodeEntry("E0804", "missing or extra command-line argument"),
    CodeEntry("E0805", "`explain` NAME is not in the spec"),
    CodeEntry("E0806", "output file cannot be written"),
    CodeEntry("E0807", "Graphviz is missing or failed"),
    # Warnings (W0xxx)
    CodeEntry("W0001", "unreachable match arm", is_error=False),
    CodeEntry("W0002", "unused variable", is_error=False),
    CodeEntry("W0003", "device is never used", is_error=False),
    CodeEntry("W0004", "a param's default does not meet its `requires`", is_error=False),
    # Internal (E9xxx)
    CodeEntry("E9001", "internal compiler error"),
]

CODES: dict[str, CodeEntry] = {entry.code: entry for entry in _ENTRIES}
