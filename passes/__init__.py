"""Compiler passes after checking: one module per pass (see DESIGN.md).

`specc.driver` runs them in this order.  Kept here, with no imports, so that
the command line can offer `--dump-after` choices without loading the passes.
"""

PASSES = ("check", "config", "devices", "fold", "dce", "image")
# The passes `specc compile --dump-after` can stop after.
DUMP_PASSES = PASSES[1:]
