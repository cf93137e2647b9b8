"""`specc.build` in the library (issue 8, deliverable 3): a BuildResult, never
a print, an exit or an exception; the README's example runs as written."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import specc
from specc.builder import BuildResult

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

BROKEN = "unikernel app\nconfig {\n  const port: u16 = 70000\n}\nmain {\n  nope()\n}\n"
PYTHON_ONLY = '''unikernel app
component pyclock() -> Clock {
  impl python "pyclock.py"
}
devices {
  clk = pyclock()
}
main {
  print("{clk.now()}")
}
'''


class Steps:
    """A listener that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def started(self, step: str) -> None:
        self.events.append(("started", step))

    def finished(self, step: str, seconds: float) -> None:
        assert seconds >= 0
        self.events.append(("finished", step))


def test_build_is_exported_lazily_beside_check_file() -> None:
    import specc.builder

    assert specc.build is specc.builder.build
    assert specc.BuildResult is BuildResult
    assert {"build", "BuildResult", "check_file"} <= set(specc.__all__)


def test_python_image_and_its_result(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    steps = Steps()
    out = tmp_path / "out"
    result = specc.build(str(EXAMPLES / "dns.spec"), target="python", output_dir=str(out),
                         listener=steps)
    assert capfd.readouterr() == ("", "")  # the library prints nothing
    assert result.ok and not result.internal_error, result.diagnostics
    assert result.image == str(out / "dns.py")
    data = Path(result.image).read_bytes()
    assert result.manifest["image"] == {"file": "dns.py", "bytes": len(data),
                                        "sha256": hashlib.sha256(data).hexdigest()}
    # The manifest on disk is the one in the result.
    import json

    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == result.manifest
    # Inputs: absolute, existing, the spec first, the zone and the runtime included.
    assert all(os.path.isabs(p) and os.path.exists(p) for p in result.inputs)
    assert result.inputs[0] == str(EXAMPLES / "dns.spec")
    assert str(EXAMPLES / "zones" / "example.org.zone") in result.inputs
    runtime = [p for p in result.inputs if "/backends/python/runtime/" in p]
    assert any(p.endswith("/dns_answer.py") for p in runtime), result.inputs
    assert result.depfile.startswith(f"{result.image}: \\\n  {result.inputs[0]} \\\n")
    # Every step ran once, in order, and was timed.
    names = [name for name, _ in result.timings]
    assert names == ["check", "config", "devices", "fold", "dce", "image", "emit", "manifest"]
    assert steps.events == [(kind, n) for n in names for kind in ("started", "finished")]


def test_errors_are_diagnostics_only(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "broken.spec"
    spec.write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "out"
    result = specc.build(str(spec), target="unix", output_dir=str(out))
    assert capfd.readouterr() == ("", "")
    assert not result.ok
    assert {d.code for d in result.diagnostics} >= {"E0101"}
    assert result.image is None and result.manifest == {} and result.inputs == ()
    assert result.depfile == ""
    assert not out.exists()
    # The same diagnostics as check_file gives.
    assert list(result.diagnostics) == specc.check_file(str(spec), target="unix").diagnostics


def test_a_missing_file_is_a_diagnostic(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for path in (tmp_path / "nope.spec", tmp_path):
        result = specc.build(str(path), output_dir=str(tmp_path / "out"))
        assert capfd.readouterr() == ("", "")
        assert [d.code for d in result.diagnostics] == ["E0104"], result.diagnostics


def test_config_errors_are_diagnostics(tmp_path: Path) -> None:
    spec = str(EXAMPLES / "echo.spec")
    result = specc.build(spec, target="python", defines=["port"], output_dir=str(tmp_path))
    assert [d.code for d in result.diagnostics] == ["E0402"]
    result = specc.build(spec, target="python", config_file=str(tmp_path / "no.toml"),
                         output_dir=str(tmp_path))
    assert [d.code for d in result.diagnostics] == ["E0405"]
    toml = tmp_path / "site.toml"
    toml.write_text("[config]\nport = 7007\n", encoding="utf-8")
    result = specc.build(spec, target="python", defines=["max_size=1000"],
                         config_file=str(toml), output_dir=str(tmp_path / "out"))
    assert [d.code for d in result.diagnostics] == ["E0404"]  # max_size is a param
    result = specc.build(spec, target="python", config_file=str(toml),
                         output_dir=str(tmp_path / "out"))
    assert result.ok, result.diagnostics
    assert result.manifest["config"]["port"]["value"] == 7007
    assert str(toml) in result.inputs


def test_a_component_the_target_cannot_build_is_e0701(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "app.spec"
    spec.write_text(PYTHON_ONLY, encoding="utf-8")
    (tmp_path / "pyclock.py").write_text("", encoding="utf-8")
    result = specc.build(str(spec), target="unix", output_dir=str(tmp_path / "out"))
    assert capfd.readouterr() == ("", "")
    assert [d.code for d in result.diagnostics] == ["E0701"], result.diagnostics
    assert "pyclock" in result.diagnostics[0].message
    assert result.image is None and not (tmp_path / "out" / "manifest.json").exists()


def test_unknown_target_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown target 'vmx'"):
        specc.build(str(EXAMPLES / "echo.spec"), target="vmx")


def test_c_image_lists_its_runtime_and_data(tmp_path: Path) -> None:
    result = specc.build(str(EXAMPLES / "http.spec"), target="unix",
                         output_dir=str(tmp_path / "out"))
    assert result.ok, result.diagnostics
    assert result.image == str(tmp_path / "out" / "http")
    image = result.manifest["image"]
    assert image["sections"]["text"] > 0
    assert image["sha256"] == hashlib.sha256(Path(result.image).read_bytes()).hexdigest()
    site = EXAMPLES / "site"
    assert str(site) in result.inputs and str(site / "images") in result.inputs
    assert str(site / "images" / "logo.svg") in result.inputs
    runtime = ROOT / "backends" / "c" / "runtime"
    for part in ("core/sc.c", "core/sc.h", "platform/posix/posix.c",
                 "components/http_server.c", "http/http_engine.h"):
        assert str(runtime / part) in result.inputs, part
    # Outputs are not inputs: nothing generated into the output directory.
    assert not any(p.startswith(str(tmp_path)) for p in result.inputs)
    # The manifest names inputs relative to the spec's directory.
    paths = [i["path"] for i in result.manifest["inputs"]]
    assert paths[:2] == ["http.spec", "<prelude>"] and "site/images/logo.svg" in paths


def test_readme_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## As a library"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    example = next(b for b in blocks if "specc.build(" in b)
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    completed = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    image = tmp_path / "out" / "echo" / "echo.py"
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert completed.stdout == f"out/echo/echo.py {digest}\n"
