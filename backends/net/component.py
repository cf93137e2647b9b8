"""The hooks of the network components (backends/components.py): which
operations open ports, the boot-time `--bind` of `host_ip`, and the
address a launcher forwards ports to (static, or from its DHCP server)."""

from __future__ import annotations

from collections.abc import Callable

from specc import types as T
from specc.backends.components import BootParam, ConstRule, Hooks, register
from specc.values import DurationV, Ipv4V, SizeV, Value

BIND = BootParam("bind", T.IPV4, Ipv4V(0), "the IPv4 address sockets listen on")

register(Hooks(boot_params=(BIND,)), "c/runtime/components/host_ip.c",
         "python/runtime/host_ip.py")
register(Hooks(address_consts=("address", "gateway")), "c/runtime/components/static_ipv4.c")
register(Hooks(dhcp_client=True), "c/runtime/components/dhcp_ipv4.c")
register(Hooks(listens={"listen": "udp"}), "c/runtime/components/socket_udp.c",
         "c/runtime/components/direct_udp.c", "python/runtime/socket_udp.py")


def _at_least_one(value: Value) -> bool:
    return isinstance(value, int) and value >= 1


def _not_negative(value: Value) -> bool:
    return isinstance(value, DurationV) and value.nanoseconds >= 0


def _size_within(low: int, high: int) -> Callable[[Value], bool]:
    return lambda value: isinstance(value, SizeV) and low <= value.size <= high


# The bounds the implementations assert (socket_tcp.c, direct_tcp.c over
# net/tcp.h: receive buffers TCP_RCV_BUF_MIN..TCP_RCV_BUF_MAX, a send pool of
# 2 KiB blocks counted in 32 bits); an idle_timeout of 0s never resets.
_CONNECTIONS = ConstRule("max_connections", _at_least_one, "at least 1")
_IDLE = ConstRule("idle_timeout", _not_negative, "0s (never) or more")
register(Hooks(listens={"listen": "tcp"}, const_rules=(_CONNECTIONS, _IDLE)),
         "c/runtime/components/socket_tcp.c", "python/runtime/socket_tcp.py")
register(Hooks(listens={"listen": "tcp"}, const_rules=(
    _CONNECTIONS,
    ConstRule("send_buffer", _size_within(1, 2048 * (2**32 - 2)), "between 1B and 8TiB"),
    ConstRule("receive_window", _size_within(2048, 2**30), "between 2KiB and 1GiB"),
    _IDLE,
)), "c/runtime/components/direct_tcp.c")
