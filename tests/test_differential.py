"""Random well-typed programs behave the same on every runner: the
compile-time evaluator, the python image, the unix image, the unix image
under AddressSanitizer and UBSan, and the hvt image under QEMU (see
tests/program_batches.py).  Same output, same exit status, same trap message
at the same position.

A bounded run: two batches of programs from fixed seeds (so a failure can
be reproduced), each compiled once per target; bench/differential.py runs
many more.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluated_run import run_function
from program_batches import compare_batch, generate
from targets import HAVE_GCC, HAVE_QEMU, build, run

from specc.driver import CompileOptions, compile_file

needs_c = pytest.mark.skipif(not (HAVE_GCC and HAVE_QEMU),
                             reason="gcc or qemu-system-x86 is missing (scripts/setup.sh)")
BATCHES = {101: 30, 202: 30}  # seed: programs


@needs_c
@pytest.mark.parametrize("seed", sorted(BATCHES))
def test_random_programs_run_the_same_everywhere(seed: int, tmp_path: Path) -> None:
    programs, params = generate(BATCHES[seed], seed)
    report = compare_batch(programs, params, tmp_path)
    assert not report.mismatches, "\n\n".join(m.describe() for m in report.mismatches)
    # The batch says something: most programs ran everywhere, some trapped.
    assert report.compared >= BATCHES[seed] * 3 // 4, report
    assert report.stops.get("exit 70", 0) >= 1, report.stops


def test_the_evaluator_stops_as_an_image_does(tmp_path: Path) -> None:
    """The evaluator's side of the comparison on a known program: output,
    a trap's message at its position, `exit`, and `var` state across calls."""
    spec = tmp_path / "known.spec"
    spec.write_text("""unikernel known

config {
  param n: u64 = 3
}

var calls: u64 = 0

fn count(x: u64) -> u64 {
  calls += 1
  if x == 0 {
    return 0
  }
  return x + count(x - 1)
}

fn overflow() {
  print("{count(config.n)} {calls}")
  let xs: [u8] = [1, 2]
  print("{xs[config.n]}")
}

fn stop() {
  print("bye")
  exit(config.n as u8)
}

struct Pair { low: u8, high: u8 }

## Fields are evaluated as written: the first trap is `high`'s.
fn fields() {
  print("{Pair { high: (config.n + 300) as u8, low: (config.n + 400) as u8 }}")
}

main {
  fields()
  overflow()
  stop()
}
""")
    c = compile_file(str(spec), CompileOptions(target="python", stop_after="config"))
    assert c.program is not None and c.config is not None
    params = dict(c.config.param_defaults)
    trapped = run_function(c.program, "overflow", params)
    assert trapped.output == "6 4\nknown.spec:20:11: index 3 out of range (length 2)\n"
    assert trapped.status == 70
    stopped = run_function(c.program, "stop", params)
    assert (stopped.output, stopped.status) == ("bye\n", 3)
    first = run_function(c.program, "fields", params)
    assert (first.output, first.status) == ("known.spec:32:25: integer overflow\n", 70)
    # The python image agrees (the differential test compares all runners).
    image = build(spec, "python", tmp_path / "python")
    assert run(image, "python").output == first.output

