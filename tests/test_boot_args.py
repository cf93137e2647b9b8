"""The same arguments give the same output and exit status on python, unix
and hvt (issue 8, item 2): the boot rules of backends/boot.py, followed by
runtime/params.py and core/boot.c.

One image per target of tests/data/boot/params.spec (a parameter of every
kind) is built once and shared by every case; each case runs it on the three
targets and compares with what the rules say (the status, and the message
or a line of the output), and the three outcomes with each other.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from targets import HAVE_GCC, HAVE_QEMU, TARGETS, Outcome, build, run

from specc.backends.boot import MAX_ARGUMENTS, hvt_command_line

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "boot" / "params.spec"
DEFAULT_OUTPUT = ("rounds=3 offset=-5 greeting=world\n"
                  "verbose=false peer=10.0.0.1 subnet=10.0.0.0/8\n"
                  "wait=5s budget=64KiB mode=fast\n"
                  "limit=none label=none\n")
needs_all = pytest.mark.skipif(not (HAVE_GCC and HAVE_QEMU), reason="needs gcc and QEMU")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("boot")
    return {t: build(SPEC, t, out / t) for t in TARGETS}


def bad(message: str) -> tuple[int, str]:
    return 64, message + "\n"


X = "x" * (MAX_ARGUMENTS - len("--greeting="))
CASES: list[tuple[list[str], tuple[int, str]]] = [
    ([], (0, DEFAULT_OUTPUT)),
    # Integers: decimal ASCII digits, `_` between digits, no leading zero.
    (["--rounds=1_000"], (0, "rounds=1000 offset=-5 greeting=world\n")),
    (["--rounds=0600"], bad("--rounds: `0600` is not a decimal integer")),
    (["--rounds=0x600"], bad("--rounds: `0x600` is not a decimal integer")),
    (["--rounds=+600"], bad("--rounds: `+600` is not a decimal integer")),
    (["--rounds= 600"], bad("--rounds: ` 600` is not a decimal integer")),
    (["--rounds=\uff16\uff10\uff10"], bad("--rounds: `\uff16\uff10\uff10` is not a decimal integer")),
    (["--rounds=_"], bad("--rounds: `_` is not a decimal integer")),
    (["--rounds=1__0"], bad("--rounds: `1__0` is not a decimal integer")),
    (["--rounds=1_"], bad("--rounds: `1_` is not a decimal integer")),
    (["--rounds=-1"], bad("--rounds: `-1` is not a decimal integer")),
    (["--rounds=65536"], bad("--rounds: `65536` is out of range (0 to 65535)")),
    (["--rounds=99999999999999999999999"],
     bad("--rounds: `99999999999999999999999` is out of range (0 to 65535)")),
    (["--offset=-9223372036854775808"], (0, "rounds=3 offset=-9223372036854775808 greeting=world\n")),
    (["--offset=-9223372036854775809"],
     bad("--offset: `-9223372036854775809` is out of range "
         "(-9223372036854775808 to 9223372036854775807)")),
    (["--offset=-0"], (0, "rounds=3 offset=0 greeting=world\n")),
    # `requires`: given, with the text given.
    (["--rounds=0"], bad("--rounds=0: `rounds >= 1` does not hold (params.spec:7:34)")),
    # Other kinds.
    (["--verbose=yes"], bad("--verbose: `yes` is not true or false")),
    (["--peer=\u00b2.0.0.1"], bad("--peer: `\u00b2.0.0.1` is not an IPv4 address (192.0.2.1)")),
    (["--peer=010.0.0.1"], bad("--peer: `010.0.0.1` is not an IPv4 address (192.0.2.1)")),
    (["--peer=1.2.3.256"], bad("--peer: `1.2.3.256` is not an IPv4 address (192.0.2.1)")),
    (["--subnet=10.0.0.0/33"],
     bad("--subnet: `10.0.0.0/33` is not an address with a prefix (10.0.0.2/24)")),
    (["--subnet=192.168.0.0/16", "--wait=250ms", "--budget=1MiB", "--mode=careful"],
     (0, "wait=250ms budget=1MiB mode=careful\n")),
    (["--wait=5"], bad("--wait: `5` is not a duration (250ms, 5s, 2m, 1h)")),
    (["--wait=99999999999h"], bad("--wait: `99999999999h` is out of range "
                                  "(at most 9223372036854775807ns)")),
    (["--budget=1KB"], bad("--budget: `1KB` is not a size (512B, 64KiB, 16MiB)")),
    (["--mode=slow"], bad("--mode: `slow` is not one of fast, careful")),
    (["--limit=7", "--label=none"], (0, "limit=7 label=none\n")),
    (["--limit=4294967296"], bad("--limit: `4294967296` is out of range (0 to 4294967295)")),
    # A string: any UTF-8, one argument however many spaces or quotes it has.
    (["--greeting=a b  c"], (0, "greeting=a b  c\n")),
    (['--greeting=say "hi" \\o/'], (0, 'greeting=say "hi" \\o/\n')),
    (["--greeting="], (0, "greeting=\n")),
    ([os.fsdecode(b"--greeting=\xff")], bad("--greeting: `\ufffd` is not UTF-8 text")),
    # The shape of an argument, unknown names, repeats.
    (["--rounds=2", "--rounds=3"], bad("--rounds is given more than once")),
    (["--rund=2"], bad("unknown parameter `--rund`; did you mean `--rounds`?")),
    (["--zzz=2"], bad("unknown parameter `--zzz` (see --help)")),
    (["rounds=2"], bad("`rounds=2` is not a parameter: write --NAME=VALUE (see --help)")),
    (["--rounds"], bad("`--rounds` is not a parameter: write --NAME=VALUE (see --help)")),
    ([""], bad("`` is not a parameter: write --NAME=VALUE (see --help)")),
    # Left to right: the first `--help` or bad argument decides.
    (["--help", "--zzz=1"], (0, "usage: params [--PARAM=VALUE ...]\n"
                                "every kind of runtime parameter, printed back\n")),
    (["--zzz=1", "-h"], bad("unknown parameter `--zzz` (see --help)")),
    # Too long: never cut.
    (["--greeting=" + X], (0, "greeting=" + X + "\n")),
    (["--greeting=" + X + "x"], bad(f"the arguments are longer than {MAX_ARGUMENTS} bytes")),
    (["--greeting=" + "a b" * 700, "--label=" + "y" * 2000],
     bad(f"the arguments are longer than {MAX_ARGUMENTS} bytes")),
]


@needs_all
@pytest.mark.parametrize(("args", "expected"), CASES, ids=[repr(c[0])[:60] for c in CASES])
def test_the_same_arguments_boot_the_same_everywhere(
        images: dict[str, Path], args: list[str], expected: tuple[int, str]) -> None:
    outcomes = {t: run(images[t], t, *args) for t in TARGETS}
    status, text = expected
    python = outcomes["python"]
    assert python.status == status, python.show()
    if status == 64:
        assert python.output == text, python.show()
    else:
        assert text in python.output, python.show()
    assert outcomes["unix"] == python, outcomes
    assert outcomes["hvt"] == python, outcomes


@needs_all
def test_help_lists_every_parameter_with_the_description(images: dict[str, Path]) -> None:
    shown = {t: run(images[t], t, "--help") for t in TARGETS}
    assert shown["unix"] == shown["python"] == shown["hvt"]
    help_text = shown["python"].output
    assert help_text.startswith("usage: params [--PARAM=VALUE ...]\n"
                                "every kind of runtime parameter, printed back\n\nparameters:\n")
    assert "  --rounds=U16  (default 3)\n      How many rounds (at least one).\n" in help_text
    assert "  --mode=MODE  (default fast)\n" in help_text
    assert "  --limit=U32?  (default none)\n" in help_text


@needs_all
def test_errors_go_to_stderr_and_help_to_stdout(images: dict[str, Path]) -> None:
    for target in ("python", "unix"):
        command = [sys.executable, str(images[target])] if target == "python" \
            else [str(images[target])]
        failed = subprocess.run([*command, "--rounds=x"], capture_output=True, timeout=60)
        assert (failed.returncode, failed.stdout) == (64, b""), target
        assert failed.stderr == b"--rounds: `x` is not a decimal integer\n", target
        helped = subprocess.run([*command, "--help"], capture_output=True, timeout=60)
        assert (helped.returncode, helped.stderr) == (0, b""), target
        assert helped.stdout.startswith(b"usage: params"), target


def test_hvt_command_line_quoting() -> None:
    assert hvt_command_line(["--a=1", "--b=x y", "", 'q"\\']) == '--a=1 "--b=x y" "" "q\\"\\\\"'


@pytest.mark.skipif(not HAVE_GCC, reason="needs gcc")
def test_bind_on_the_hosted_targets(tmp_path: Path) -> None:
    # `--bind` belongs to host_ip (a component's parameter, declared by its
    # hook): parsed by the same rules, a bad one is exit 64, not a traceback.
    spec = ROOT / "examples" / "echo.spec"
    images = {t: build(spec, t, tmp_path / t) for t in ("python", "unix")}
    for args, message in ((["--bind=\u00b2.0.0.1"],
                           "--bind: `\u00b2.0.0.1` is not an IPv4 address (192.0.2.1)\n"),
                          (["--bnd=127.0.0.1"],
                           "unknown parameter `--bnd`; did you mean `--bind`?\n")):
        outcomes = {t: run(images[t], t, *args) for t in images}
        assert outcomes["python"] == outcomes["unix"] == Outcome(message, 64), outcomes
