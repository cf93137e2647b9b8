"""The C backend: the freestanding runtime (``runtime/``) and its build and launch helpers."""
