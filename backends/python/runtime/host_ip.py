"""host_ip(): the host's own IP stack; sockets bind to the `--bind` address."""

from __future__ import annotations

from .core import Runtime


class Impl:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        rt.bind_address = rt.params["bind"]

    def address(self) -> int:
        return self.rt.bind_address
