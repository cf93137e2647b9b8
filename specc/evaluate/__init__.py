"""The compile-time evaluator: one evaluator serves the config pass, the
devices pass and folding (LANGUAGE.md sections 5, 7, 9 and 10)."""

from specc.evaluate.errors import EvalError, NotConstant
from specc.evaluate.evaluator import RUNTIME, Env, Evaluator, Hooks

__all__ = ["RUNTIME", "Env", "EvalError", "Evaluator", "Hooks", "NotConstant"]
