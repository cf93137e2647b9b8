"""Components of the user's own in C (`impl c "FILE"` outside specc's run time).

A file the user wrote is the user's to fix, so what goes wrong in it is
reported against its `impl c` line as E0702, never as specc's own failure
(E9001):

- each such instance's translation unit is compiled alone, with the target's
  flags, before the image is built: an error there is in the user's file (or
  in how it uses the component ABI);
- when the link fails, an undefined reference to one of its operations
  (`dev_counter_total`) names the operation the file must define, with the
  prototype the generated header expects.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from specc.backends import ImplementationError
from specc.backends.c.build import RUNTIME_DIR, compiler_environment
from specc.passes.image import Image, ImageInstance

# Lines of the compiler's output kept in the diagnostic: the first error and
# its context, not a cascade.
MAX_OUTPUT_LINES = 20

# GNU ld's message for a symbol nothing defines (messages are in the C locale:
# compiler_environment).
_UNDEFINED = re.compile(r"undefined reference to `([A-Za-z_][A-Za-z0-9_]*)'")


def own_instances(image: Image) -> list[ImageInstance]:
    """The kept instances whose C implementation is not specc's."""
    runtime = os.path.realpath(RUNTIME_DIR) + os.sep
    return [i for i in image.instances if not i.implementation.startswith(runtime)]


def check_own_compile(image: Image, generated: Path, prefixes: Mapping[str, str],
                      command: Callable[[Path, Path], list[str]]) -> None:
    """Compile each own instance's unit (``generated/inst_PREFIX.c``) alone with
    ``command(source, object)``; raise E0702 for the first that fails."""
    for instance in own_instances(image):
        source = generated / f"inst_{prefixes[instance.key]}.c"
        with tempfile.TemporaryDirectory(prefix="specc-impl-") as tmp:
            completed = subprocess.run(command(source, Path(tmp) / "impl.o"), capture_output=True,
                                       text=True, check=False, env=compiler_environment())
        if completed.returncode != 0:
            raise ImplementationError(
                f"the C implementation of component `{instance.component}` does not compile",
                instance.implementation_span or instance.span,
                ((f"the compiler says:\n{_excerpt(completed.stderr)}", None),
                 (f"`{instance.label}` is built here", instance.span)))


def check_own_operations(image: Image, prefixes: Mapping[str, str], linker_output: str,
                         header: str) -> None:
    """Raise E0702 when the failed link's ``linker_output`` lacks an operation
    of an own instance; ``header`` is the generated `instances.h`."""
    undefined = set(_UNDEFINED.findall(linker_output))
    for instance in own_instances(image):
        prefix = prefixes[instance.key]
        missing = sorted(op for op in instance.operations if f"{prefix}_{op}" in undefined)
        if not missing:
            continue
        names = ", ".join(f"`{op}`" for op in missing)
        what = "operation" if len(missing) == 1 else "operations"
        file = os.path.basename(instance.implementation)
        raise ImplementationError(
            f"the C implementation of component `{instance.component}` does not define the "
            f"{what} {names} that the image calls",
            instance.implementation_span or instance.span,
            ((f"`{instance.label}` is built here", instance.span),
             *((f"{file} must define `{p}`", None) for p in _prototypes(header, prefix, missing))))


def _prototypes(header: str, prefix: str, ops: Iterable[str]) -> list[str]:
    """The generated prototype of each of ``ops``, as the file writes it
    (`uint64_t SC_FN(total)(void)`)."""
    lines = []
    for op in ops:
        found = re.search(rf"^(.*)\b{re.escape(prefix)}_{re.escape(op)}(\(.*\));$", header, re.M)
        lines.append(f"{found.group(1)}SC_FN({op}){found.group(2)}" if found else f"SC_FN({op})")
    return lines


def _excerpt(output: str) -> str:
    lines = output.rstrip().splitlines()
    if len(lines) > MAX_OUTPUT_LINES:
        lines = [*lines[:MAX_OUTPUT_LINES], f"... ({len(lines) - MAX_OUTPUT_LINES} more lines)"]
    return "\n".join(lines)
