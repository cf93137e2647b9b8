"""The network components' compile-time half: their hooks (component.py)."""
