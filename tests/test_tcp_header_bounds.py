"""The E0403 bounds of direct_tcp's constants (backends/net/component.py) are
the limits of the C runtime's net/tcp.h: this test reads the header's
#defines and direct_tcp.c's _Static_asserts and fails when the Python side
states other numbers, so that a change to the header cannot leave the
checker accepting what the C build then rejects (issue 13)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from specc.backends.components import ConstRule, hooks_for
from specc.backends.net import component
from specc.values import SizeV

RUNTIME = Path(__file__).resolve().parent.parent / "backends" / "c" / "runtime"
HEADER = RUNTIME / "net" / "tcp.h"
DIRECT_TCP = RUNTIME / "components" / "direct_tcp.c"
# What <stdint.h> gives the header; nothing else outside it is used.
C_NAMES = {"UINT32_MAX": (1 << 32) - 1}


def c_value(expression: str, known: dict[str, int]) -> int:
    """The value of an integer constant expression of the header: literals
    (u, ull suffixes), earlier #defines, parentheses, + - * / <<."""
    python = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expression)
    tree = ast.parse(python, mode="eval")

    def value(node: ast.expr) -> int:
        match node:
            case ast.Constant(value=int() as number):
                return number
            case ast.Name(id=name) if name in known:
                return known[name]
            case ast.BinOp(left=left, op=op, right=right):
                a, b = value(left), value(right)
                match op:
                    case ast.Add():
                        return a + b
                    case ast.Sub():
                        return a - b
                    case ast.Mult():
                        return a * b
                    case ast.Div():  # C's unsigned division
                        return a // b
                    case ast.LShift():
                        return a << b
        raise ValueError(f"not a constant the test can read: {expression!r}")

    return value(tree.body)


def defines(text: str) -> dict[str, int]:
    """Every object-like #define with an integer value, comments removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    known = dict(C_NAMES)
    for name, body in re.findall(r"^#define (\w+)[ \t]+(.+?)[ \t]*$", text, flags=re.M):
        try:
            known[name] = c_value(body, known)
        except (SyntaxError, ValueError):
            continue  # a type or a cast: no bound of ours
    return known


def rule(name: str) -> ConstRule:
    """direct_tcp's rule for its constant `name`."""
    rules = {r.name: r for r in hooks_for(str(DIRECT_TCP)).const_rules}
    return rules[name]


def test_the_header_is_read() -> None:
    """The reader itself: values written three ways in the header."""
    assert defines("#define A 2048u\n#define B (1u << 30)\n#define C (A * 2u - 1u) /* x */\n"
                   "#define T uint32_t\n") == {**C_NAMES, "A": 2048, "B": 1 << 30, "C": 4095}


@pytest.mark.parametrize("name", ["TCP_RCV_BUF_MIN", "TCP_RCV_BUF_MAX", "TCP_BLOCK",
                                  "TCP_NO_BLOCK"])
def test_python_states_the_headers_limits(name: str) -> None:
    header = defines(HEADER.read_text(encoding="utf-8"))
    assert name in header, f"net/tcp.h no longer defines {name}"
    assert getattr(component, name) == header[name], \
        f"backends/net/component.py {name} = {getattr(component, name)}, net/tcp.h {header[name]}"


def squeezed(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").split())


def test_direct_tcp_asserts_the_headers_limits() -> None:
    """direct_tcp.c bounds its constants by those names, as component.py
    assumes; if the C changes, the bounds of component.py must follow."""
    c = squeezed(DIRECT_TCP)
    assert "#define POOL_BLOCKS ((SC_CONST_send_buffer + TCP_BLOCK - 1u) / TCP_BLOCK)" in c
    assert "_Static_assert(POOL_BLOCKS > 0 && POOL_BLOCKS < TCP_NO_BLOCK," in c
    assert ("_Static_assert(SC_CONST_receive_window >= TCP_RCV_BUF_MIN && "
            "SC_CONST_receive_window <= TCP_RCV_BUF_MAX,") in c


def c_accepts_send_buffer(size: int) -> bool:
    """direct_tcp.c's send_buffer assertion, computed as C computes it."""
    blocks = (size + component.TCP_BLOCK - 1) // component.TCP_BLOCK
    return 0 < blocks < component.TCP_NO_BLOCK


@pytest.mark.parametrize("size", [0, 1, component.TCP_BLOCK, component.SEND_BUFFER_MAX,
                                  component.SEND_BUFFER_MAX + 1, 1 << 43])
def test_send_buffer_rule_is_the_c_assertion(size: int) -> None:
    assert rule("send_buffer").holds(SizeV(size)) \
        == c_accepts_send_buffer(size)


@pytest.mark.parametrize("size", [component.TCP_RCV_BUF_MIN - 1, component.TCP_RCV_BUF_MIN,
                                  component.TCP_RCV_BUF_MAX, component.TCP_RCV_BUF_MAX + 1])
def test_receive_window_rule_is_the_c_assertion(size: int) -> None:
    holds = rule("receive_window").holds(SizeV(size))
    assert holds == (component.TCP_RCV_BUF_MIN <= size <= component.TCP_RCV_BUF_MAX)
