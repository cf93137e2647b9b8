"""Compiler passes after checking: one module per pass (see DESIGN.md)."""
