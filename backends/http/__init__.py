"""The HTTP server's compile-time half, shared by every target.

`precompute.build_site` turns the files of a `kv_ro` directory into a table of
complete HTTP responses; the run-time engine of each target (for `python`:
`backends/python/runtime/http_engine.py`) only parses requests and picks rows.
"""

from __future__ import annotations

from .precompute import build_site, content_type

__all__ = ["build_site", "content_type"]
