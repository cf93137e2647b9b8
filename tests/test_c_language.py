"""The whole application language on the C targets.

* tests/data/c_language/tour.spec, which uses every construct the C
  lowering once refused, runs on python, unix and hvt with the output and
  exit status written in tour.expected (traps included, one per `--trap=N`);
* every example and test spec that checks for unix or hvt and uses only
  prelude components builds for that target; the only failure allowed is
  E0701 for a prelude component that has no C implementation yet (it names
  the component, at the device);
* every such spec that stops by itself (no network or timer) prints the same
  text and exits with the same status on all three targets.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from targets import HAVE_GCC, HAVE_QEMU, ROOT, Outcome, build, run, stops_by_itself

from specc import ast
from specc.backends.c.emit import build_c
from specc.driver import CompileOptions, compile_file

DATA = ROOT / "tests" / "data" / "c_language"
needs_c = pytest.mark.skipif(not (HAVE_GCC and HAVE_QEMU),
                             reason="gcc or qemu-system-x86 is missing (scripts/setup.sh)")
PRELUDE = ROOT / "specc" / "prelude"


def application(path: Path) -> bool:
    """An application file that is not a diagnostics case (whose `#^` markers
    say which errors it has)."""
    text = path.read_text()
    return re.search(r"^unikernel ", text, re.M) is not None and "\n#^ " not in text


SPECS = sorted(p for p in [*ROOT.glob("examples/*.spec"), *ROOT.glob("tests/**/*.spec")]
               if application(p))


def expected_tour() -> dict[str, Outcome]:
    cases: dict[str, Outcome] = {}
    text = (DATA / "tour.expected").read_text()
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        args, _, rest = block.partition("\n")
        output, status = re.fullmatch(r"(.*)\[exit (\d+)\]\n", rest, re.S).groups()  # type: ignore[union-attr]
        cases[args] = Outcome(output, int(status))
    return cases


@needs_c
@pytest.mark.parametrize("target", ["python", "unix", "hvt"])
def test_tour_runs_the_same_on_every_target(target: str, tmp_path: Path) -> None:
    image = build(DATA / "tour.spec", target, tmp_path)
    cases = expected_tour()
    assert len(cases) == 11
    for args, expected in cases.items():
        got = run(image, target, args)
        assert got == expected, f"{target} {args}:\n{got.show()}\n!=\n{expected.show()}"


def prelude_only(spec: Path, target: str) -> bool:
    """Whether ``spec`` is an application that declares no component and
    checks for ``target`` (E0701, a component with no implementation for the
    target, aside)."""
    c = compile_file(str(spec), CompileOptions(target=target))
    if c.program is None or c.program.unikernel is None:
        return False
    if any(d.is_error and d.code != "E0701" for d in c.diagnostics):
        return False
    return all(Path(info.decl.span.file).resolve().is_relative_to(PRELUDE.resolve())
               for info in c.program.components.values())


@needs_c
@pytest.mark.parametrize("target", ["unix", "hvt"])
@pytest.mark.parametrize("spec", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_every_prelude_spec_builds(spec: Path, target: str, tmp_path: Path) -> None:
    if not prelude_only(spec, target):
        pytest.skip("does not check for this target, or declares its own components")
    c = compile_file(str(spec), CompileOptions(target=target))
    missing = [d for d in c.diagnostics if d.code == "E0701"]
    if missing:
        # The one E0701 left: a prelude component with no C implementation.
        assert c.program is not None
        for d in missing:
            found = re.search(r"component `(\w+)` has no C implementation", d.message)
            assert found, d.message
            decl = c.program.components[found.group(1)].decl
            assert not any(isinstance(i, ast.ImplItem) and i.language == "c" for i in decl.items)
            assert d.span.file == str(spec)  # at the user's device, not in the prelude
        return
    assert c.image is not None
    assert Path(build_c(c.image, str(tmp_path)).path).is_file()


def test_the_spec_list_is_not_empty() -> None:
    built = [s for s in SPECS if prelude_only(s, "unix")]
    assert len(built) >= 25, built
    assert ROOT / "examples" / "inventory.spec" in built


@needs_c
@pytest.mark.parametrize("spec", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_specs_that_stop_run_the_same_on_every_target(spec: Path, tmp_path: Path) -> None:
    if not all(prelude_only(spec, t) and stops_by_itself(spec, t)
               for t in ("python", "unix", "hvt")):
        pytest.skip("waits for events, or does not build on every target")
    if re.search(r"\bnow\(\)", spec.read_text()):
        # Elapsed time is printed differently by nature on each run.
        pytest.skip("prints a clock reading")
    outcomes = {t: run(build(spec, t, tmp_path / t), t) for t in ("python", "unix", "hvt")}
    assert outcomes["unix"] == outcomes["python"], outcomes
    assert outcomes["hvt"] == outcomes["python"], outcomes
