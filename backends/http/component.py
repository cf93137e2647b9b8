"""The hooks of `http_server` and `kv_ro` (backends/components.py).

`http_server(tcp, site)`: every response to the files of its `site` (a
`kv_ro`) is built at compile time (`precompute.build_site`) and reaches the
implementation as `SITE` (Python) or `SC_HTTP_SITE` and
`SC_HTTP_MAX_RESPONSE` (C).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from specc.backends.components import CParts, HookError, Hooks, InstanceView, register
from specc.values import FilesV


@dataclass(frozen=True)
class BakedSite:
    """The complete responses of a site (the format of `precompute.build_site`)."""

    site: Mapping[str, Any]

    def describe(self) -> str:
        return f"baked http site: {len(self.site.get('routes', self.site))} routes"

    def python_constants(self) -> Mapping[str, str]:
        from specc.backends.python.plain_literal import plain_literal

        return {"SITE": plain_literal(self.site)}

    def c_parts(self, symbol: str) -> CParts:
        from specc.backends.c.build import RUNTIME_DIR
        from specc.backends.http.c_site import max_response, site_to_c

        site = dict(self.site)
        return CParts((f"#define SC_HTTP_SITE {symbol}_site",
                       f"#define SC_HTTP_MAX_RESPONSE {max_response(site)}u"),
                      ((f"site_{symbol}.c", site_to_c(site, f"{symbol}_site")),),
                      (str(RUNTIME_DIR / "http" / "http_engine.c"),))


def baked_site(instance: InstanceView) -> tuple[BakedSite, ...]:
    from specc.backends.http.precompute import build_site

    site = instance.device("site")
    if hooks_of(site) is not KV_RO:
        raise HookError("an http_server's `site` must be a kv_ro: its responses are built "
                        "at compile time from the files")
    files = site.const("files")
    assert isinstance(files, FilesV)
    return (BakedSite(build_site(files.files)),)


def hooks_of(instance: InstanceView) -> object:
    from specc.backends.components import hooks_for

    return hooks_for(instance.implementation())


KV_RO = Hooks()
register(KV_RO, "c/runtime/components/kv_ro.c", "python/runtime/kv_ro.py")
register(Hooks(data=baked_site, listens={"serve": "tcp"}), "c/runtime/components/http_server.c",
         "python/runtime/http_server.py")
