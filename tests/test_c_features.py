"""What of the C runtime an image compiles in (backends/c/features.py):
decided from the image, written into its specialized.h and its manifest,
and the boot parser cut down to the image's parameters still reads and
refuses arguments by backends/boot.py's rules.  (Timers that fire:
tests/test_durations.py, examples/inventory.spec in tests/test_c_targets.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from targets import HAVE_GCC, build, run

from specc.backends.c.build import RUNTIME_DIR
from specc.backends.c.features import SETS_TIMER, features
from specc.driver import CompileOptions, compile_file

ROOT = Path(__file__).resolve().parents[1]
DNS = ROOT / "examples" / "dns.spec"
EVERY_KIND = ROOT / "tests" / "data" / "boot" / "params.spec"
OWN = ROOT / "tests" / "data" / "own_component" / "tally.spec"
INVENTORY = ROOT / "examples" / "inventory.spec"


def parts(spec: Path, target: str = "hvt", specialize: bool = True) -> dict[str, bool]:
    c = compile_file(str(spec), CompileOptions(target=target, specialize=specialize))
    assert c.image is not None, [d.message for d in c.diagnostics]
    return {p.name: p.compiled for p in features(c.image).parts}


def test_dns_parses_only_integers_and_has_the_small_formatter() -> None:
    got = parts(DNS)
    assert [name for name, compiled in got.items() if compiled] == ["boot parser: uint values"]
    assert set(got) >= {"printf: every conversion of lib/fmt.h", "event loop: timers"}


def test_unspecialized_compiles_every_part() -> None:
    assert all(parts(DNS, specialize=False).values())


def test_a_parameter_of_every_kind_compiles_every_parser() -> None:
    got = parts(EVERY_KIND, "unix")
    assert all(compiled for name, compiled in got.items() if name.startswith("boot parser"))
    assert not got["printf: every conversion of lib/fmt.h"]


def test_a_component_of_its_own_gets_every_printf_conversion() -> None:
    # Its C may use any conversion lib/fmt.h documents.
    assert parts(OWN)["printf: every conversion of lib/fmt.h"]


def test_timers_only_where_a_component_sets_them() -> None:
    assert not parts(DNS)["event loop: timers"]
    assert parts(INVENTORY)["event loop: timers"]  # timers = timer()
    assert parts(OWN)["event loop: timers"]  # the user's C may set them


def test_only_component_files_set_timers() -> None:
    """features.py looks for sc_after/sc_every in each instance's own file:
    no header or shared source of the runtime may set a timer unseen."""
    setting = sorted(p.relative_to(RUNTIME_DIR).as_posix() for p in RUNTIME_DIR.rglob("*.[ch]")
                     if SETS_TIMER.search(p.read_text()) and p.name != "sc.c" and
                     p.name != "sc.h" and not p.name.startswith("selftest"))
    assert "components/timer.c" in setting  # the scan sees them
    assert all(p.startswith("components/") and p.endswith(".c") for p in setting), setting


@pytest.mark.skipif(not HAVE_GCC, reason="needs gcc")
def test_the_manifest_says_why(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "specc", "compile", str(DNS), "-t", "unix", "-o",
                    str(tmp_path), "-q"], check=True, cwd=ROOT, timeout=300)
    runtime = json.loads((tmp_path / "manifest.json").read_text())["runtime"]
    cidr = next(p for p in runtime if p["part"] == "boot parser: cidr values")
    assert cidr == {"part": "boot parser: cidr values", "compiled": False,
                    "why": "no runtime parameter takes cidr values"}
    # host_ip reads --bind itself: a component's parameter counts as the spec's do.
    ipv4 = next(p for p in runtime if p["part"] == "boot parser: ipv4 values")
    assert ipv4 == {"part": "boot parser: ipv4 values", "compiled": True,
                    "why": "read by --bind"}
    header = (tmp_path / "c" / "specialized.h").read_text()
    assert "#define SC_BOOT_KINDS (SC_ARG_BIT(SC_ARG_UINT) | SC_ARG_BIT(SC_ARG_IPV4))" in header


@pytest.fixture(scope="module")
def dns_unix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(DNS, "unix", tmp_path_factory.mktemp("dns-unix"))


# The unix image stops by itself on each of these: help, or a refusal (64).
REFUSALS = [
    (["--max-udp=abc"], 64, "--max-udp: `abc` is not a decimal integer\n"),
    (["--max-udp=none"], 64, "--max-udp: `none` is not a decimal integer\n"),
    (["--max-udp=70000"], 64, "--max-udp: `70000` is out of range (0 to 65535)\n"),
    (["--max-udp=100"], 64, "--max-udp=100: `max_udp >= 512` does not hold (dns.spec:14:38)\n"),
    (["--max-ud=600"], 64, "unknown parameter `--max-ud`; did you mean `--max-udp`?\n"),
    (["--port=53"], 64, "unknown parameter `--port` (see --help)\n"),
    (["--bind=10.0.0.256"], 64, "--bind: `10.0.0.256` is not an IPv4 address (192.0.2.1)\n"),
]


@pytest.mark.skipif(not HAVE_GCC, reason="needs gcc")
@pytest.mark.parametrize(("args", "status", "output"), REFUSALS)
def test_the_cut_down_parser_refuses_by_the_rules(dns_unix: Path, args: list[str], status: int,
                                                  output: str) -> None:
    outcome = run(dns_unix, "unix", *args, timeout=30)
    assert (outcome.status, outcome.output) == (status, output)


@pytest.mark.skipif(not HAVE_GCC, reason="needs gcc")
def test_the_cut_down_parser_prints_the_help(dns_unix: Path) -> None:
    outcome = run(dns_unix, "unix", "--help", timeout=30)
    assert outcome.status == 0
    assert "--max-udp=U16  (default 1232)" in outcome.output
