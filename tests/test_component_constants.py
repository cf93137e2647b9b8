"""Bounds on a component's constant arguments (Hooks.const_rules): a value
the TCP implementations cannot take is E0403 at the device that passes it,
from `specc.build` and from the CLI, before any C is compiled, instead of a
failed C build reported as an internal error (or, on python, a trap at
boot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import specc

SPEC = """\
unikernel bounds

config {
  const connections: u16 = 16
  const idle: Duration = 120s
  const window: Size = 8KiB
}

devices {
  ip = match target {
    Target.hvt => static_ipv4(ethernet(virtio_net()), 10.0.2.15/24, 10.0.2.2)
    _          => host_ip()
  }
  t = match target {
    Target.hvt => direct_tcp(
      ip,
      max_connections = config.connections,
      receive_window = config.window,
      idle_timeout = config.idle,
    )
    _          => socket_tcp(ip, max_connections = config.connections, idle_timeout = config.idle)
  }
}

fn on_data(c: Conn, data: bytes) -> bytes? {
  return data
}

main {
  t.listen(7000, on_data)
}
"""
DEVICE_LINE = {"hvt": 15, "unix": 21, "python": 21}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "bounds.spec"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize("target", ["python", "unix", "hvt"])
def test_the_defaults_build(spec: Path, target: str, tmp_path: Path) -> None:
    result = specc.build(spec, target=target, output_dir=tmp_path / "out")
    assert result.ok, [d.message for d in result.diagnostics]


@pytest.mark.parametrize(("target", "define", "wanted"), [
    ("python", "connections=0", "`max_connections = 0` must be at least 1"),
    ("unix", "connections=0", "`max_connections = 0` must be at least 1"),
    ("hvt", "connections=0", "`max_connections = 0` must be at least 1"),
    ("unix", "negative", "`idle_timeout = -1s` must be 0s (never) or more"),
    ("python", "negative", "`idle_timeout = -1s` must be 0s (never) or more"),
    ("hvt", "window=1KiB", "`receive_window = 1KiB` must be between 2KiB and 1GiB"),
    ("hvt", "window=2GiB", "`receive_window = 2GiB` must be between 2KiB and 1GiB"),
])
def test_a_constant_out_of_bounds_is_e0403_at_the_device(
        spec: Path, target: str, define: str, wanted: str, tmp_path: Path) -> None:
    if define == "negative":  # -D takes no negative Duration: say it in the spec
        spec.write_text(SPEC.replace("idle: Duration = 120s", "idle: Duration = 0s - 1s"))
        define = "connections=16"
    result = specc.build(spec, target=target, defines=(define,), output_dir=tmp_path / "out")
    assert not result.ok and result.image is None
    errors = [d for d in result.diagnostics if d.is_error]
    assert [d.code for d in errors] == ["E0403"], [d.message for d in errors]
    assert wanted in errors[0].message
    assert errors[0].span.file == str(spec)
    assert errors[0].span.line == DEVICE_LINE[target]


def test_the_cli_reports_it_with_exit_1(spec: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "specc", "compile", str(spec), "-t", "unix", "-D", "connections=0",
         "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "E0403" in run.stderr and "must be at least 1" in run.stderr
    assert "E9001" not in run.stderr and "Traceback" not in run.stderr
