"""Components of the user's own in Python (`impl python "FILE"` outside
specc's run time): what is wrong in the file is the user's to fix, so it is
reported against its `impl python` line as E0702, never as specc's own
failure (E9001) nor, for a missing method, as a crash of the image when the
program first calls it."""

from __future__ import annotations

import ast
import os

from specc.backends import ImplementationError
from specc.backends.python.link import LoadedModule, defined_names
from specc.passes.image import Declarations, ImageInstance


def syntax_error(instance: ImageInstance, error: SyntaxError) -> ImplementationError:
    """E0702 for an implementation file Python cannot parse."""
    where = f"{os.path.basename(instance.implementation)}:{error.lineno or 1}"
    if error.offset:
        where += f":{error.offset}"
    return ImplementationError(
        f"the Python implementation of component `{instance.component}` does not parse",
        instance.implementation_span or instance.span,
        ((f"`{instance.label}` is built here", instance.span),
         (f"{where}: {error.msg}", None)))


def check_impl(instance: ImageInstance, module: LoadedModule,
               declarations: Declarations) -> ast.ClassDef:
    """The file's `class Impl`, which must define every operation the program
    calls on the instance; else E0702."""
    impl = module.impl
    file = os.path.basename(instance.implementation)
    if impl is None:
        raise ImplementationError(
            f"the Python implementation of component `{instance.component}` has no `class Impl`",
            instance.implementation_span or instance.span,
            ((f"`{instance.label}` is built here", instance.span),
             (f"{file} must define `class Impl` with a method per operation", None)))
    if impl.bases or impl.keywords:
        return impl  # methods may come from a base class: only running it tells
    defined = defined_names(impl.body)
    if "__getattr__" in defined or "__getattribute__" in defined:
        return impl
    missing = sorted(instance.called - defined)
    if missing:
        interface = declarations.interfaces.get(instance.interface)
        names = ", ".join(f"`{op}`" for op in missing)
        what = "operation" if len(missing) == 1 else "operations"
        signatures = []
        for op in missing:
            params = list(interface.ops[op].param_names) if interface and op in interface.ops else []
            signatures.append(f"def {op}({', '.join(['self', *params])})")
        raise ImplementationError(
            f"the Python implementation of component `{instance.component}` does not define "
            f"the {what} {names} that the program calls",
            instance.implementation_span or instance.span,
            ((f"`{instance.label}` is built here", instance.span),
             *((f"`class Impl` in {file} must define `{s}`", None) for s in signatures)))
    return impl

