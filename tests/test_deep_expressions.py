"""Expressions deeper than CPython's parser takes (200 nested brackets) build
and run the same on every target: the python target hoists their deep parts
into helper functions (backends/python/deep.py).  Before, a 210-term sum that
`specc check` accepts stopped the python build with E9001."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from targets import HAVE_GCC, build, run, target_params

ROOT = Path(__file__).resolve().parents[1]



CALLS = " + ".join(f"f({i})" for i in range(1, 231))
SIDE_EFFECTS = f'''unikernel calls

fn f(n: u64) -> u64 {{
  print("{{n}}")
  return n
}}

main {{
  let total = {CALLS}
  print("total {{total}}")
}}
'''

ARMS = f'''unikernel arms

config {{
  param x: u64 = 1
}}

main {{
  let x = config.x
  let o: u64? = if x > 0 then some(x) else none
  let total = (match o {{
    some(v) => {" + ".join(["v"] * 110)} + x
    none => 0
  }}) + {" + ".join(["x"] * 110)}
  print("total {{total}}")
}}
'''

OVERFLOW = f'''unikernel overflow

config {{
  param x: u8 = 1
}}

main {{
  let x = config.x
  let total = {" + ".join(["x"] * 230)}
  print("total {{total}}")
}}
'''


def _write(tmp_path: Path, name: str, text: str) -> Path:
    spec = tmp_path / f"{name}.spec"
    spec.write_text(text)
    return spec


@pytest.mark.parametrize("target", target_params())
def test_operands_run_once_each_in_order(tmp_path: Path, target: str) -> None:
    image = build(_write(tmp_path, "calls", SIDE_EFFECTS), target, tmp_path / target)
    outcome = run(image, target, timeout=120)
    expected = "".join(f"{i}\n" for i in range(1, 231)) + f"total {sum(range(1, 231))}\n"
    assert (outcome.output, outcome.status) == (expected, 0)


@pytest.mark.parametrize("target", target_params())
def test_a_match_binding_reaches_its_deep_arm(tmp_path: Path, target: str) -> None:
    image = build(_write(tmp_path, "arms", ARMS), target, tmp_path / target)
    assert run(image, target, "--x=2", timeout=120).output == f"total {2 * 110 + 2 * 110 + 2}\n"


def test_an_overflow_deep_inside_traps_where_it_does_in_c(tmp_path: Path) -> None:
    spec = _write(tmp_path, "overflow", OVERFLOW)
    outcomes = {t: run(build(spec, t, tmp_path / t), t, "--x=2", timeout=120)
                for t in ("python", "unix") if t == "python" or HAVE_GCC}
    assert outcomes["python"].status == 70
    assert "overflow.spec:9:15: integer overflow" in outcomes["python"].output
    assert "total" not in outcomes["python"].output
    assert len({o.show() for o in outcomes.values()}) == 1, outcomes


def test_the_python_image_is_mypy_clean_and_its_helpers_are_shallow(tmp_path: Path) -> None:
    image = build(_write(tmp_path, "arms", ARMS), "python", tmp_path / "python")
    text = image.read_text()
    assert text.count("\ndef _deep") >= 2
    assert max(line.count("ck(") for line in text.splitlines()) < 100
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(image)],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert checked.returncode == 0, checked.stdout
