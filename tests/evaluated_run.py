"""Running a whole function of a checked program with the compile-time
evaluator (specc/evaluate), as if it ran in an image: the differential
test's fourth runner, beside the python, unix and hvt images.

The evaluator proper runs only pure functions.  Here it also does the three
things an image does that a pure function may not: `print` (the text is
collected), `exit` (the run stops with that status) and top-level `var`s
(one environment that every function call sees, initialized from the
declarations' constant values).  Everything else (arithmetic and its traps,
strings, lists, structs, options, `match`, loops, calls, recursion) is the
evaluator's own code, unchanged.

A trap stops the run the way an image stops: the evaluator's runtime text
(``EvalError.runtime``) at ``file:line:column``, and status 70.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from specc import ast
from specc.check.program import CheckedProgram
from specc.evaluate import Env, EvalError, Evaluator, Hooks
from specc.span import Span
from specc.values import Value

EXIT_TRAP = 70  # what the images exit with after a trap
EXIT_MAX = 127  # a larger `exit` status stops with EXIT_OUT_OF_RANGE instead
EXIT_OUT_OF_RANGE = 126
# Generated programs recurse a few levels only; each specc call costs about
# ten Python frames in the evaluator.
_RECURSION_LIMIT = 20_000


@dataclass(frozen=True)
class Stopped:
    """How a run ended: the text it printed and its exit status (0 when the
    function returned)."""

    output: str
    status: int


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _ImageEvaluator(Evaluator):
    """The evaluator with an image's effects: print, exit and `var`s."""

    def __init__(self, program: CheckedProgram, params: dict[str, Value]) -> None:
        def config(key: str, span: Span) -> Value:
            return params[key]

        super().__init__(program, Hooks(config=config))
        self.printed: list[str] = []
        self.state = Env()
        for name, info in program.vars.items():
            self.state.values[name] = self.eval(info.decl.value, Env())

    def builtin(self, name: str, e: ast.Call, env: Env) -> Value:
        if name == "print":
            text = self.eval(e.args[0].value, env)
            assert isinstance(text, str)
            self.printed.append(text + "\n")
            return None
        if name == "exit":
            code = self.eval(e.args[0].value, env)
            assert isinstance(code, int)
            if code > EXIT_MAX:  # as every target does (docs/language.md section 11)
                self.printed.append(f"platform: exit status {code} is outside 0..{EXIT_MAX}\n")
                code = EXIT_OUT_OF_RANGE
            raise _Exit(code)
        return super().builtin(name, e, env)

    def call_function(self, name: str, e: ast.Call, env: Env) -> Value:
        # Any function, pure or not: here printing and `var`s are allowed.
        info = self.program.functions[name]
        assert info.decl is not None
        args = self.bind_arguments(e, list(info.param_names))
        values = {p: self.eval(a, env) for p, a in zip(info.param_names, args, strict=True)
                  if a is not None}
        return self.run_function(info.decl, values)

    def function_env(self, arguments: dict[str, Value]) -> Env:
        # The `var`s are the outermost scope of every function body, under
        # its parameters and locals (which hide them), as in the images.
        return Env(self.state, dict(arguments))


def run_function(program: CheckedProgram, name: str, params: dict[str, Value]) -> Stopped:
    """Run the function ``name`` (no parameters) of ``program`` from a fresh
    state, with ``params`` as the values of the `param` keys."""
    decl = program.functions[name].decl
    assert decl is not None
    machine = _ImageEvaluator(program, params)
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
    try:
        machine.run_function(decl, {})
    except _Exit as stop:
        return Stopped("".join(machine.printed), stop.code)
    except EvalError as error:
        if error.runtime is None:
            raise  # not a trap: the evaluation itself failed (steps, nesting)
        where = f"{os.path.basename(error.span.file)}:{error.span.line}:{error.span.column}"
        return Stopped("".join(machine.printed) + f"{where}: {error.runtime}\n", EXIT_TRAP)
    finally:
        sys.setrecursionlimit(previous)
    return Stopped("".join(machine.printed), 0)
