"""Code generators: C and Python (see DESIGN.md)."""
