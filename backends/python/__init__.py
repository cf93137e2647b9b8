"""The `python` target: one specialized, standard-library-only Python file."""
