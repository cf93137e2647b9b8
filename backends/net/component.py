"""The hooks of the network components (backends/components.py): which
operations open ports, the boot-time `--bind` of `host_ip`, and the
address a launcher forwards ports to (static, or from its DHCP server)."""

from __future__ import annotations

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


def _size_within(name: str, low: int, high: int, why: str = "") -> ConstRule:
    return ConstRule(name, lambda value: isinstance(value, SizeV) and low <= value.size <= high,
                     f"between {SizeV(low)} and {SizeV(high)}{why}")


# The limits of net/tcp.h that direct_tcp.c asserts its constants against,
# as the header defines them: the header is the source, and
# tests/test_tcp_header_bounds.py fails when these differ from its #defines.
TCP_RCV_BUF_MIN = 2048  # a connection's receive buffer (receive_window), in bytes
TCP_RCV_BUF_MAX = 1 << 30
TCP_BLOCK = 2048  # bytes per block of the send pool (send_buffer)
TCP_NO_BLOCK = (1 << 32) - 1  # UINT32_MAX: no block; block indexes are below it
# direct_tcp.c: POOL_BLOCKS = ceil(send_buffer / TCP_BLOCK), 0 < POOL_BLOCKS < TCP_NO_BLOCK.
SEND_BUFFER_MAX = TCP_BLOCK * (TCP_NO_BLOCK - 1)

# The bounds the implementations assert (socket_tcp.c, direct_tcp.c); an
# idle_timeout of 0s never resets.
_CONNECTIONS = ConstRule("max_connections", _at_least_one, "at least 1")
_IDLE = ConstRule("idle_timeout", _not_negative, "0s (never) or more")
register(Hooks(listens={"listen": "tcp"}, const_rules=(_CONNECTIONS, _IDLE)),
         "c/runtime/components/socket_tcp.c", "python/runtime/socket_tcp.py")
register(Hooks(listens={"listen": "tcp"}, const_rules=(
    _CONNECTIONS,
    _size_within("send_buffer", 1, SEND_BUFFER_MAX,
                 f" ({TCP_NO_BLOCK - 1} send-pool blocks of {SizeV(TCP_BLOCK)})"),
    _size_within("receive_window", TCP_RCV_BUF_MIN, TCP_RCV_BUF_MAX),
    _IDLE,
)), "c/runtime/components/direct_tcp.c")
