"""Top-level `var` (LANGUAGE.md v1.1 section 3): state that lives for the
whole run, shared by `main` and every handler.  The checker, the middle end
and every target that runs it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specc.api import check_source
from specc.driver import CompileOptions, compile_file
from specc.dumps import dump

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
COUNTER = ROOT / "tests" / "data" / "global_var" / "counter.spec"


def codes(text: str) -> list[tuple[str, int]]:
    result = check_source(text, "example.spec")
    return [(d.code, d.span.line) for d in result.diagnostics]


def test_a_var_is_read_and_assigned_by_functions_and_main() -> None:
    assert codes("unikernel t\nvar n: u32 = 0\nfn bump() { n += 1 }\n"
                 "main { bump(); n = n * 2; print(\"{n}\") }\n") == []


def test_the_initializer_must_be_constant_and_the_var_is_runtime() -> None:
    text = ("unikernel t\nvar a = 1\nvar b = a\nconfig {\n  const c: i64 = a\n"
            "  param p: i64 = 1 requires p > a\n}\nmain { print(\"{a} {b}\") }\n")
    found = codes(text)
    assert ("E0301", 3) in found  # the initializer reads another var
    assert ("E0301", 5) in found  # a const default
    assert ("E0301", 6) in found  # a param's requires
    message = next(d.message for d in check_source(text, "example.spec").diagnostics
                   if d.span.line == 5)
    assert "`a` is a top-level `var`" in message and "run-time state" in message


def test_a_function_that_reads_a_var_is_not_pure() -> None:
    text = ("unikernel t\nvar n: u64 = 3\nfn get() -> u64 { return n }\n"
            "config { const c: u64 = get() }\nmain { print(\"{n}\") }\n")
    result = check_source(text, "example.spec")
    message = next(d.message for d in result.diagnostics if d.code == "E0301")
    assert "it reads the `var` `n`" in message


def test_unused_and_ill_typed_vars() -> None:
    found = codes("unikernel t\nvar never = 1\nvar _kept = 2\nvar d = log\n"
                  "var z = zonefile(\"x.zone\")\nvar q = none\n"
                  "devices { log = console_log() }\nmain { log.info(\"x\") }\n")
    assert ("W0002", 2) in found and ("W0002", 3) not in found
    assert ("E0221", 4) in found and ("E0302", 5) in found and ("E0213", 6) in found


def test_names_clash_with_functions_and_devices() -> None:
    found = codes("unikernel t\nvar f = 1\nfn f() {}\nvar log = 2\n"
                  "devices { log = console_log() }\nmain { f() }\n")
    assert ("E0102", 3) in found and ("E0102", 5) in found


def test_fold_never_folds_a_var_and_dce_removes_unused_ones() -> None:
    c = compile_file(str(ROOT / "tests" / "middle_golden" / "global_var" / "input.spec"),
                     CompileOptions(target="python"))
    assert not c.has_errors, c.diagnostics
    text = dump(c, "dce")
    assert "var hits: u64 = 20" in text
    assert 'print("{a} {hits} {name}")' in text  # read at run time, not folded
    assert re.search(r"#   var debug_count: its only use is in a branch removed because "
                     r"`config.verbose` is false", text)


def send_all(port: int, payloads: list[bytes]) -> list[bytes]:
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        for payload in payloads:
            client.sendto(payload, ("127.0.0.1", port))
            data, _ = client.recvfrom(2048)
            replies.append(data)
    return replies


EXPECTED = [b"seen: 1 longest 1 previous ", b"seen: 2 longest 3 previous 61",
            b"seen: 3 longest 3 previous 626262", b"seen: 4 longest 5 previous 63"]


def run_counter(command: list[str]) -> list[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line or line.startswith("listening: udp"):
                break
        replies = send_all(17101, [b"a", b"bbb", b"c", b"ddddd"])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(b"stop", ("127.0.0.1", 17101))
        assert process.wait(timeout=10) == 0
        return replies
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_python_target_keeps_state_across_handler_calls(tmp_path: Path) -> None:
    result = subprocess.run([*SPECC, "compile", str(COUNTER), "-t", "python", "-o",
                             str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    image = tmp_path / "counter.py"
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(image)],
                          capture_output=True, text=True, timeout=300)
    assert mypy.returncode == 0, mypy.stdout
    assert run_counter([sys.executable, str(image), "--bind=127.0.0.1"]) == EXPECTED


def test_unix_target_keeps_state_across_handler_calls(tmp_path: Path) -> None:
    """The C static variables, with strings and bytes copied out of the
    per-event arena (the arena is reset between datagrams)."""
    result = subprocess.run([*SPECC, "compile", str(COUNTER), "-t", "unix", "-o",
                             str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    app = (tmp_path / "c" / "app.c").read_text()
    assert "static uint64_t var_served;" in app and "var_last_keep(" in app
    assert run_counter([str(tmp_path / "counter"), "--bind=127.0.0.1"]) == EXPECTED


def test_c_var_storage_is_bounded_and_traps(tmp_path: Path) -> None:
    spec = tmp_path / "big.spec"
    spec.write_text("unikernel big\nvar text: string = \"x\"\n"
                    "main {\n  while len(text) < 100000 {\n    text = text + text\n  }\n"
                    "  print(\"{len(text)}\")\n}\n")
    result = subprocess.run([*SPECC, "run", str(spec), "-t", "unix", "-o", str(tmp_path / "o")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 70, result.stdout + result.stderr
    assert "big.spec:5:5: value too big for its `var` (64 KiB)" in result.stdout + result.stderr


@pytest.mark.parametrize("target", ["python", "unix", "hvt"])
def test_vars_of_every_kind_on_every_target(tmp_path: Path, target: str) -> None:
    """Initialized before `main` (constants, struct, option, function, enum,
    bytes, duration), then assigned; the same output on every target."""
    result = subprocess.run([*SPECC, "run", str(COUNTER.parent / "kinds.spec"), "-t", target,
                             "-o", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-2:] == ["n=5 none a none idle 01 1.5s",
                                               "n!=20 42 ab 7 busy 0101ff 751ms"]


def test_explain_says_why_a_var_is_in_the_image_or_not() -> None:
    from specc.explain import explain

    c = compile_file(str(ROOT / "tests" / "middle_golden" / "global_var" / "input.spec"),
                     CompileOptions(target="hvt"))
    kept = explain(c, "hits")[0]
    assert kept.in_image and kept.summary == "run-time state of type `u64`, starting at 20"
    assert kept.path == ["main", "var hits"]
    gone = explain(c, "debug_count")[0]
    assert not gone.in_image and gone.decision is not None
    assert gone.decision.condition == "config.verbose"
