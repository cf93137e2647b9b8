"""Recovery and stage spans (issue 12, item 4): a broken function header does
not hide the rest of the file, and a stage error points at the run-time
value, with what needs the constant as notes."""

from __future__ import annotations

from specc.api import check_source

BROKEN_HEADER = """unikernel t

fn f(a: u16 -> u16 {
  return a
}

fn g() -> u16 {
  let x: u16 = "not a number"
  return x
}

main {
  let items = [1, 2
  print("{g()}")
}
"""


def test_an_unclosed_bracket_ends_at_the_next_declaration() -> None:
    result = check_source(BROKEN_HEADER, "t.spec")
    found = [(d.code, d.span.line) for d in result.diagnostics]
    assert ("E0111", 1) not in found  # `main` exists
    assert ("E0201", 8) in found  # the type error after the broken header
    assert found[0] == ("E0007", 3)  # the unclosed `(`, reported once
    assert [c for c, _ in found].count("E0007") == 1
    assert result.program is not None and result.program.main is not None
    assert "g" in result.program.functions


STAGE = """unikernel t

config {
  param ipv4: Cidr = 10.0.0.2/24
}

devices {
  ip = static_ipv4(ethernet(virtio_net()), config.ipv4)
}

main {}
"""


def test_a_stage_error_points_at_the_runtime_value() -> None:
    [d] = check_source(STAGE, "t.spec").diagnostics
    assert d.code == "E0301"
    start = STAGE.index("config.ipv4", STAGE.index("devices"))
    assert (d.span.start, d.span.end) == (start, start + len("config.ipv4"))
    device, param = d.notes
    assert device.message == "device `ip` is built at compile time"
    assert device.span is not None and device.span.start == STAGE.index("static_ipv4")
    assert param.message.startswith("it is passed as `address` of component `static_ipv4`")
    assert param.span is not None and param.span.file.endswith("prelude.spec")
