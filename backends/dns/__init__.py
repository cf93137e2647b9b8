"""The DNS component's compile-time half: a zone becomes a table of answers.

`precompute.build_table` is the entry point; `resolve` decides what NSD
would answer, `wire` writes it in wire format.
"""

from .precompute import build_table

__all__ = ["build_table"]
