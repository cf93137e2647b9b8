"""Reading runtime parameters (`param` keys) from the command line."""

from __future__ import annotations

import re

from .core import usage_error


def parse_int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        usage_error(f"--{name}: `{text}` is not an integer")
    if not low <= value <= high:
        usage_error(f"--{name}: {value} is out of range ({low} to {high})")
    return value


def parse_bool(name: str, text: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    usage_error(f"--{name}: `{text}` is not true or false")


def parse_ipv4(name: str, text: str) -> int:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        usage_error(f"--{name}: `{text}` is not an IPv4 address")
    value = 0
    for part in parts:
        value = value << 8 | int(part)
    return value


def parse_cidr(name: str, text: str) -> tuple[int, int]:
    address, _, prefix = text.partition("/")
    if not prefix.isdigit() or int(prefix) > 32:
        usage_error(f"--{name}: `{text}` is not an address with a prefix (10.0.0.2/24)")
    return parse_ipv4(name, address), int(prefix)


_DURATION = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
             "h": 3_600_000_000_000}
_SIZE = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def parse_duration(name: str, text: str) -> int:
    match = re.fullmatch(r"(\d[\d_]*)(ns|us|ms|s|m|h)", text)
    if match is None:
        usage_error(f"--{name}: `{text}` is not a duration (250ms, 5s, 2m, 1h)")
    return int(match.group(1).replace("_", "")) * _DURATION[match.group(2)]


def parse_size(name: str, text: str) -> int:
    match = re.fullmatch(r"(\d[\d_]*)(B|KiB|MiB|GiB)", text)
    if match is None:
        usage_error(f"--{name}: `{text}` is not a size (512B, 64KiB, 16MiB)")
    return int(match.group(1).replace("_", "")) * _SIZE[match.group(2)]


def parse_enum(name: str, text: str, values: tuple[str, ...]) -> int:
    if text not in values:
        usage_error(f"--{name}: `{text}` is not one of {', '.join(values)}")
    return values.index(text)
