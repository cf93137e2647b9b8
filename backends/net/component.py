"""The hooks of the network components (backends/components.py): which
operations open ports, the boot-time `--bind` of `host_ip`, and the
address a launcher forwards ports to (static, or from its DHCP server)."""

from __future__ import annotations

from specc import types as T
from specc.backends.components import BootParam, Hooks, register
from specc.values import Ipv4V

BIND = BootParam("bind", T.IPV4, Ipv4V(0), "the IPv4 address sockets listen on")

register(Hooks(boot_params=(BIND,)), "c/runtime/components/host_ip.c",
         "python/runtime/host_ip.py")
register(Hooks(address_consts=("address", "gateway")), "c/runtime/components/static_ipv4.c")
register(Hooks(dhcp_client=True), "c/runtime/components/dhcp_ipv4.c")
register(Hooks(listens={"listen": "udp"}), "c/runtime/components/socket_udp.c",
         "c/runtime/components/direct_udp.c", "python/runtime/socket_udp.py")
register(Hooks(listens={"listen": "tcp"}), "c/runtime/components/socket_tcp.c",
         "c/runtime/components/direct_tcp.c", "python/runtime/socket_tcp.py")
