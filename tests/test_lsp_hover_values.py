"""Hover shows what the middle end knows: a const key's evaluated value under
the workspace's target and overrides, and whether a device is in the image."""

from __future__ import annotations

from pathlib import Path

from specc.api import check_file
from specc.check.program import CheckedProgram, Symbol
from specc.lsp.features.hover import describe_symbol
from specc.lsp.workspace import Settings

DNS = str(Path(__file__).resolve().parent.parent / "examples" / "dns.spec")


def symbol(program: CheckedProgram, kind: str, name: str) -> Symbol:
    for found in list(program.references.values()):
        if found.kind == kind and found.name == name:
            return found
    raise AssertionError(f"no {kind} {name}")


def test_const_value_follows_the_overrides() -> None:
    program = check_file(DNS).program
    assert program is not None
    port = symbol(program, "config-const", "port")
    assert "value: `53`" in describe_symbol(program, port, Settings())
    overridden = describe_symbol(program, port, Settings(defines={"port": "5353"}))
    assert "value: `5353`" in overridden and "default: `53`" in overridden


def test_device_hover_explains_why_it_is_out() -> None:
    program = check_file(DNS).program
    assert program is not None
    tcp4 = symbol(program, "device", "tcp4")
    text = describe_symbol(program, tcp4, Settings())
    assert "**not in the image**" in text and "`config.tcp` = `false`" in text
    inside = describe_symbol(program, tcp4, Settings(defines={"tcp": "true"}))
    assert "**in the image**" in inside and "use path: main" in inside


def test_device_hover_follows_the_target() -> None:
    program = check_file(DNS, target="unix").program
    assert program is not None
    text = describe_symbol(program, symbol(program, "device", "ip"), Settings(target="unix"))
    assert "host_ip" in text and "**in the image**" in text


def test_hover_does_not_change_the_program() -> None:
    program = check_file(DNS).program
    assert program is not None
    before = len(program.references)
    describe_symbol(program, symbol(program, "device", "udp4"), Settings())
    assert len(program.references) == before
